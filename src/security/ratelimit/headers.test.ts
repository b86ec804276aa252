import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitHeaders, sfString } from './headers.ts';
import { RateLimiter } from './limiter.ts';
import type { RateLimitRule } from './types.ts';

describe('RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11)', () => {
  const rule: RateLimitRule = { mode: 'fixed', limit: 100, periodSec: 60, shards: 1 };

  it('sends the policy and the service limit as structured fields', () => {
    const h = rateLimitHeaders(
      rule,
      { allowed: true, limit: 100, remaining: 42, resetSec: 17, retryAfterSec: 0 },
      'api',
    );
    assert.deepEqual(h, [
      ['RateLimit-Policy', '"api";q=100;w=60'],
      ['RateLimit', '"api";r=42;t=17'],
    ]);
  });

  it('adds Retry-After on a refusal, never before the end of the effective window', () => {
    const t = { now: 120_000 + 43_000 };
    const rl = new RateLimiter({ now: () => t.now });
    const small: RateLimitRule = { ...rule, limit: 1 };
    rl.hit('ns', 'k', small);
    const d = rl.hit('ns', 'k', small);
    const h = new Map(rateLimitHeaders(small, d, 'api'));
    assert.equal(h.get('RateLimit'), '"api";r=0;t=17');
    assert.equal(h.get('Retry-After'), '17');
    assert.ok(Number(h.get('Retry-After')) >= d.resetSec);
  });

  it('escapes the name as an sf-string, and keeps it printable ASCII', () => {
    assert.equal(sfString('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(sfString('pölicy\n'), '"p?licy?"');
  });
});
