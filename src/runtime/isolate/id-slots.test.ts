// IdSlots (id-slots.ts): a Map's behaviour for ids from 0 up, through growth, shrinking and
// runs of ids sharing a home slot, with Array.prototype replaced as tenant code may replace it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSlots } from './id-slots.ts';

/** A seeded walk of sets and deletes checked against a Map. */
function walk(
  t: IdSlots<number>,
  m: Map<number, number>,
  steps: number,
  idOf: (r: number, i: number) => number,
) {
  let seed = 3;
  for (let i = 0; i < steps; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const r = Math.floor(seed / 2 ** 16); // the generator's low bits repeat too soon
    // Mostly sets in the first half (the table grows past 1,024 slots), mostly deletes after.
    const grow = i < steps / 2 ? r % 4 !== 0 : r % 4 === 0;
    const id = idOf(r, i);
    if (grow) {
      t.set(id, i);
      m.set(id, i);
    } else assert.equal(t.delete(id), m.delete(id));
    assert.equal(t.size, m.size);
    assert.equal(t.get(id), m.get(id));
    if (i % 97 === 0) for (const [k, v] of m) assert.equal(t.get(k), v, `id ${k} after step ${i}`);
  }
}

describe('IdSlots', () => {
  it('gets, sets, deletes and counts as a Map does, id 0 included', () => {
    const t = new IdSlots<number>();
    const m = new Map<number, number>();
    walk(t, m, 4000, (r) => r % 60);
    t.set(0, 7);
    assert.equal(t.get(0), 7);
    assert.equal(t.has(0), true);
    assert.equal(t.delete(0), true);
    assert.equal(t.has(0), false);
  });

  it('keeps runs of ids sharing a home slot, across the end of the table, as it grows and shrinks', () => {
    const t = new IdSlots<number>();
    const m = new Map<number, number>();
    // id + 1 ≡ 0 (mod 256): one home slot, the first, while the table has ≤ 256 slots; and ids
    // one apart from those, whose runs meet them.
    walk(t, m, 20_000, (r, i) => 255 + 256 * ((r >> 3) % (i < 10_000 ? 3000 : 40)) + (r % 5 === 0 ? 1 : 0));
    for (const k of [...m.keys()]) assert.equal(t.delete(k), true);
    assert.equal(t.size, 0);
  });

  it('refuses what is not a safe integer from 0 up, and finds nothing for it', () => {
    const t = new IdSlots<number>();
    t.set(1, 1);
    for (const bad of [-1, Number.NaN, 1.5, 2 ** 53, '5' as unknown as number]) {
      assert.throws(() => t.set(bad, 2), RangeError);
      assert.equal(t.get(bad), undefined);
      assert.equal(t.delete(bad), false);
    }
    assert.equal(t.get(1.5), undefined);
    assert.equal(t.get('1' as unknown as number), undefined);
    assert.equal(t.size, 1);
  });

  it('calls nothing on Array.prototype', () => {
    const names = ['push', 'pop', 'fill', 'slice', 'splice', 'indexOf'] as const;
    const saved = names.map((n) => Array.prototype[n]);
    const called: string[] = [];
    for (const n of names)
      (Array.prototype as any)[n] = () => {
        called.push(n);
        throw new Error(`Array.prototype.${n} was called`);
      };
    // An index setter on the prototype sees writes to arrays that have it.
    Object.defineProperty(Array.prototype, '3', {
      configurable: true,
      set() {
        called.push('index setter');
      },
    });
    try {
      const t = new IdSlots<number>();
      for (let i = 0; i < 300; i++) t.set(i, i);
      for (let i = 0; i < 300; i += 2) t.delete(i);
      for (let i = 1; i < 300; i += 2) assert.equal(t.get(i), i);
    } finally {
      names.forEach((n, i) => {
        (Array.prototype as any)[n] = saved[i];
      });
      delete (Array.prototype as any)['3'];
    }
    assert.deepEqual(called, []);
  });
});
