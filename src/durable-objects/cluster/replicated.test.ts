// What an owner's SQL journals rebuilds the same database elsewhere (restore.ts): statements
// replay as text when that gives the same rows, and are kept as the database's image when not
// (a function of time or chance in the statement, in a DEFAULT or in a trigger); bytes bound as
// ArrayBuffers, TEMP tables feeding real ones and connection PRAGMAs replay too.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { sqlRunner } from '../sql-runner.ts';
import { StagedStorage } from '../staged.ts';
import { ObjectStorage } from '../storage.ts';
import type { JournalWriter } from './journal.ts';
import type { JournalOp } from './records.ts';
import { ReplicatedStorage } from './replicated.ts';
import { restoreDatabase } from './restore.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Run `fn` on an owner's storage and rebuild it from its journal: `query`, keys and alarm of both. */
function roundTrip(
  fn: (s: ReplicatedStorage) => void,
  query: string,
): { owner: unknown[]; restored: unknown[]; ops: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-replicated-'));
  dirs.push(dir);
  const s = new ReplicatedStorage(join(dir, 'owner.sqlite'), 'ns', 1e9);
  const ops: JournalOp[] = [];
  // The journal as the restore will read it: each operation copied through the serializer.
  s.journal = {
    push: (op: JournalOp) => ops.push(deserialize(serialize(op))),
    unacknowledged: 0,
    broken: null,
  } as unknown as JournalWriter;
  fn(s);
  const look = (db: ObjectStorage) => [db.sql(query, []).rows, db.list({}).map(([k]) => k), db.getAlarm()];
  const owner = look(s);
  s.close();
  const file = join(dir, 'restored.sqlite');
  restoreDatabase(file, 'ns', 1e9, null, [{ e: 1, n: 'test', ops }]);
  const r = new ObjectStorage(file, 'ns', 1e9);
  const restored = look(r);
  r.close();
  return { owner, restored, ops: ops.map((o) => o.t) };
}

it('replays plain statements as text, reads not at all', () => {
  const r = roundTrip((s) => {
    s.sql('CREATE TABLE t (x)', []);
    s.sql('INSERT INTO t VALUES (?), (?)', [1, 'two']);
    s.sql('SELECT * FROM t', []);
    s.sql("UPDATE t SET x = x || '!' WHERE x = 'two'", []);
  }, 'SELECT * FROM t');
  assert.deepEqual(r.restored, r.owner);
  assert.deepEqual(r.ops, ['sql', 'sql', 'sql']);
});

it('keeps the image of a statement reading the connection’s counters, which a restore would not see the same', () => {
  // The owner's SQL host may close its connection between two statements (it keeps a bounded
  // number open); a restore replays everything on one. Closing it here makes that happen.
  const r = roundTrip((s) => {
    s.sql('CREATE TABLE t (x)', []);
    s.sql('INSERT INTO t VALUES (?), (?)', [1, 2]);
    sqlRunner.close(s.file);
    s.sql('INSERT INTO t VALUES (total_changes()), (changes()), (last_insert_rowid())', []);
  }, 'SELECT * FROM t');
  assert.deepEqual(r.restored, r.owner);
  assert.deepEqual(r.ops, ['sql', 'sql', 'image']);
});

it('keeps the image of a statement that would not replay the same', () => {
  const r = roundTrip((s) => {
    s.sql('CREATE TABLE t (x, r)', []);
    s.sql("INSERT INTO t VALUES (datetime('now'), random())", []);
  }, 'SELECT * FROM t');
  assert.deepEqual(r.restored, r.owner);
  assert.deepEqual(r.ops, ['sql', 'image']);
});

it('keeps images while the schema itself calls random() (a DEFAULT, a trigger)', () => {
  const d = roundTrip((s) => {
    s.sql('CREATE TABLE t (x, id DEFAULT (randomblob(8)))', []);
    s.sql('INSERT INTO t (x) VALUES (1)', []);
  }, 'SELECT x, hex(id) FROM t');
  assert.deepEqual(d.restored, d.owner);
  assert.deepEqual(d.ops, ['image', 'image']);
  const t = roundTrip((s) => {
    s.sql('CREATE TABLE t (x, r)', []);
    s.sql(
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET r = random() WHERE rowid = new.rowid; END',
      [],
    );
    s.sql('INSERT INTO t (x) VALUES (1)', []);
  }, 'SELECT * FROM t');
  assert.deepEqual(t.restored, t.owner);
  assert.equal(t.ops.at(-1), 'image');
});

