// Durable Object ownership and replicated storage over a real nats-server: a second node cannot
// take an object another holds, takes it with everything acknowledged once it is released, a
// fenced owner's writes are refused, snapshots and records cut into parts restore whole, SQL
// is replayed (or its image kept when it would not replay the same), and an alarm whose object
// nobody holds is offered to the nodes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describeNeeding, NATS_SERVER } from '../../../test/support/programs.ts';
import { type NatsServer, startNatsServer } from '../../kv/nats-harness.ts';
import { type AlarmEntry, ObjectCluster, ObjectElsewhere, objectKey, SNAPSHOTS } from './cluster.ts';
import { FencedError, LOG_STREAM, logSubject } from './journal.ts';
import { OWNERS_BUCKET } from './owners.ts';
import { decodeRecord } from './records.ts';

const NS = 'tenant/Counter';
const folder = () => mkdtempSync(join(tmpdir(), 'outpost-do-cluster-'));
const value = (v: unknown) => serialize(v);
const read = (s: { get(k: string[]): [string, Uint8Array][] }, k: string) => {
  const got = s.get([k]);
  return got.length ? deserialize(got[0][1]) : undefined;
};

describeNeeding(NATS_SERVER, 'Durable Objects across nodes (ObjectCluster)', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  const clusters: ObjectCluster[] = [];
  const node = async (name: string, o: { leaseMs?: number; snapshotEvery?: number } = {}) => {
    const c = await ObjectCluster.connect({ servers: nats.url, node: name, pop: 'FRA', log: () => {}, ...o });
    c.serve(`http://${name}.invalid`);
    clusters.push(c);
    return c;
  };

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    for (const c of clusters) await c.close();
    await nc?.close();
    await nats?.dispose();
  });

  it('one owner at a time; the next has every acknowledged write', async () => {
    const a = await node('a1');
    const b = await node('b1');
    const s = await a.open(NS, 'obj1', 'one', folder(), 1e9);
    s.write([['n', value(41)]], []);
    s.write(
      [
        ['n', value(42)],
        ['m', value('x')],
      ],
      [],
    );
    await s.gate();
    await assert.rejects(b.open(NS, 'obj1', null, folder(), 1e9), ObjectElsewhere);
    assert.equal((await b.owner(NS, 'obj1', true))?.node, 'a1');
    s.close();
    await a.release(NS, 'obj1');
    const t = await b.open(NS, 'obj1', null, folder(), 1e9);
    assert.equal(read(t, 'n'), 42);
    assert.equal(read(t, 'm'), 'x');
    const owner = await b.owner(NS, 'obj1', true);
    assert.equal(owner?.node, 'b1');
    assert.equal(owner?.epoch, 2);
    assert.equal(owner?.name, 'one', 'the name the object was made from is kept');
    t.close();
    await b.release(NS, 'obj1');
  });

  it('objects of one node keep their journals apart (message ids name the object)', async () => {
    const a = await node('a6');
    const b = await node('b6');
    const stores = await Promise.all(['p', 'q'].map((id) => a.open(NS, id, null, folder(), 1e9)));
    for (const [i, s] of stores.entries()) {
      s.write([['v', value(i)]], []);
      await s.gate();
      s.write([['w', value(i * 10)]], []);
      await s.gate();
    }
    for (const [i, id] of ['p', 'q'].entries()) {
      stores[i].close();
      await a.release(NS, id);
      const t = await b.open(NS, id, null, folder(), 1e9);
      assert.deepEqual([read(t, 'v'), read(t, 'w')], [i, i * 10]);
      t.close();
      await b.release(NS, id);
    }
  });

  it('an owner whose lease was taken is fenced: its next write is never acknowledged', async () => {
    const a = await node('a2', { leaseMs: 60_000 });
    const b = await node('b2');
    const lost: string[] = [];
    a.onLost = (_ns, id, why) => lost.push(`${id}: ${why.name}`);
    const s = await a.open(NS, 'obj2', null, folder(), 1e9);
    s.write([['n', value(1)]], []);
    await s.gate();
    // As if a1 had been paused past its lease: the entry says the lease ran out.
    const kv = await new Kvm(nc).open(OWNERS_BUCKET);
    const key = objectKey(NS, 'obj2');
    const e = await kv.get(key);
    const entry = e?.json<{ until: number }>();
    await kv.update(key, JSON.stringify({ ...entry, until: 0 }), e?.revision ?? 0);
    const t = await b.open(NS, 'obj2', null, folder(), 1e9);
    assert.equal(read(t, 'n'), 1);
    s.write([['n', value(2)]], []); // applied to a1's own copy only
    await assert.rejects(s.gate(), FencedError);
    assert.deepEqual(lost, ['obj2: FencedError']);
    assert.equal(a.holding(NS, 'obj2'), false);
    t.write([['n', value(3)]], []);
    await t.gate();
    // The journal: a1's epoch, b2's fence, b2's write, and nothing of a1's after the fence.
    const jsm = await jetstreamManager(nc);
    const epochs: string[] = [];
    for (let seq = 0; ; ) {
      const m = await jsm.streams.getMessage(LOG_STREAM, {
        next_by_subj: logSubject(key),
        seq: seq + 1,
      } as never);
      if (!m) break;
      seq = m.seq;
      const r = decodeRecord(m.data);
      epochs.push(`${r.e}${r.fence ? ' fence' : ''}`);
    }
    assert.deepEqual(epochs, ['1 fence', '1', '2 fence', '2']);
    t.close();
  });

  it('snapshots purge the journal; records larger than a NATS message go in parts; both restore', async () => {
    const a = await node('a3', { snapshotEvery: 3 });
    const b = await node('b3');
    const s = await a.open(NS, 'obj3', null, folder(), 1e9);
    for (let i = 1; i <= 10; i++) {
      s.write([['n', value(i)]], []);
      await s.gate();
    }
    // 2.5 MB in one commit: more than NATS's 1 MB message.
    const big = new Uint8Array(2_500_000).map((_, i) => i % 251);
    s.write([['big', value(big)]], []);
    await s.gate();
    const key = objectKey(NS, 'obj3');
    // Snapshots and their purges run behind the commits: wait (bounded) for the last one.
    const jsm = await jetstreamManager(nc);
    const countRecords = async () => {
      let n = 0;
      for (let seq = 0; ; n++) {
        const m = await jsm.streams.getMessage(LOG_STREAM, {
          next_by_subj: logSubject(key),
          seq: seq + 1,
        } as never);
        if (!m) return n;
        seq = m.seq;
      }
    };
    let records = await countRecords();
    for (
      const until = Date.now() + 5000;
      records >= 8 && Date.now() < until;
      records = await countRecords()
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(records < 8, `the journal was purged behind snapshots (${records} messages left)`);
    s.close();
    await a.release(NS, 'obj3');
    const t = await b.open(NS, 'obj3', null, folder(), 1e9);
    assert.equal(read(t, 'n'), 10);
    assert.deepEqual(read(t, 'big'), big);
    t.close();
    await b.release(NS, 'obj3');
  });

  it('a late snapshot of an owner that let the object go never replaces a newer one', async () => {
    const a = await node('a7', { snapshotEvery: 3 });
    const b = await node('b7', { snapshotEvery: 3 });
    const c = await node('c7');
    // a7's first snapshot upload is held until b7 has snapshotted past it.
    const store = await new Objm(jetstream(nc)).open(SNAPSHOTS);
    const proto = Object.getPrototypeOf(store) as { putBlob: (...args: unknown[]) => Promise<unknown> };
    const putBlob = proto.putBlob;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    proto.putBlob = async function (this: unknown, ...args: unknown[]) {
      if (first) {
        first = false;
        await held;
      }
      return putBlob.apply(this, args);
    };
    try {
      const sa = await a.open(NS, 'obj7', null, folder(), 1e9);
      for (const k of ['k1', 'k2', 'k3']) {
        sa.write([[k, value(k)]], []);
        await sa.gate();
      }
      sa.close();
      await a.release(NS, 'obj7');
      const sb = await b.open(NS, 'obj7', null, folder(), 1e9);
      for (const k of ['k4', 'k5', 'k6']) {
        sb.write([[k, value(k)]], []);
        await sb.gate();
      }
      await new Promise((r) => setTimeout(r, 300)); // b7's snapshot and purge
      release();
      await new Promise((r) => setTimeout(r, 300)); // a7's late one
      sb.write([['k7', value('k7')]], []);
      await sb.gate();
      sb.close();
      await b.release(NS, 'obj7');
      const sc = await c.open(NS, 'obj7', null, folder(), 1e9);
      assert.deepEqual(
        sc.list({}).map(([k]) => k),
        ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
      );
      sc.close();
    } finally {
      proto.putBlob = putBlob;
      release();
    }
  });

  it("SQL is replayed; a statement using random() or datetime('now') is kept as its image", async () => {
    const a = await node('a4');
    const b = await node('b4');
    const s = await a.open(NS, 'obj4', null, folder(), 1e9);
    s.sql('CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER, at TEXT)', []);
    s.sql('INSERT INTO t (r) VALUES (?)', [7]);
    s.sql("INSERT INTO t (r, at) VALUES (random(), datetime('now'))", []);
    s.sql('SELECT * FROM t', []); // reads are not journalled
    await s.gate();
    const before = s.sql('SELECT id, r, at FROM t ORDER BY id', []).rows;
    s.close();
    await a.release(NS, 'obj4');
    const t = await b.open(NS, 'obj4', null, folder(), 1e9);
    assert.deepEqual(t.sql('SELECT id, r, at FROM t ORDER BY id', []).rows, before);
    t.close();
    await b.release(NS, 'obj4');
  });

  it('an alarm whose object nobody holds is offered to the nodes when due', async () => {
    const a = await node('a5');
    const b = await node('b5');
    const offered: AlarmEntry[] = [];
    b.onOrphanAlarm = (e) => offered.push(e);
    const s = await a.open(NS, 'obj5', 'five', folder(), 1e9);
    s.setAlarm(Date.now() + 300);
    await s.gate();
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(offered.length, 0, 'its owner holds it: the alarm is the owner’s');
    s.close();
    await a.release(NS, 'obj5');
    const end = Date.now() + 5000;
    while (offered.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.equal(offered[0]?.id, 'obj5');
    assert.equal(offered[0]?.name, 'five');
    const t = await b.open(NS, 'obj5', null, folder(), 1e9);
    assert.ok(t.getAlarm() !== null, 'the alarm came with the storage');
    t.setAlarm(null);
    await t.gate();
    t.close();
  });
});
