// URLSearchParams' decoding and lookups (url.ts) against Node's (WHATWG URL): the same names,
// values and lookups for queries with `+`, percent-escapes (valid, truncated, not hex), UTF-8
// in escapes and as text, and repeated names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { URLSearchParams } from './url.ts';

const QUERIES = [
  '',
  '?a=1&b=2&a=3',
  'a=hello+world&b=%2B&c=%2b%20',
  'q=%E2%82%AC&r=%e2%82%ac&s=€',
  'bad=%zz&trunc=%4&end=%&pct=100%25',
  'only&=empty-name&novalue=&x==y',
  'dup=1&dup=2&dup=3&other=4',
  'half=%E2%82&lone=%ED%A0%80',
  `long=${'a'.repeat(100)}%20${'b'.repeat(100)}`,
];

describe('URLSearchParams', () => {
  it('decodes and looks up as WHATWG URL does', () => {
    for (const q of QUERIES) {
      const ours = new URLSearchParams(q);
      const theirs = new globalThis.URLSearchParams(q);
      assert.deepEqual([...ours.entries()], [...theirs.entries()], q);
      for (const name of ['a', 'b', 'c', 'q', 's', 'bad', 'dup', '', 'x', 'missing', 'half', 'lone']) {
        assert.equal(ours.get(name), theirs.get(name), `get(${name}) in ${q}`);
        assert.deepEqual(ours.getAll(name), theirs.getAll(name), `getAll(${name}) in ${q}`);
        assert.equal(ours.has(name), theirs.has(name), `has(${name}) in ${q}`);
        assert.equal(ours.has(name, '2'), theirs.has(name, '2'), `has(${name}, 2) in ${q}`);
      }
      assert.equal(ours.toString(), theirs.toString(), q);
    }
  });

  it('a string with a lone surrogate is decoded through UTF-8, as the standard says', () => {
    const q = 'a=\uD800x';
    assert.equal(new URLSearchParams(q).get('a'), new globalThis.URLSearchParams(q).get('a'));
  });
});
