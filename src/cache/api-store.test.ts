import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiCacheStore, ttlFor } from './api-store.ts';

const entry = (headers: string[], body = 'x', status = 200) => ({
  status,
  statusText: 'OK',
  headers,
  body: new TextEncoder().encode(body),
});

describe('Cache API store', () => {
  it('takes s-maxage over max-age over Expires, else the status default', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(ttlFor(200, ['cache-control', 'max-age=5, s-maxage=9'], now), 9);
    assert.equal(
      ttlFor(200, ['cache-control', 'max-age=5', 'expires', 'Thu, 01 Jan 2026 01:00:00 GMT'], now),
      5,
    );
    assert.equal(ttlFor(200, ['expires', 'Thu, 01 Jan 2026 01:00:00 GMT'], now), 3600);
    assert.equal(ttlFor(200, ['expires', 'garbage'], now), 0);
    assert.equal(ttlFor(200, [], now), 7200);
    assert.equal(ttlFor(404, [], now), 180);
    assert.equal(ttlFor(500, [], now), 0);
  });
  it('evicts least recently used entries past the byte budget', () => {
    const store = new ApiCacheStore({ tenantMaxBytes: 600 }); // each entry counts ~187 bytes;
    const big = 'y'.repeat(100);
    for (const k of ['a', 'b', 'c'])
      assert.equal(store.put('ns', `https://x/${k}`, entry(['cache-control', 'max-age=60'], big)), true);
    store.match('ns', 'https://x/a'); // a is now the most recent
    store.put('ns', 'https://x/d', entry(['cache-control', 'max-age=60'], big));
    assert.ok(store.bytes <= 600);
    assert.ok(store.match('ns', 'https://x/a'));
    assert.equal(store.match('ns', 'https://x/b'), undefined);
  });
  it("gives each tenant its own budget: one tenant's writes evict only its own entries", () => {
    const store = new ApiCacheStore({ tenantMaxBytes: 600 });
    const big = 'y'.repeat(100);
    const put = (ns: string, k: string) =>
      store.put(ns, `https://x/${k}`, entry(['cache-control', 'max-age=60'], big));
    assert.equal(put('bank\0default', 'a'), true);
    assert.equal(put('bank\0sessions', 'b'), true);
    for (let i = 0; i < 50; i++) put(`shop\0c${i}`, String(i));
    assert.ok(store.bytesOf('shop') <= 600);
    assert.ok(store.match('bank\0default', 'https://x/a'));
    assert.ok(store.match('bank\0sessions', 'https://x/b'));
    // Both bank caches share bank's budget: a third entry pushes out its least recently used.
    put('bank\0other', 'c');
    put('bank\0other', 'd');
    assert.ok(store.bytesOf('bank') <= 600);
    assert.equal(store.match('bank\0default', 'https://x/a'), undefined);
    assert.ok(store.purge({ namespace: 'shop', everything: true }) > 0);
    assert.equal(store.bytesOf('shop'), 0);
    assert.ok(store.match('bank\0other', 'https://x/d'));
    assert.ok(store.purge({ everything: true }) > 0);
    assert.equal(store.bytes, 0);
    assert.equal(store.size, 0);
  });
  it('expires entries by the clock and keeps namespaces apart', () => {
    let now = 1_000_000;
    const store = new ApiCacheStore({ now: () => now });
    store.put('t1', 'https://x/', entry(['cache-control', 'max-age=10', 'cache-tag', 'a, b']));
    assert.deepEqual(store.match('t1', 'https://x/')?.tags, ['a', 'b']);
    assert.equal(store.match('t2', 'https://x/'), undefined);
    now += 10_001;
    assert.equal(store.match('t1', 'https://x/'), undefined);
    assert.equal(store.size, 0);
  });
  it('refuses a bad budget', () => {
    assert.throws(
      () => new ApiCacheStore({ tenantMaxBytes: -1 }),
      /tenantMaxBytes must be a positive integer, received -1/,
    );
  });
});
