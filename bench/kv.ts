// KV in-process: a read served from the PoP's cache (the "local replica" read) and a read that
// goes to the store, against a Map lookup behind the same async call (the floor), p50/p99 of
// single calls; and write throughput to the SQLite store and, when nats-server is installed,
// to a JetStream bucket. Measured in this run, no network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvPop, type KvStore, NatsKvStore, SqliteKvStore } from '../src/kv/index.ts';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { fmt, percentile } from './util.ts';

async function timeEach(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

async function writes(store: KvStore, n: number): Promise<number> {
  const pop = new KvPop('BENCH', store);
  const value = new Uint8Array(256).fill(97);
  const t = performance.now();
  for (let i = 0; i < n; i++) await pop.put('bench', `key-${i}`, value);
  return n / ((performance.now() - t) / 1000);
}

export async function kvBench(opts: { reads: number; writes: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-kv-bench-'));
  const table: string[] = [];
  const store = new SqliteKvStore({ file: join(dir, 'kv.sqlite') });
  try {
    const pop = new KvPop('BENCH', store);
    const value = new TextEncoder().encode('x'.repeat(1024));
    for (let i = 0; i < 1000; i++) await pop.put('bench', `k${i}`, value);
    const map = new Map(Array.from({ length: 1000 }, (_, i) => [`k${i}`, value]));
    const floor = async (k: string) => map.get(k);
    // Warm up, then measure.
    await timeEach(opts.reads, (i) => floor(`k${i % 1000}`));
    await timeEach(opts.reads, (i) => pop.get('bench', `k${i % 1000}`));
    const base = await timeEach(opts.reads, (i) => floor(`k${i % 1000}`));
    const hits = await timeEach(opts.reads, (i) => pop.get('bench', `k${i % 1000}`));
    const cold = new KvPop('COLD', store, { cacheTtl: 30 });
    const misses = await timeEach(1000, (i) => cold.get('bench', `k${i}`));
    const row = (label: string, xs: number[]) =>
      `  ${label.padEnd(34)} p50 ${fmt(percentile(xs, 50) * 1000, 1).padStart(6)} µs   p99 ${fmt(percentile(xs, 99) * 1000, 1).padStart(6)} µs`;
    table.push(`KV reads in-process, 1 KB values, ${opts.reads} calls (1,000 for store reads)`);
    table.push(row('Map lookup in an async call (floor)', base));
    table.push(row('PoP cache hit (local replica)', hits));
    table.push(row('store read (SQLite, cache miss)', misses));
    table.push(`  goal: PoP cache hit p99 <= 100 µs: ${percentile(hits, 99) <= 0.1 ? 'met' : 'missed'}`);
    const sqliteRate = await writes(store, opts.writes);
    table.push(`KV writes, 256 B values, one at a time`);
    table.push(`  SQLite store                       ${fmt(sqliteRate, 0).padStart(8)} writes/s`);
    let natsRate: number | null = null;
    try {
      const server = await startNatsServer();
      const nats = await NatsKvStore.connect({ servers: server.url, pop: 'BENCH' });
      try {
        natsRate = await writes(nats, Math.min(opts.writes, 2000));
      } finally {
        await nats.close();
        await server.dispose();
      }
      table.push(
        `  NATS JetStream bucket              ${fmt(natsRate, 0).padStart(8)} writes/s (acknowledged)`,
      );
    } catch (err) {
      table.push(`  NATS JetStream bucket: not measured (${(err as Error).message})`);
    }
    return {
      hitP50: percentile(hits, 50),
      hitP99: percentile(hits, 99),
      floorP99: percentile(base, 99),
      missP99: percentile(misses, 99),
      sqliteWrites: sqliteRate,
      natsWrites: natsRate,
      table,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
