// IdTable (id-table.ts): a Map's behaviour for positive integer ids, and what it is for:
// entries set and deleted at every request leave the young generation with their requests.
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
