import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRateLimitPolicy } from './policy.ts';

const at = 'security.rate_limit[0]';

describe('[[security.rate_limit]]', () => {
  it('reads a policy with its defaults', () => {
    const p = parseRateLimitPolicy({ name: 'api', limit: 100, period: 60 }, at);
    assert.equal(p.name, 'api');
    assert.deepEqual(p.paths, ['/*']);
    assert.equal(p.patterns.length, 1);
    assert.ok(p.patterns[0].test('/anything/at/all'));
    assert.equal(p.methods, undefined);
    assert.deepEqual(p.rule, { mode: 'sliding', limit: 100, periodSec: 60, shards: 1 });
    assert.deepEqual(p.key, { kind: 'ip' });
  });

  it('reads every key', () => {
    const p = parseRateLimitPolicy(
      {
        name: 'login',
        paths: ['/login', '/api/*/auth'],
        methods: ['post', 'PUT'],
        mode: 'fixed',
        limit: 10,
        period: 3600,
        key: 'header:X-Api-Key',
        shards: 4,
      },
      at,
    );
    assert.deepEqual(p.methods, ['POST', 'PUT']);
    assert.deepEqual(p.rule, { mode: 'fixed', limit: 10, periodSec: 3600, shards: 4 });
    assert.deepEqual(p.key, { kind: 'header', name: 'x-api-key' });
    assert.ok(p.patterns[0].test('/login'));
    assert.ok(!p.patterns[0].test('/login/x'));
    assert.ok(p.patterns[1].test('/api/v1/auth'));
    assert.ok(!p.patterns[1].test('/apiv1/auth'));
    assert.deepEqual(parseRateLimitPolicy({ name: 'u', limit: 1, period: 1, key: 'claim:sub' }, at).key, {
      kind: 'claim',
      claim: 'sub',
    });
    assert.deepEqual(parseRateLimitPolicy({ name: 'p', limit: 1, period: 1, key: 'path' }, at).key, {
      kind: 'path',
    });
    assert.equal(
      parseRateLimitPolicy({ name: 'l', limit: 1, period: 1, mode: 'local' }, at).rule.mode,
      'local',
    );
  });

  it('names the key and what was expected in every error', () => {
    const base = { name: 'api', limit: 10, period: 60 };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, limit: 'ten' }, 'security.rate_limit[0].limit: expected an integer ≥ 1, received "ten"'],
      [{ ...base, limit: 0 }, 'security.rate_limit[0].limit: expected an integer ≥ 1, received number 0'],
      [
        { ...base, limit: 2_000_000 },
        'security.rate_limit[0].limit: expected an integer ≤ 1000000, received number 2000000',
      ],
      [
        { name: 'api', period: 60 },
        'security.rate_limit[0].limit: expected an integer ≥ 1, received nothing (the key is required)',
      ],
      [
        { ...base, period: 1.5 },
        'security.rate_limit[0].period: expected an integer ≥ 1, received number 1.5',
      ],
      [
        { ...base, period: 86_401 },
        'security.rate_limit[0].period: expected an integer ≤ 86400, received number 86401',
      ],
      [{ limit: 1, period: 1 }, 'security.rate_limit[0].name: expected a name'],
      [{ ...base, name: 'a"b' }, 'security.rate_limit[0].name: expected a name'],
      [
        { ...base, mode: 'leaky' },
        'security.rate_limit[0].mode: expected one of "sliding", "fixed", "local"',
      ],
      [{ ...base, shards: 65 }, 'security.rate_limit[0].shards: expected an integer ≤ 64'],
      [{ ...base, shards: 11 }, 'security.rate_limit[0].shards: expected at most the limit (10)'],
      [{ ...base, key: 'cookie:x' }, 'security.rate_limit[0].key: expected one of "ip", "path"'],
      [{ ...base, key: 'header:bad name' }, 'security.rate_limit[0].key: expected "header:<Name>"'],
      [{ ...base, key: 'claim:' }, 'security.rate_limit[0].key: expected "claim:<claim>"'],
      [{ ...base, paths: [] }, 'security.rate_limit[0].paths: expected a non-empty array'],
      [{ ...base, paths: ['/ok', 'api'] }, 'security.rate_limit[0].paths[1]: expected a path pattern'],
      [
        { ...base, paths: ['shop.example:8787/*'] },
        'security.rate_limit[0].paths[0]: expected a path pattern starting with "/", or a route with a host first',
      ],
      [
        { ...base, paths: ['https://shop.example/*'] },
        'security.rate_limit[0].paths[0]: expected a path pattern',
      ],
      [{ ...base, methods: ['GET', 'B A D'] }, 'security.rate_limit[0].methods[1]: expected an HTTP method'],
      [{ ...base, limt: 5 }, 'security.rate_limit[0].limt: expected no such key'],
    ];
    for (const [raw, message] of cases)
      assert.throws(
        () => parseRateLimitPolicy(raw, at),
        (e: Error) => e.message.startsWith(message) || assert.fail(`${message}\n  got: ${e.message}`),
      );
    assert.throws(() => parseRateLimitPolicy('api', at), /security\.rate_limit\[0\]: expected a table/);
  });
});
