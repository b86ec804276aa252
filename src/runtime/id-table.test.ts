// IdTable (id-table.ts): a Map's behaviour for positive integer ids (its hash table's probe runs
// too), and what it is for: entries set and deleted at every request leave the young generation
// with their requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdTable } from './id-table.ts';

describe('IdTable', () => {
  it('gets, sets, deletes and counts as a Map does', () => {
    const t = new IdTable<string>();
    const m = new Map<number, string>();
    let seed = 11;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const id = 1 + (seed % 97);
      if (seed % 3 === 0) assert.equal(t.delete(id), m.delete(id));
      else {
        t.set(id, `v${i}`);
        m.set(id, `v${i}`);
      }
      assert.equal(t.size, m.size);
      assert.equal(t.get(id), m.get(id));
      assert.equal(t.has(id), m.has(id));
    }
    // In no particular order, but keys() and values() in the same one.
    const ids = [...m.keys()].sort((a, b) => a - b);
    assert.deepEqual(
      t.keys().sort((a, b) => a - b),
      ids,
    );
    assert.deepEqual(
      t.keys().map((id) => m.get(id)),
      [...t.values()],
    );
    t.clear();
    assert.equal(t.size, 0);
    assert.deepEqual(t.values(), []);
    assert.equal(t.get(ids[0] as number), undefined);
  });

  it('keeps runs of ids that share a home slot, across the end of the table, as it grows and shrinks', () => {
    // Every id ≡ 255 (mod 256): one home slot while the table has ≤ 256 slots (the last one, so
    // each run wraps round to the start), and deletions in the middle of runs move ids back.
    const t = new IdTable<number>();
    const m = new Map<number, number>();
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const r = Math.floor(seed / 2 ** 16); // the generator's low bits repeat too soon
      // Mostly sets at first (the table grows past 1,024 slots), mostly deletes later (it shrinks).
      const grow = i < 10_000 ? r % 4 !== 0 : r % 4 === 0;
      const id = 255 + 256 * ((r >> 3) % (i < 10_000 ? 3000 : 40)) + (r % 5 === 0 ? 1 : 0);
      if (grow) {
        t.set(id, i);
        m.set(id, i);
      } else assert.equal(t.delete(id), m.delete(id));
      assert.equal(t.size, m.size);
      if (i % 97 === 0) for (const [k, v] of m) assert.equal(t.get(k), v, `id ${k} after step ${i}`);
    }
    for (const [k, v] of m) assert.equal(t.get(k), v);
    assert.deepEqual(
      t.keys().sort((a, b) => a - b),
      [...m.keys()].sort((a, b) => a - b),
    );
    for (const k of [...m.keys()]) assert.equal(t.delete(k), true);
    assert.equal(t.size, 0);
    assert.equal(t.get(255), undefined);
  });

  it('refuses ids that are not positive safe integers, and finds nothing for them', () => {
    const t = new IdTable<number>();
    t.set(1, 1);
    for (const bad of [0, -3, Number.NaN, 1.5, 2 ** 53, '5' as unknown as number]) {
      assert.throws(() => t.set(bad, 2), RangeError);
      assert.equal(t.get(bad), undefined);
      assert.equal(t.has(bad), false);
      assert.equal(t.delete(bad), false);
    }
    assert.equal(t.get(1.5), undefined);
    assert.equal(t.size, 1);
  });

  it('holds ids past the array index range, and nothing from Object.prototype', () => {
    const t = new IdTable<number>();
    t.set(2 ** 40, 1);
    t.set(3, 2);
    assert.equal(t.get(2 ** 40), 1);
    assert.equal(t.size, 2);
    assert.equal(t.delete(2 ** 40), true);
    assert.equal(t.has(2 ** 40), false);
    assert.equal(t.get('toString' as unknown as number), undefined);
    assert.deepEqual(t.keys(), [3]);
    assert.deepEqual(t.values(), [2]);
  });
});
