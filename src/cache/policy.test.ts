import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  browserCacheControl,
  edgeOverride,
  jitter,
  parseTtlByStatus,
  policyAllows,
  policyTtl,
  responseTags,
} from './policy.ts';

describe('cache policies', () => {
  it('cacheTtlByStatus wins over cacheTtl for the statuses it names', () => {
    const p = { edgeTtl: 60, ttlByStatus: parseTtlByStatus({ '200-299': 600, 404: 5, '500-599': -1 }, 'cf') };
    assert.deepEqual(
      [200, 204, 301, 404, 503].map((s) => policyTtl(p, s)),
      [600, 600, 60, 5, -1],
    );
    assert.deepEqual(
      [200, 404, 500, 503].map((s) => policyTtl({ edgeTtl: 60 }, s)),
      [60, 60, undefined, undefined],
      'a plain edge TTL never forces errors into the cache',
    );
    assert.equal(policyTtl(undefined, 200), undefined);
  });
  it('cacheTtlByStatus keys and values are validated, naming the bad one', () => {
    assert.throws(() => parseTtlByStatus({ '2xx': 1 }, 'cf.cacheTtlByStatus'), /"2xx" is not a status code/);
    assert.throws(
      () => parseTtlByStatus({ 200: '1' }, 'cf.cacheTtlByStatus'),
      /\["200"\] must be an integer/,
    );
    assert.throws(
      () => parseTtlByStatus({ '299-200': 1 }, 'cf.cacheTtlByStatus'),
      /not a valid status range/,
    );
  });
  it('bypass cookies and the default cache level decide whether the cache is used', () => {
    const p = { bypassCookies: ['session'] };
    assert.equal(policyAllows(p, 'https://a.example/', ['cookie', 'theme=dark; session=1']), false);
    assert.equal(policyAllows(p, 'https://a.example/', ['cookie', 'sessionx=1']), true);
    const sub = { defaultCacheLevel: true };
    assert.equal(policyAllows(sub, 'https://a.example/app.js?v=1', []), true);
    assert.equal(policyAllows(sub, 'https://a.example/page.html', []), false);
    assert.equal(policyAllows(sub, 'https://a.example/v1.2/data', []), false);
    assert.equal(policyAllows({ ...sub, cacheEverything: true }, 'https://a.example/page.html', []), true);
    assert.equal(policyAllows({ ...sub, edgeTtl: 5 }, 'https://a.example/api', []), true);
  });
  it('jitter stays within ±fraction and the override keeps stale windows', () => {
    assert.equal(
      jitter(1000, 0.1, () => 0),
      900,
    );
    assert.equal(
      jitter(1000, 0.1, () => 0.9999999),
      1099,
    );
    assert.deepEqual(
      edgeOverride({ jitter: 0.1 }, 200, 1000, () => 1),
      { ttl: 1100 },
    );
    assert.deepEqual(edgeOverride({ edgeTtl: -5, staleIfError: 30 }, 200, 1000), { ttl: 0, sie: 30 });
    assert.equal(edgeOverride({ tags: ['a'] }, 200, 100), undefined);
  });
  it('tags come from Cache-Tag, Surrogate-Key and the policy; browser TTL as the seed writes it', () => {
    assert.deepEqual(responseTags(['cache-tag', 'a, b', 'surrogate-key', 'c  a'], { tags: ['d'] }), [
      'a',
      'b',
      'c',
      'd',
    ]);
    assert.equal(
      browserCacheControl({ browserTtl: 3600, staleWhileRevalidate: 60 }),
      'public, max-age=3600, stale-while-revalidate=60',
    );
    assert.equal(browserCacheControl({ browserTtl: 0 }), 'private, no-store');
    assert.equal(browserCacheControl({ edgeTtl: 5 }), undefined);
  });
});
