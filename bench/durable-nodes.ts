/**
 * Durable Objects across node processes (docs/deploying.md), same run, real nats-server(s):
 * one counter object (test/fixtures/do-network), every figure a median over the run.
 * - write latency, one client in sequence: a node keeping objects to itself (no network secret:
 *   SQLite on its disk, the baseline) against the owner of a replicated object, journal on one
 *   NATS server (R1) and on a three-server cluster (R3);
 * - cross-node overhead: the same calls sent to a node that does not own the object (it sends
 *   them to the owner) against calls to the owner, for writes and for reads;
 * - writes/s with 32 clients at once on the owner: replicated (group commit) against local;
 * - failover: the owner killed (SIGKILL) → the first successful call through another node, and
 *   the owner stopped cleanly (SIGTERM: its leases are handed back) → the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { Pool } from 'undici';
import { OWNERS_BUCKET, objectKey } from '../src/durable-objects/cluster/index.ts';
import { idFromName } from '../src/durable-objects/ids.ts';
import { startNatsCluster, startNatsServer } from '../src/kv/nats-harness.ts';
import { cli, type NodeProcess, startNodeProcess } from '../test/support/nodes.ts';
import { fmt, median, percentile } from './util.ts';

const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'do-network');
const NS = 'do-net/Counter';
const LEASE_MS = 2000;

async function call(url: string, path: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url + path);
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return performance.now() - t0;
}

async function sequence(url: string, path: (i: number) => string, n: number): Promise<number[]> {
  for (let i = 0; i < 20; i++) await call(url, path(-i - 1)); // warm
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await call(url, path(i)));
  return out;
}

async function concurrent(url: string, path: string, seconds: number): Promise<number> {
  const pool = new Pool(url, { connections: 32 });
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        const r = await pool.request({ path, method: 'GET' });
        await r.body.arrayBuffer();
        if (r.statusCode === 200) done++;
      }
    }),
  );
  await pool.close();
  return done / seconds;
}

interface Net {
  nodes: NodeProcess[];
  close(): Promise<void>;
  ownerOf(name: string): Promise<string | null>;
}

async function network(o: { cluster: boolean; secret: boolean; pops: string[] }): Promise<Net> {
  const nats = o.cluster ? await startNatsCluster(3) : await startNatsServer();
  const urls = 'urls' in nats ? nats.urls : nats.url;
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-do-'));
  writeFileSync(join(dir, 'secret'), 'bench-network-secret-0123456789');
  const replicas = o.cluster ? ['--replicas', '3'] : [];
  const d = await cli(['deploy', FIXTURE, '--nats', urls, '--waves', 'all', '--wait', '0', ...replicas]);
  if (d.code !== 0) throw new Error(d.err);
  const extra = [
    ...replicas,
    '--do-lease-ms',
    String(LEASE_MS),
    '--log-level',
    'error',
    ...(o.secret ? ['--secret-file', join(dir, 'secret')] : []),
  ];
  const started = await Promise.allSettled(o.pops.map((pop) => startNodeProcess(urls, pop, { extra })));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const n of nodes) n.child.kill('SIGKILL');
    if ('dispose' in nats) await nats.dispose();
    throw failed.reason;
  }
  const nc = await connect({ servers: urls.split(',') });
  const kv = await new Kvm(nc).open(OWNERS_BUCKET);
  return {
    nodes,
    ownerOf: async (name) =>
      (await kv.get(objectKey(NS, idFromName(NS, name))))?.json<{ node: string }>().node ?? null,
    close: async () => {
      for (const n of nodes) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      await nc.close();
      if ('dispose' in nats) await nats.dispose();
      for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function failover(net: Net, name: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
  await call(net.nodes[0].url, `/inc?name=${name}`);
  const id = await net.ownerOf(name);
  const owner = net.nodes.find((n) => n.id === id);
  if (!owner) throw new Error(`the owner ${id} is not one of the nodes`);
  const other = net.nodes.find((n) => n !== owner) as NodeProcess;
  const t0 = performance.now();
  owner.child.kill(signal);
  for (;;) {
    try {
      await call(other.url, `/inc?name=${name}`);
      return performance.now() - t0;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function durableNodesBench(o: { calls: number; seconds: number }) {
  const table: string[] = [];
  const p = (xs: number[]) => ({ p50: median(xs), p99: percentile(xs, 99) });
  const ms = (x: { p50: number; p99: number }) => `p50 ${fmt(x.p50)} ms  p99 ${fmt(x.p99)} ms`;
  // Local objects (no secret): the baseline.
  let local: {
    hello: { p50: number; p99: number };
    write: { p50: number; p99: number };
    read: { p50: number; p99: number };
    rps: number;
  };
  {
    const net = await network({ cluster: false, secret: false, pops: ['FRA'] });
    try {
      const url = net.nodes[0].url;
      local = {
        hello: p(await sequence(url, () => '/hello', o.calls)),
        write: p(await sequence(url, () => '/inc?name=l', o.calls)),
        read: p(await sequence(url, () => '/?name=l', o.calls)),
        rps: await concurrent(url, '/inc?name=lc', o.seconds),
      };
    } finally {
      await net.close();
    }
  }
  const rows: Record<string, unknown> = { local };
  table.push(
    `Local objects (a node without the network secret: SQLite on its disk, fsync per commit), ${o.calls} sequential calls`,
    `  constant worker, no object ${ms(local.hello)}`,
    `  write                     ${ms(local.write)}`,
    `  read                      ${ms(local.read)}`,
    `  writes/s, 32 clients      ${fmt(local.rps, 0)}`,
    '',
  );
  for (const cluster of [false, true]) {
    const label = cluster ? 'R3' : 'R1';
    const net = await network({ cluster, secret: true, pops: ['FRA', 'AMS', 'LHR'] });
    try {
      const [owner, other] = net.nodes;
      const write = p(await sequence(owner.url, () => '/inc?name=r', o.calls));
      const read = p(await sequence(owner.url, () => '/?name=r', o.calls));
      const crossWrite = p(await sequence(other.url, () => '/inc?name=r', o.calls));
      const crossRead = p(await sequence(other.url, () => '/?name=r', o.calls));
      const rps = await concurrent(owner.url, '/inc?name=rc', o.seconds);
      const killed = await failover(net, 'fk', 'SIGKILL');
      rows[label] = { write, read, crossWrite, crossRead, rps, killed };
      table.push(
        `Replicated journal ${label} (${cluster ? 'three-server cluster' : 'one server'}), 3 nodes, ${o.calls} sequential calls`,
        `  write at the owner        ${ms(write)}   (${fmt(write.p50 / local.write.p50)}x local-only ${fmt(local.write.p50)} ms)`,
        `  read at the owner         ${ms(read)}   (${fmt(read.p50 / local.read.p50)}x local-only ${fmt(local.read.p50)} ms)`,
        `  write via another node    ${ms(crossWrite)}   (+${fmt(crossWrite.p50 - write.p50)} ms cross-node)`,
        `  read via another node     ${ms(crossRead)}   (+${fmt(crossRead.p50 - read.p50)} ms cross-node)`,
        `  writes/s, 32 clients      ${fmt(rps, 0)}   (${fmt(rps / local.rps)}x local-only ${fmt(local.rps, 0)})`,
        `  failover, owner SIGKILLed ${fmt(killed, 0)} ms to the first answer elsewhere (lease ${LEASE_MS} ms)`,
        '',
      );
    } finally {
      await net.close();
    }
  }
  {
    const net = await network({ cluster: false, secret: true, pops: ['FRA', 'AMS'] });
    try {
      const stopped = await failover(net, 'ft', 'SIGTERM');
      rows.stopped = stopped;
      table.push(`Failover, owner stopped cleanly (SIGTERM, leases handed back): ${fmt(stopped, 0)} ms`, '');
    } finally {
      await net.close();
    }
  }
  return { table, ...rows };
}
