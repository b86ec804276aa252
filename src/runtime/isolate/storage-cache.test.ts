// The in-isolate storage cache of a Durable Object: what it keeps, what it hands back, and when
// it forgets (transactions, deleteAll, a failed commit), with its bounds.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import ivm from 'isolated-vm';
import { host } from './bridge.ts';
import { MISS, StorageCache } from './storage-cache.ts';

// In an isolate the bridge carries isolated-vm's in-isolate API; here Node's own isolate stands in.
host.ivm = ivm;

it('keeps immutable values and absences, and objects as copies handed out afresh', () => {
  const c = new StorageCache();
  c.wrote('n', 1);
  c.wrote('s', 'text');
  c.deleted('gone');
  assert.equal(c.get('n'), 1);
  assert.equal(c.get('s'), 'text');
  assert.equal(c.get('gone'), undefined, 'known absent');
  assert.equal(c.get('never'), MISS);
  assert.equal(c.get(5), MISS, 'not a key: the host says what is wrong');
  // An object put is forgotten (keeping it would need a copy per put); one read is kept, as a copy.
  c.wrote('o', { deep: { n: 1 } });
  assert.equal(c.get('o'), MISS);
  c.fill(['o'], [['o', { deep: { n: 1 } }, 20]]);
  const first = c.get('o') as { deep: { n: number } };
  assert.deepEqual(first, { deep: { n: 1 } });
  first.deep.n = 3;
  assert.deepEqual(c.get('o'), { deep: { n: 1 } }, 'each get a copy of its own');
  assert.notEqual(c.get('o'), c.get('o'));
  c.wrote('o', { deep: { n: 2 } });
  assert.equal(c.get('o'), MISS, 'a put of the key forgets what was read');
  c.fill(['big'], [['big', { x: 1 }, 64 * 1024 + 1]]);
  assert.equal(c.get('big'), MISS, 'past 64 KiB serialized: read from the host');
  // What the host read is kept as a copy: the caller may change what it got.
  const got = { list: [1] };
  c.fill(['r'], [['r', got, 12]]);
  got.list.push(2);
  assert.deepEqual(c.get('r'), { list: [1] });
  c.fill(['q'], [['q', { x: 1 }]]);
  assert.equal(c.get('q'), MISS, 'no size from the host: not kept');
});

it('objects count by their serialized size, weighed for the heap, against the bound', () => {
  const c = new StorageCache();
  // 8 Mi units at 16 per serialized byte: 512 KiB of copies. Ten of 60 KiB do not all fit.
  for (let i = 0; i < 10; i++) c.fill([`k${i}`], [[`k${i}`, { i }, 60 * 1024]]);
  assert.equal(c.get('k0'), MISS, 'the oldest went first');
  assert.deepEqual(c.get('k9'), { i: 9 });
  assert.deepEqual(c.get('k2'), { i: 2 }, '8 x 60 KiB = 480 KiB fit');
});

it('answers a get of several keys only when it knows them all, in key order, found ones only', () => {
  const c = new StorageCache();
  c.fill(
    ['b', 'a', 'z'],
    [
      ['a', 1],
      ['b', 2],
    ],
  );
  assert.deepEqual(c.many(['z', 'b', 'a', 'b']), [
    ['a', 1],
    ['b', 2],
  ]);
  assert.equal(c.many(['a', 'unknown']), null);
  assert.equal(c.many(Array.from({ length: 129 }, () => 'a')), null, 'past 128 keys the host refuses');
});

it('does not cache what a transaction writes, and forgets it when the transaction ends', () => {
  const c = new StorageCache();
  c.wrote('k', 1);
  c.wrote('other', 2);
  c.begin(1, 0);
  assert.ok(c.open(1));
  c.wrote('k', 9, 1);
  assert.equal(c.get('k'), MISS, 'read through the host, which knows who asks (in the transaction or not)');
  assert.equal(c.get('other'), 2, 'keys it did not touch are still known');
  c.fill(['k'], [['k', 9]]);
  assert.equal(c.get('k'), MISS, 'not even what was read of it inside');
  c.end(1, true);
  assert.ok(!c.open(1));
  assert.equal(c.get('k'), MISS);
  assert.equal(c.get('other'), 2);
  c.fill(['k'], [['k', 9]]);
  assert.equal(c.get('k'), 9, 'kept again once no open transaction wrote it');
});

it('nested transactions: a committed one hands its keys to the one it was in; ending that drops those inside', () => {
  const c = new StorageCache();
  c.begin(1, 0);
  c.begin(2, 1);
  c.wrote('inner', 1, 2);
  c.end(2, true);
  c.fill(['inner'], [['inner', 1]]);
  assert.equal(c.get('inner'), MISS, 'still written by the open outer transaction');
  c.begin(3, 1);
  c.wrote('deeper', 1, 3);
  c.end(1, true); // the outer ends while 3 is open: 3 is gone (the host dropped its layer)
  assert.ok(!c.open(3));
  c.fill(['inner', 'deeper'], [['inner', 1]]);
  assert.equal(c.get('inner'), 1);
  assert.equal(c.get('deeper'), undefined, 'known absent');
  c.wrote('x', 5, 99);
  assert.equal(c.get('x'), 5, 'a write in a transaction that is not open is a write outside any');
});

it('clear() forgets everything (deleteAll, a failed commit)', () => {
  const c = new StorageCache();
  c.wrote('a', 1);
  c.deleted('b');
  c.clear();
  assert.equal(c.get('a'), MISS);
  assert.equal(c.get('b'), MISS);
});

it('is bounded: the least recently used keys go first; long strings are not kept', () => {
  const c = new StorageCache();
  for (let i = 0; i < 5000; i++) c.wrote(`k${i}`, i);
  assert.equal(c.get('k0'), MISS, 'the oldest went');
  assert.equal(c.get('k4999'), 4999);
  c.wrote('long', 'x'.repeat(64 * 1024 + 1));
  assert.equal(c.get('long'), MISS);
  const d = new StorageCache();
  for (let i = 0; i < 200; i++) d.wrote(`s${i}`, 'y'.repeat(60 * 1024));
  assert.equal(d.get('s0'), MISS, '8 Mi characters of strings at most');
  assert.equal(d.get('s199'), 'y'.repeat(60 * 1024));
});
