// The in-isolate storage cache of a Durable Object: what it keeps, what it hands back, and when
// it forgets (transactions, deleteAll, a failed commit), with its bounds.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MISS, StorageCache } from './storage-cache.ts';

it('keeps immutable values and absences; objects are read afresh', () => {
  const c = new StorageCache();
  c.wrote('n', 1);
  c.wrote('s', 'text');
  c.wrote('o', { deep: 1 });
  c.deleted('gone');
  assert.equal(c.get('n'), 1);
  assert.equal(c.get('s'), 'text');
  assert.equal(c.get('o'), MISS, 'an object needs a copy per get: not kept');
  assert.equal(c.get('gone'), undefined, 'known absent');
  assert.equal(c.get('never'), MISS);
  assert.equal(c.get(5), MISS, 'not a key: the host says what is wrong');
  c.wrote('n', { now: 'an object' });
  assert.equal(c.get('n'), MISS, 'a key whose value became an object is forgotten');
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
  c.begin();
  c.wrote('k', 9);
  assert.equal(c.get('k'), MISS, 'read through the transaction on the host');
  assert.equal(c.get('other'), 2, 'keys it did not touch are still known');
  c.fill(['k'], [['k', 9]]);
  assert.equal(c.get('k'), MISS, 'not even what was read of it inside');
  c.end(); // rolled back or committed: the host knows which
  assert.equal(c.get('k'), MISS);
  assert.equal(c.get('other'), 2);
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
