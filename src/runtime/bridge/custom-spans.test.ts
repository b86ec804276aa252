import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanAttrs } from './custom-spans.ts';

describe('custom spans: what crosses from the isolate', () => {
  it('keeps strings (cut), finite numbers, booleans and short arrays (as JSON); drops the rest', () => {
    assert.deepEqual(
      cleanAttrs({
        s: 'x'.repeat(5000),
        n: 1.5,
        b: false,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        obj: { a: 1 },
        arr: ['a', 1, true],
        mixed: ['a', { b: 1 }],
        '': 'empty key',
      }),
      { s: 'x'.repeat(4096), n: 1.5, b: false, arr: '["a",1,true]' },
    );
    for (const v of [null, undefined, 'str', 5, []]) assert.deepEqual(cleanAttrs(v), {});
  });

  it('keeps at most 64 attributes and stops looking after a bound, however large the object', () => {
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) big[`k${i}`] = i;
    assert.equal(Object.keys(cleanAttrs(big)).length, 64);
    const junk: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) junk[`j${i}`] = { no: i };
    junk.late = 'never reached';
    assert.deepEqual(cleanAttrs(junk), {});
  });
});
