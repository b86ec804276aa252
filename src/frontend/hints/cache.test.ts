import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EARLY_HINTS_CACHE_DEFAULTS, EarlyHintsCache, hintsKey } from './cache.ts';

const A = '</a.css>; rel=preload; as=style';
const B = '</b.js>; rel=preload; as=script';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('hintsKey: request URI without query string', () => {
  it('is method, origin and path; query and fragment ignored', () => {
    assert.equal(hintsKey('https://E.example:443/a/b?x=1#top'), 'GET https://e.example/a/b');
    assert.equal(hintsKey('https://e.example/a/b?y=2'), hintsKey('https://e.example/a/b'));
    assert.notEqual(hintsKey('https://e.example/a/b'), hintsKey('https://e.example/a/b/'));
    assert.notEqual(hintsKey('https://e.example/a'), hintsKey('https://f.example/a'));
    assert.equal(
      new EarlyHintsCache().keyOf(new URL('http://e.example/p?q'), 'GET'),
      'GET http://e.example/p',
    );
  });
  it('is undefined for what is not an absolute http URL', () => {
    assert.equal(hintsKey('/relative'), undefined);
    assert.equal(hintsKey('data:text/plain,x'), undefined);
  });
});

describe('EarlyHintsCache', () => {
  it('defaults: 1 day, 8 KiB per entry, 10,000 entries, 8 MiB', () => {
    const c = new EarlyHintsCache();
    assert.equal(c.ttlMs, 86_400_000);
    assert.equal(c.maxEntryBytes, 8192);
    assert.deepEqual(EARLY_HINTS_CACHE_DEFAULTS, {
      maxEntries: 10_000,
      maxBytes: 8 * 1024 * 1024,
      maxEntryBytes: 8192,
      ttlMs: 86_400_000,
    });
  });

  it('remembers, replaces with the latest links, and forgets on an empty list', () => {
    const c = new EarlyHintsCache();
    c.remember('k', [A, B, A]);
    assert.deepEqual(c.lookup('k'), [A, B]);
    c.remember('k', [B]);
    assert.deepEqual(c.lookup('k'), [B]);
    c.remember('k', []);
    assert.equal(c.lookup('k'), undefined);
    assert.equal(c.size, 0);
    assert.equal(c.bytes, 0);
  });

  it('lookup returns a copy', () => {
    const c = new EarlyHintsCache();
    c.remember('k', [A]);
    c.lookup('k')?.push('mutated');
    assert.deepEqual(c.lookup('k'), [A]);
  });

  it('entries expire ttlMs after they were remembered; remembering again restarts the clock', () => {
    const t = clock();
    const c = new EarlyHintsCache({ ttlMs: 1000, now: t.now });
    c.remember('k', [A]);
    t.advance(999);
    assert.deepEqual(c.lookup('k'), [A]);
    c.remember('k', [A]);
    t.advance(999);
    assert.deepEqual(c.lookup('k'), [A], 'a lookup does not extend, a remember does');
    t.advance(1);
    assert.equal(c.lookup('k'), undefined);
    assert.equal(c.size, 0, 'an expired entry is dropped when noticed');
  });

  it('evicts the least recently used past maxEntries; a lookup makes an entry recent', () => {
    const c = new EarlyHintsCache({ maxEntries: 2 });
    c.remember('a', [A]);
    c.remember('b', [A]);
    c.lookup('a');
    c.remember('c', [A]);
    assert.equal(c.lookup('b'), undefined);
    assert.deepEqual(c.lookup('a'), [A]);
    assert.deepEqual(c.lookup('c'), [A]);
  });

  it('evicts the least recently used past maxBytes (keys + values)', () => {
    const per = 1 + A.length;
    const c = new EarlyHintsCache({ maxBytes: per * 2 });
    c.remember('a', [A]);
    c.remember('b', [A]);
    assert.equal(c.bytes, per * 2);
    c.remember('c', [A]);
    assert.equal(c.size, 2);
    assert.equal(c.lookup('a'), undefined);
    assert.ok(c.bytes <= per * 2);
  });

  it('cuts an entry at maxEntryBytes, counting the ", " between values, keeping the first', () => {
    const c = new EarlyHintsCache({ maxEntryBytes: A.length + 2 + B.length });
    c.remember('k', [A, B, '</c.js>; rel=preload']);
    assert.deepEqual(c.lookup('k'), [A, B]);
    const d = new EarlyHintsCache({ maxEntryBytes: A.length + 1 + B.length });
    d.remember('k', [A, B]);
    assert.deepEqual(d.lookup('k'), [A]);
    const e = new EarlyHintsCache({ maxEntryBytes: 50 });
    e.remember('k', ['<' + 'x'.repeat(100) + '>']);
    assert.equal(e.lookup('k'), undefined, 'a first value over the cap leaves nothing');
    assert.equal(e.size, 0);
  });

  it('counts bytes, not UTF-16 units', () => {
    const c = new EarlyHintsCache({ maxEntryBytes: 10 });
    c.remember('k', ['ééééé']); // 10 bytes
    assert.equal(c.bytes, 1 + 10);
    c.remember('k', ['éééééé']); // 12 bytes
    assert.equal(c.lookup('k'), undefined);
  });

  it('refuses bounds that are not positive', () => {
    assert.throws(() => new EarlyHintsCache({ ttlMs: 0 }), /ttlMs must be a positive number/);
    assert.throws(() => new EarlyHintsCache({ maxEntries: Number.NaN }), /maxEntries/);
  });
});
