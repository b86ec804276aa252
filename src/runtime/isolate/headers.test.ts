// Headers keeps its fields as one flat [name, value, ...] list (headers.ts): every operation
// against the Fetch standard's behaviour, as Node's own Headers (undici) has it, on the same
// sequence of calls; and the lists it hands the host or takes from it are copies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flattenHeaders, Headers } from './headers.ts';

type AnyHeaders = {
  append(n: string, v: string): void;
  set(n: string, v: string): void;
  delete(n: string): void;
  get(n: string): string | null;
  has(n: string): boolean;
  getSetCookie(): string[];
  entries(): IterableIterator<[string, string]>;
};

/** The same calls on ours and Node's; every read compared along the way. */
function sameAs(ops: [string, string, string?][]): void {
  const ours = new Headers() as unknown as AnyHeaders;
  const theirs = new globalThis.Headers() as unknown as AnyHeaders;
  for (const [op, name, value] of ops) {
    if (op === 'append' || op === 'set') {
      ours[op](name, value as string);
      theirs[op](name, value as string);
    } else if (op === 'delete') {
      ours.delete(name);
      theirs.delete(name);
    }
    for (const n of ['a', 'B', 'set-cookie', 'x-y', 'missing']) {
      assert.equal(ours.get(n), theirs.get(n), `get(${n}) after ${JSON.stringify(ops)}`);
      assert.equal(ours.has(n), theirs.has(n), `has(${n})`);
    }
    assert.deepEqual(ours.getSetCookie(), theirs.getSetCookie());
    assert.deepEqual([...ours.entries()], [...theirs.entries()], `entries after ${op} ${name}`);
  }
}

describe('Headers (a flat list)', () => {
  it('append, set, delete, get, has and iteration as the Fetch standard has them', () => {
    sameAs([
      ['append', 'a', '1'],
      ['append', 'B', '2'],
      ['append', 'a', '3'],
      ['append', 'set-cookie', 'x=1'],
      ['append', 'set-cookie', 'y=2'],
      ['set', 'a', 'only'], // the first a takes it where it stands, the second goes
      ['append', 'x-y', ' padded\t'],
      ['delete', 'B'],
      ['set', 'b', 'back'],
      ['append', 'A', 'again'],
      ['delete', 'set-cookie'],
      ['set', 'missing', 'now'],
      ['delete', 'a'],
    ]);
  });

  it('iteration sorts and combines short lists and long ones alike (two ways of sorting)', () => {
    // A seeded shuffle of names with repeats (set-cookie among them), at lengths on both sides
    // of the in-place sort's bound: entries, keys, values and forEach as undici has them.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    // Not `cookie`: undici joins its values with "; ", the standard (and Workers) with ", ".
    const names = ['x-b', 'a', 'set-cookie', 'accept', 'x-a', 'b', 'x-b-c', 'z', 'A-Z', 'a-b'];
    for (const fields of [0, 1, 2, 5, 17, 31, 32, 33, 40, 120]) {
      const ours = new Headers();
      const theirs = new globalThis.Headers();
      for (let i = 0; i < fields; i++) {
        const name = names[next() % names.length];
        ours.append(name, `v${i}`);
        theirs.append(name, `v${i}`);
      }
      assert.deepEqual([...ours], [...theirs], `${fields} fields`);
      assert.deepEqual([...ours.keys()], [...theirs.keys()]);
      assert.deepEqual([...ours.values()], [...theirs.values()]);
      const seen: string[] = [];
      ours.forEach((v, k) => {
        seen.push(`${k}=${v}`);
      });
      assert.deepEqual(
        seen,
        [...theirs].map(([k, v]) => `${k}=${v}`),
      );
    }
  });

  it('fromFlat and flattenHeaders copy: the host’s list and the Headers do not share changes', () => {
    const flat = ['content-type', 'text/plain', 'x-a', '1'];
    const h = Headers.fromFlat(flat);
    h.append('x-b', '2');
    assert.deepEqual(flat, ['content-type', 'text/plain', 'x-a', '1']);
    const out = flattenHeaders(h);
    // No prototype: nothing a tenant puts on Array.prototype sees it or runs on it.
    assert.equal(Object.getPrototypeOf(out), null);
    assert.deepEqual(Array.from(out), ['content-type', 'text/plain', 'x-a', '1', 'x-b', '2']);
    out[out.length] = 'x-c';
    out[out.length] = '3';
    assert.equal(h.has('x-c'), false);
    const copy = new Headers(h);
    copy.set('x-a', 'changed');
    assert.equal(h.get('x-a'), '1');
  });

  it('an immutable one refuses changes, and a bad name or value is refused', () => {
    const h = Headers.fromFlat(['a', '1'], 'immutable');
    assert.throws(() => h.set('a', '2'), /immutable/);
    assert.throws(() => h.delete('a'), /immutable/);
    assert.throws(() => new Headers().append('bad name', 'x'), TypeError);
    assert.throws(() => new Headers().set('a', 'x\ny'), TypeError);
    assert.deepEqual(
      [...new Headers({ b: '1', a: '2' })],
      [
        ['a', '2'],
        ['b', '1'],
      ],
    );
  });
});
