// A live object's staged storage on the host: transactions as layers of their own, named by id,
// nested, rolled back alone, and invisible to calls made outside them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { StagedStorage } from './staged.ts';
import { ObjectStorage } from './storage.ts';

const dir = mkdtempSync(join(tmpdir(), 'outpost-staged-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function staged(): StagedStorage {
  return new StagedStorage(new ObjectStorage(join(dir, `o${n++}.sqlite`)), 'kv', () => {});
}
const value = (s: StagedStorage, key: string, txn = 0) => s.get([key], txn)[0]?.[1];

it('a transaction layer is seen only by calls made in it, and joins the staged writes when it ends', () => {
  const s = staged();
  s.put([['k', 'committed']]);
  s.commit();
  const t = s.begin(0);
  s.put([['k', 'in txn']], t);
  s.put([['outside', 1]]); // another event, meanwhile
  assert.equal(value(s, 'k', t), 'in txn');
  assert.equal(value(s, 'k'), 'committed', 'outside the transaction its writes are not seen');
  assert.equal(value(s, 'outside', t), 1, 'the transaction reads what others staged');
  assert.deepEqual(
    s.list({}, t).map(([k, v]) => [k, v]),
    [
      ['k', 'in txn'],
      ['outside', 1],
    ],
  );
  assert.deepEqual(
    s.list({}).map(([k, v]) => [k, v]),
    [
      ['k', 'committed'],
      ['outside', 1],
    ],
  );
  s.end(t);
  s.commit();
  assert.equal(value(s, 'k'), 'in txn');
  assert.throws(() => s.put([['k', 'late']], t), /already ended/);
  s.close();
});

it('rolling back drops only that transaction (and those opened in it), never what others wrote', () => {
  const s = staged();
  const t = s.begin(0);
  s.put([['a', 1]], t);
  s.put([['b', 2]]);
  const inner = s.begin(t);
  s.put([['c', 3]], inner);
  assert.equal(value(s, 'a', inner), 1, 'a nested transaction sees the one it is in');
  assert.equal(s.delete(['a'], inner), 1);
  assert.equal(value(s, 'a', t), 1, 'the outer one does not see the inner one before it ends');
  s.rollback(t);
  assert.throws(() => s.end(inner), /already ended/, 'dropped with the transaction it was in');
  s.commit();
  assert.deepEqual(
    s.list({}).map(([k]) => k),
    ['b'],
  );
  assert.throws(() => s.rollback(0), /outside a transaction/);
  assert.throws(() => s.begin(12345), /already ended/);
  s.close();
});

it('a nested transaction that ends joins the one it was in, not the staged writes', () => {
  const s = staged();
  const t = s.begin(0);
  const inner = s.begin(t);
  s.put([['x', 1]], inner);
  s.end(inner);
  assert.equal(value(s, 'x'), undefined);
  assert.equal(value(s, 'x', t), 1);
  s.rollback(t);
  assert.equal(value(s, 'x'), undefined);
  s.close();
});

it('bounds the bytes open transactions hold on the host', () => {
  const s = staged();
  const t = s.begin(0);
  const big = 'x'.repeat(120 * 1024); // under the key-value backend's 128 KiB per value
  assert.throws(() => {
    for (let i = 0; i < 1200; i++) s.put([[`k${i}`, big]], t);
  }, /more than 128 MiB of uncommitted writes/);
  s.rollback(t);
  const again = s.begin(0);
  s.put([['k', big]], again); // dropped ones no longer count
  assert.throws(() => s.end(0), /end\(\) called outside a transaction/);
  s.close();
});

it('bounds the transactions open at once', () => {
  const s = staged();
  const ids: number[] = [];
  assert.throws(() => {
    for (let i = 0; i < 5000; i++) ids.push(s.begin(0));
  }, /at most 1024 transactions/);
  assert.equal(ids.length, 1024);
  for (const id of ids) s.rollback(id);
  s.begin(0);
  s.close();
});
