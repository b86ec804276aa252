import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCacheControl } from './cache-control.ts';
import { mayShareWith } from './sharing.ts';
import { varyKey } from './vary.ts';

const cc = (v: string) => parseCacheControl([v]);

describe('handing one request’s response to a waiting request (coalescing)', () => {
  it('shares when the waiter matches the Vary-selected fields of the request that fetched it (§4.1)', () => {
    const vary = varyKey(['vary', 'accept-language'], ['accept-language', 'en']);
    assert.equal(mayShareWith(vary, cc('max-age=60'), ['accept-language', 'en']), true);
    assert.equal(mayShareWith(vary, cc('max-age=60'), ['accept-language', 'fr']), false);
    assert.equal(mayShareWith(vary, cc('max-age=60'), []), false);
  });
  it('Vary: * matches no waiter (§4.1)', () => {
    assert.equal(mayShareWith('*', cc('max-age=60'), []), false);
  });
  it('a waiter with Authorization gets it only when public, s-maxage or must-revalidate allow (§3.5)', () => {
    const auth = ['authorization', 'Bearer bob'];
    assert.equal(mayShareWith({}, cc('max-age=60'), auth), false);
    assert.equal(mayShareWith({}, cc('max-age=60'), []), true);
    assert.equal(mayShareWith({}, cc('public, max-age=60'), auth), true);
    assert.equal(mayShareWith({}, cc('s-maxage=60'), auth), true);
    assert.equal(mayShareWith({}, cc('must-revalidate, max-age=60'), auth), true);
  });
});
