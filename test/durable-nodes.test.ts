/**
 * Durable Objects across real node processes on a real three-server NATS cluster (R3): one
 * counter object called from six nodes while its owner is SIGKILLed twice ends with exactly the
 * acknowledged increments, each acknowledged value given once (no two owners ever committed,
 * which the journal's fences show too); an owner paused past its lease commits nothing when it
 * resumes; an alarm set before its owner dies fires once, elsewhere; a WebSocket chat room with
 * members on three nodes gives them one order, and after its owner dies they reconnect to the
 * whole history.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import {
  casCheckedOnApply,
  decodeRecord,
  LOG_STREAM,
  logSubject,
  OWNERS_BUCKET,
  objectKey,
} from '../src/durable-objects/cluster/index.ts';
import { idFromName } from '../src/durable-objects/ids.ts';
import { type NatsCluster, startNatsCluster } from '../src/kv/nats-harness.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'do-network');
const NS = 'do-net/Counter';
const POPS = ['FRA', 'AMS', 'LHR', 'CDG', 'JNB', 'DXB'];
const LEASE_MS = 3000;

describeNeeding(NATS_SERVER, 'Durable Objects across node processes (3-server NATS cluster)', () => {
  let nats: NatsCluster;
  let nc: NatsConnection;
  let nodes: NodeProcess[] = [];
  let secretDir = '';

  const alive = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const ownerOf = async (name: string, ns = NS) => {
    const kv = await new Kvm(nc).open(OWNERS_BUCKET);
    const e = await kv.get(objectKey(ns, idFromName(ns, name)));
    return e?.json<{ node: string; epoch: number; until: number }>() ?? null;
  };
  const nodeOf = (id: string) => nodes.find((n) => n.id === id);
  /** The journal of an object: each record's epoch, fences marked. */
  const journal = async (name: string) => {
    const jsm = await jetstreamManager(nc);
    const out: { e: number; fence: boolean; n: string }[] = [];
    const subject = logSubject(objectKey(NS, idFromName(NS, name)));
    for (let seq = 0; ; ) {
      const m = await jsm.streams.getMessage(LOG_STREAM, { next_by_subj: subject, seq: seq + 1 } as never);
      if (!m) break;
      seq = m.seq;
      const r = decodeRecord(m.data);
      out.push({ e: r.e, fence: !!r.fence, n: r.n });
    }
    return out;
  };
  /**
   * Every record belongs to the epoch of the fence before it, written by that fence's node; a
   * fence never lowers the epoch, and one of the same epoch comes from the same node.
   */
  const checkFences = (records: { e: number; fence: boolean; n: string }[]) => {
    let epoch = 0;
    let owner = '';
    for (const [i, r] of records.entries()) {
      if (r.fence) {
        assert.ok(
          r.e > epoch || (r.e === epoch && r.n === owner),
          `fence ${i} (epoch ${r.e}, ${r.n}) after epoch ${epoch} (${owner})`,
        );
        epoch = r.e;
        owner = r.n;
      } else {
        assert.equal(r.e, epoch, `record ${i} of epoch ${r.e} written during epoch ${epoch}`);
        assert.equal(r.n, owner, `record ${i} written by ${r.n} during ${owner}'s epoch`);
      }
    }
    return epoch;
  };
  const get = async (n: NodeProcess, path: string) => {
    const r = await fetch(`${n.url}${path}`, { signal: AbortSignal.timeout(20_000) });
    return { status: r.status, body: await r.text() };
  };

  before(async () => {
    nats = await startNatsCluster(3);
    nc = await connect({ servers: nats.urls.split(',') });
    secretDir = mkdtempSync(join(tmpdir(), 'outpost-do-secret-'));
    writeFileSync(join(secretDir, 'secret'), 'test-network-secret-0123456789');
    const d = await cli([
      'deploy',
      FIXTURE,
      '--nats',
      nats.urls,
      '--replicas',
      '3',
      '--waves',
      'all',
      '--wait',
      '0',
    ]);
    assert.equal(d.code, 0, d.err);
    const extra = [
      '--secret-file',
      join(secretDir, 'secret'),
      '--replicas',
      '3',
      '--do-lease-ms',
      String(LEASE_MS),
      '--do-snapshot-every',
      '0',
    ];
    nodes = await Promise.all(POPS.map((pop) => startNodeProcess(nats.urls, pop, { extra })));
  });

  after(async () => {
    await stopNodeProcesses();
    for (const n of nodes) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await nc?.close();
    await nats?.dispose();
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  });

  it('a new object is placed near its locationHint: called through FRA with "me", it lives in DXB', async () => {
    const fra = nodes.find((n) => n.pop === 'FRA') as NodeProcess;
    const r = await fetch(`${fra.url}/inc?name=near-dubai&hint=me`);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(((await r.json()) as { value: number }).value, 1);
    assert.match(r.headers.get('server-timing') ?? '', /COUNTER at DXB \(DXB-.*\) from FRA/);
    const owner = await ownerOf('near-dubai');
    assert.equal(nodeOf(owner?.node ?? '')?.pop, 'DXB');
    // Without a hint, the first caller's node.
    const plain = await get(fra, '/inc?name=near-frankfurt');
    assert.equal(plain.status, 200);
    assert.equal(nodeOf((await ownerOf('near-frankfurt'))?.node ?? '')?.pop, 'FRA');
  });

  it('outpost do move hands an object to another PoP while it is called: calls held, none failed, none lost', async () => {
    const fra = nodes.find((n) => n.pop === 'FRA') as NodeProcess;
    assert.equal(nodeOf((await ownerOf('near-frankfurt'))?.node ?? '')?.pop, 'FRA');
    let acked = 0;
    const failures: string[] = [];
    let stop = false;
    const callers = nodes.slice(0, 4).map(async (n, i) => {
      for (let k = 0; !stop; k++) {
        const r = await get(n, `/inc?name=near-frankfurt&op=move-${i}-${k}`);
        if (r.status === 200) acked++;
        else failures.push(`${n.pop}: ${r.status} ${r.body}`);
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const moved = await cli([
      'do',
      'move',
      'do-net/Counter',
      'near-frankfurt',
      '--to',
      'AMS',
      '--nats',
      nats.urls,
      '--secret-file',
      join(secretDir, 'secret'),
    ]);
    assert.equal(moved.code, 0, moved.err);
    assert.match(moved.out, /moved from FRA \(FRA-.*\) to AMS/);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(callers);
    assert.deepEqual(failures, [], 'no call failed during the move');
    assert.equal(nodeOf((await ownerOf('near-frankfurt'))?.node ?? '')?.pop, 'AMS');
    const now = JSON.parse((await get(fra, '/?name=near-frankfurt')).body).value;
    assert.equal(now, acked + 1, 'every acknowledged increment, and the one before');
    const again = await cli([
      'do',
      'move',
      'do-net/Counter',
      'near-frankfurt',
      '--to',
      'ams',
      '--nats',
      nats.urls,
      '--secret-file',
      join(secretDir, 'secret'),
    ]);
    assert.match(again.out, /already at AMS/);
    const bad = await cli([
      'do',
      'move',
      'do-net/Counter',
      'near-frankfurt',
      '--to',
      'XXX',
      '--nats',
      nats.urls,
      '--secret-file',
      join(secretDir, 'secret'),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no live node serves PoP XXX/);
  });

  it('10,000 increments from six nodes, the owner SIGKILLed twice: every acknowledged one counted once', async () => {
    const TOTAL = 10_000;
    const values = new Map<number, number>(); // op → the value its answer gave
    let next = 0;
    let errors = 0;
    const why = new Map<string, number>();
    const failed = (what: string) => {
      errors++;
      const k = what.replace(/[0-9a-f]{12,}|\d+/g, '#').slice(0, 90);
      why.set(k, (why.get(k) ?? 0) + 1);
    };
    let turn = 0;
    const client = async () => {
      for (let op = next++; op < TOTAL; op = next++) {
        for (let attempt = 0; ; attempt++) {
          const live = alive();
          const n = live[turn++ % live.length];
          try {
            const r = await get(n, `/inc?op=${op}`);
            if (r.status === 200) {
              values.set(op, (JSON.parse(r.body) as { value: number }).value);
              break;
            }
            failed(`${r.status} ${r.body}`);
          } catch (err) {
            failed((err as Error).message);
          }
          assert.ok(attempt < 50, `op ${op} never acknowledged`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const kills: string[] = [];
    const killer = async () => {
      for (const at of [2500, 6000]) {
        while (values.size < at) await new Promise((r) => setTimeout(r, 20));
        const owner = await ownerOf('one');
        const victim = owner && nodeOf(owner.node);
        assert.ok(victim, `the owner ${owner?.node} is one of the nodes`);
        victim.child.kill('SIGKILL');
        await victim.exited;
        kills.push(victim.pop);
      }
    };
    const started = Date.now();
    await Promise.all([...Array.from({ length: 16 }, client), killer()]);
    assert.equal(kills.length, 2);
    // Each acknowledged value given once: no two owners ever handed out the same count.
    const given = [...values.values()].sort((a, b) => a - b);
    assert.equal(given.length, TOTAL);
    assert.equal(new Set(given).size, TOTAL, 'no value acknowledged twice');
    assert.equal(given[TOTAL - 1], TOTAL);
    const final = await get(alive()[0], '/');
    assert.equal(JSON.parse(final.body).value, TOTAL);
    const records = await journal('one');
    // Fences rest on the server checking a compare-and-set when a replicated stream applies it,
    // which nats-server does from 2.9.21 (nats-io/nats-server#4320; Debian bookworm has 2.9.10,
    // docs/deploying.md). On an older server a broken fence is reported here, not failed: the
    // acknowledged values above were still checked.
    const server = nc.info?.version ?? '';
    try {
      assert.ok(checkFences(records) >= 3, 'three owners at least, each behind its fence');
    } catch (err) {
      if (casCheckedOnApply(server)) throw err;
      console.log(
        `# nats-server ${server} lets two compare-and-sets with one expected sequence both land (fixed in 2.9.21): ${(err as Error).message}`,
      );
    }
    console.log(
      `# ${TOTAL} increments in ${Date.now() - started} ms, ${errors} failed attempts retried (${[...why].map(([k, n]) => `${n}× ${k}`).join('; ')}), owners killed at ${kills.join(', ')}, ${records.length} journal records`,
    );
  });

  it('an owner paused (SIGSTOP) past its lease commits nothing when it resumes', async () => {
    const [x, y] = alive();
    assert.equal((await get(x, '/inc?name=paused&op=first')).status, 200);
    assert.equal((await ownerOf('paused'))?.node, x.id);
    x.child.kill('SIGSTOP');
    let late: { status: number; body: string };
    try {
      // Sent to the paused owner: it waits in its socket until the process runs again.
      const stale = get(x, '/inc?name=paused&op=stale').catch((err: Error) => ({
        status: 0,
        body: err.message,
      }));
      // A call through another node while the lease still holds waits for the owner, and gives
      // up when the lease runs out (it may have reached the owner: not sent again).
      const waited = await get(y, '/inc?name=paused&op=waited');
      assert.equal(waited.status, 500, waited.body);
      assert.match(waited.body, /Network connection lost/);
      const taken = await get(y, '/inc?name=paused&op=second');
      assert.equal(taken.status, 200, taken.body);
      assert.equal(JSON.parse(taken.body).value, 2);
      assert.equal((await ownerOf('paused'))?.node, y.id);
      x.child.kill('SIGCONT');
      late = await stale;
    } finally {
      x.child.kill('SIGCONT');
    }
    const acknowledged = 2 + (late.status === 200 ? 1 : 0);
    const now = await get(y, '/?name=paused');
    assert.equal(JSON.parse(now.body).value, acknowledged, `late answer: ${late.status} ${late.body}`);
    const records = await journal('paused');
    checkFences(records);
    const fence = records.findIndex((r) => r.fence && r.e > 1);
    assert.ok(fence > 0);
    assert.ok(
      records.slice(fence).every((r) => r.n !== x.id),
      'nothing of the paused owner after the new owner’s fence',
    );
  });

  it('an alarm set before its owner is killed fires once, on another node', async () => {
    const [x, y] = alive();
    const set = await get(x, '/alarm?name=alarm&in=1500');
    assert.equal(set.status, 200, set.body);
    assert.equal((await ownerOf('alarm'))?.node, x.id);
    x.child.kill('SIGKILL');
    await x.exited;
    const end = Date.now() + 15_000;
    let fired = 0;
    while (Date.now() < end) {
      const r = await get(y, '/fired?name=alarm');
      fired = r.status === 200 ? JSON.parse(r.body).fired : 0;
      if (fired > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(fired, 1, 'fired after the failover');
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    assert.equal(JSON.parse((await get(y, '/fired?name=alarm')).body).fired, 1, 'and only once');
  });

  it('a chat room over WebSockets: members on three nodes see one order; its owner killed, they reconnect to the whole history', async () => {
    const ROOM = 'do-net/ChatRoom';
    type Member = {
      ws: WebSocket;
      got: { n?: number; message?: string; history?: string[] }[];
      closed: Promise<number>;
    };
    const join = (n: NodeProcess) =>
      new Promise<Member>((resolve, reject) => {
        const ws = new WebSocket(`${n.url.replace('http', 'ws')}/room?name=chat`);
        const got: Member['got'] = [];
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.on('message', (d) => got.push(JSON.parse(String(d))));
        ws.once('open', () => resolve({ ws, got, closed }));
        ws.once('error', reject);
        ws.once('unexpected-response', (_q, r) => reject(new Error(`${n.pop} answered ${r.statusCode}`)));
      });
    const live = alive();
    assert.ok(live.length >= 3, `three nodes left (${live.length})`);
    const members: Member[] = [];
    for (const n of live.slice(0, 3)) members.push(await join(n));
    const owner = await ownerOf('chat', ROOM);
    assert.equal(owner?.node, live[0].id, 'the first member’s node owns the room');
    for (let i = 0; i < 20; i++) for (const [j, m] of members.entries()) m.ws.send(`m${j}-${i}`);
    const said = (m: Member) => m.got.filter((x) => x.n !== undefined).map((x) => `${x.n}:${x.message}`);
    const end = Date.now() + 30_000;
    while (members.some((m) => said(m).length < 60) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    const order = said(members[0]);
    assert.equal(order.length, 60);
    for (const m of members) assert.deepEqual(said(m), order, 'every member saw the same order');
    assert.deepEqual(
      order.map((x) => Number(x.split(':')[0])),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    for (let j = 0; j < 3; j++) {
      const mine = order.map((x) => x.split(':')[1]).filter((x) => x.startsWith(`m${j}-`));
      assert.deepEqual(
        mine,
        Array.from({ length: 20 }, (_, i) => `m${j}-${i}`),
        'each member’s messages in the order sent',
      );
    }
    live[0].child.kill('SIGKILL');
    await live[0].exited;
    // Every member's socket ends: the owner is gone.
    await Promise.all(members.map((m) => m.closed));
    // Reconnecting (through another node) reaches the next owner once the lease has run out.
    let again: Member | null = null;
    const until = Date.now() + 20_000;
    while (!again && Date.now() < until) {
      again = await join(alive()[0]).catch(() => null);
      if (!again) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(again, 'reconnected');
    const wait = Date.now() + 10_000;
    while (again.got.length === 0 && Date.now() < wait) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      again.got[0]?.history,
      order.map((x) => x.split(':')[1]),
      'the whole history, in order',
    );
    again.ws.close();
  });
});
