import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCacheControl } from './cache-control.ts';
import { storable } from './storable.ts';

const decide = (status: number, response: string[], request: string[] = [], method = 'GET') => {
  const cc = (h: string[]) =>
    parseCacheControl(h.filter((_, i) => i % 2 === 1 && h[i - 1] === 'cache-control'));
  return storable(method, request, cc(request), status, response, cc(response));
};

describe('storing responses in a shared cache (RFC 9111 §3)', () => {
  it('stores a GET response with explicit freshness', () => {
    assert.deepEqual(decide(200, ['cache-control', 'max-age=60']), { store: true });
  });
  it('refuses unsafe or unknown methods (§3)', () => {
    assert.equal(decide(200, ['cache-control', 'max-age=60'], [], 'POST').reason, 'method');
  });
  it('refuses no-store on the response or the request (§5.2.2.5, §5.2.1.5)', () => {
    assert.equal(decide(200, ['cache-control', 'no-store, max-age=60']).reason, 'no-store');
    assert.equal(
      decide(200, ['cache-control', 'max-age=60'], ['cache-control', 'no-store']).reason,
      'no-store',
    );
  });
  it('refuses private in a shared cache (§5.2.2.7)', () => {
    assert.equal(decide(200, ['cache-control', 'private, max-age=60']).reason, 'private');
  });
  it('refuses answers to Authorization requests unless public, s-maxage or must-revalidate (§3.5)', () => {
    const auth = ['authorization', 'Bearer x'];
    assert.equal(decide(200, ['cache-control', 'max-age=60'], auth).reason, 'authorization');
    assert.equal(decide(200, ['cache-control', 'max-age=60, public'], auth).store, true);
    assert.equal(decide(200, ['cache-control', 's-maxage=60'], auth).store, true);
  });
  it('must-understand: stores an understood status despite no-store, refuses an unknown one (§5.2.2.3)', () => {
    assert.equal(decide(200, ['cache-control', 'must-understand, no-store, max-age=60']).store, true);
    assert.equal(
      decide(299, ['cache-control', 'must-understand, no-store, max-age=60']).reason,
      'not-understood',
    );
  });
  it('needs explicit freshness, a heuristically cacheable status, or no-cache with a validator (§3, §4.2.2)', () => {
    assert.equal(decide(200, []).store, true); // heuristically cacheable
    assert.equal(decide(302, []).reason, 'no-freshness');
    assert.equal(decide(302, ['cache-control', 'max-age=60']).store, true);
    assert.equal(decide(500, ['cache-control', 'no-cache', 'etag', '"v"']).store, true);
  });
  it('does not store a response that sets a cookie, unless private= or no-cache= names Set-Cookie (Cloudflare; §5.2.2.7)', () => {
    const cookie = ['set-cookie', 'user=alice'];
    assert.equal(decide(200, ['cache-control', 'max-age=60', ...cookie]).reason, 'set-cookie');
    assert.equal(decide(200, ['cache-control', 'public, max-age=60', ...cookie]).reason, 'set-cookie');
    assert.equal(decide(200, ['cache-control', 'max-age=60, private="set-cookie"', ...cookie]).store, true);
    assert.equal(decide(200, ['cache-control', 'max-age=60, no-cache="Set-Cookie"', ...cookie]).store, true);
  });
  it('does not store Vary: * or partial content', () => {
    assert.equal(decide(200, ['cache-control', 'max-age=60', 'vary', 'accept, *']).reason, 'vary-star');
    assert.equal(decide(206, ['cache-control', 'max-age=60']).reason, 'partial');
  });
});