it('replays bytes bound as an ArrayBuffer', () => {
  const r = roundTrip((s) => {
    s.sql('CREATE TABLE t (b BLOB)', []);
    s.sql('INSERT INTO t VALUES (?)', [new Uint8Array([1, 2, 3]).buffer]);
  }, 'SELECT hex(b) FROM t');
  assert.deepEqual(r.restored[0], [['010203']]);
});

it('replays a TEMP table that feeds a real one, and connection PRAGMAs', () => {
  const tmp = roundTrip((s) => {
    s.sql('CREATE TABLE t (x)', []);
    s.sql('CREATE TEMP TABLE tmp (x)', []);
    s.sql('INSERT INTO tmp VALUES (7)', []);
    s.sql('INSERT INTO t SELECT x FROM tmp', []);
  }, 'SELECT * FROM t');
  assert.deepEqual(tmp.restored[0], [[7]]);
  const fk = roundTrip((s) => {
    s.sql('CREATE TABLE p (id INTEGER PRIMARY KEY)', []);
    s.sql('CREATE TABLE c (pid REFERENCES p(id) ON DELETE CASCADE)', []);
    s.sql('INSERT INTO p VALUES (1)', []);
    s.sql('INSERT INTO c VALUES (1)', []);
    s.sql('PRAGMA foreign_keys = OFF', []);
    s.sql('DELETE FROM p WHERE id = 1', []);
  }, 'SELECT count(*) FROM c');
  assert.deepEqual(fk.restored, fk.owner);
});

it('journals the key-value API, alarms and deleteAll', () => {
  const r = roundTrip((s) => {
    s.write([['a', serialize(1)]], []);
    s.setAlarm(123);
    s.deleteAll();
    s.write([['b', serialize(2)]], []);
    s.sql('CREATE TABLE t (x)', []);
    s.sql('INSERT INTO t VALUES (1)', []);
  }, 'SELECT * FROM t');
  assert.deepEqual(r.restored, r.owner);
  assert.deepEqual(r.restored, [[[1]], ['b'], null]);
  assert.deepEqual(r.ops, ['kv', 'alarm', 'deleteAll', 'kv', 'sql', 'sql']);
});

it('the output gate of a replicated object: what leaves waits for the journal, in order, and for a lease that still holds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-replicated-'));
  dirs.push(dir);
  const s = new ReplicatedStorage(join(dir, 'gate.sqlite'), 'ns', 1e9);
  let unacknowledged = 0;
  const barriers: (() => void)[] = [];
  const acknowledge = () => {
    unacknowledged = 0;
    for (const resolve of barriers.splice(0)) resolve();
  };
  s.journal = {
    push: () => {
      unacknowledged++;
    },
    get unacknowledged() {
      return unacknowledged;
    },
    broken: null,
    barrier: () => new Promise<void>((resolve) => barriers.push(resolve)),
  } as unknown as JournalWriter;
  s.leaseUntil = Date.now() + 60_000;
  const staged = new StagedStorage(s, 'kv', () => {});
  assert.equal(staged.confirmed(), null, 'nothing written: a call leaves at once');
  staged.put([['k', 1]]);
  staged.commit();
  const order: string[] = [];
  staged.output(() => order.push('message'));
  const call = staged.confirmed()?.then(() => order.push('call'));
  assert.ok(call, 'a call after a write waits');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [], 'something left before the journal acknowledged the write');
  acknowledge();
  await call;
  assert.deepEqual(order, ['message', 'call']);
  // The lease ran out: what waits is refused.
  s.leaseUntil = Date.now() - 1;
  staged.put([['k', 2]]);
  staged.commit();
  const refused = staged.confirmed();
  acknowledge();
  await assert.rejects(refused as Promise<void>, /lease on the Durable Object ran out/);
  // Nothing waits for the journal now, and still nothing leaves.
  const late = staged.confirmed();
  assert.ok(late, 'a call waits when the lease ran out, written or not');
  await assert.rejects(late as Promise<void>, /lease on the Durable Object ran out/);
  let sent = false;
  staged.output(() => {
    sent = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sent, false, 'a message left after the lease ran out');
  staged.close();
});
