// The network's own cost: the full path router → PoP → cache hit (CDN proxy mode over the
// `world-large` topology, clients placed by Outpost-Client-Location in eight cities, latency
// simulation off) against a direct request to a PoP of the same network (Outpost-Pop) and
// against one PoP with no network at all, measured in the same run: throughput with 32
// connections and latency with one, rounds in rotating order (medians). Then the memory of an
// idle world-large network in one process (bench/network-child.ts).
import autocannon from 'autocannon';
import { fmt, median, runChild, startServer } from './util.ts';

const CITIES = ['Frankfurt', 'Mumbai', 'Tokyo', 'Sao Paulo', 'Sydney', 'Lagos', 'Chicago', 'Toronto'];
const BYTES = 1024;

type Variant = 'single' | 'direct' | 'routed';

interface Round {
  rps: number;
  p50: number;
  p99: number;
}

async function round(port: number, variant: Variant, seconds: number, connections: number): Promise<Round> {
  const path = '/asset';
  const requests =
    variant === 'routed'
      ? CITIES.map((c) => ({
          method: 'GET',
          path,
          headers: { 'outpost-client-location': c } as Record<string, string>,
        }))
      : [{ method: 'GET', path, headers: variant === 'direct' ? { 'outpost-pop': 'FRA' } : {} }];
  const r = await autocannon({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench saw ${r.non2xx} non-2xx and ${r.errors} errors`);
  if (r.throughput.total / Math.max(1, r.requests.total) < BYTES) throw new Error('short responses');
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

interface Memory {
  baseline: number;
  network: number;
  active: number;
  activePops: number;
  perPop: number;
}

export async function networkBench(opts: { seconds: number; rounds: number }) {
  const single = await startServer('proxy', [String(BYTES)]);
  const net = await startServer('proxy', [String(BYTES), 'world-large']);
  const port = (v: Variant) => (v === 'single' ? single.port : net.port);
  const table: string[] = [];
  try {
    const variants: Variant[] = ['single', 'direct', 'routed'];
    // Warm: JIT, and every PoP's cache filled through its shield.
    for (const v of variants) await round(port(v), v, 1, 8);
    const results = {
      load: { single: [], direct: [], routed: [] } as Record<Variant, Round[]>,
      one: { single: [], direct: [], routed: [] } as Record<Variant, Round[]>,
    };
    for (let i = 0; i < opts.rounds; i++) {
      // Rotate the order so drift and first-of-a-set effects hit every variant alike.
      const order = variants.map((_, k) => variants[(k + i) % variants.length]);
      for (const v of order) results.load[v].push(await round(port(v), v, opts.seconds, 32));
      for (const v of order) results.one[v].push(await round(port(v), v, Math.max(2, opts.seconds / 2), 1));
    }
    const m = (rs: Round[], k: keyof Round) => median(rs.map((r) => r[k]));
    const label: Record<Variant, string> = {
      single: 'one PoP, no network',
      direct: 'world-large, Outpost-Pop: FRA',
      routed: 'world-large, routed (8 cities)',
    };
    table.push(
      `Network front: CDN proxy mode cache hits (1 KB), ${opts.rounds} rounds in rotating order (medians)`,
    );
    for (const v of variants)
      table.push(
        `  ${label[v].padEnd(32)} ${fmt(m(results.load[v], 'rps'), 0).padStart(7)} req/s (32 conn)   ` +
          `1 conn: ${fmt(m(results.one[v], 'rps'), 0).padStart(6)} req/s, mean ${fmt(1e6 / m(results.one[v], 'rps'), 0)} µs per request`,
      );
    const ratio = (a: Variant, b: Variant) => m(results.load[a], 'rps') / m(results.load[b], 'rps');
    const added = (a: Variant, b: Variant) =>
      (1000 / m(results.one[a], 'rps') - 1000 / m(results.one[b], 'rps')) * 1000;
    table.push(
      `  routed/direct ${fmt(ratio('routed', 'direct'))}x, routed/one PoP ${fmt(ratio('routed', 'single'))}x; ` +
        `added per request (1 conn, from mean latency): routing ${fmt(added('routed', 'direct'), 0)} µs, ` +
        `network vs one PoP ${fmt(added('routed', 'single'), 0)} µs`,
    );
    const mem = await runChild<Memory>('network-child.ts', [], ['--expose-gc']);
    const mb = (b: number) => `${fmt(b / 1024 / 1024, 1)} MB`;
    table.push(
      `Memory (RSS) of an idle world-large network in one process (hello worker deployed)`,
      `  process before the network      ${mb(mem.baseline)}`,
      `  network made, no traffic         +${mb(mem.network - mem.baseline)}`,
      `  all ${mem.activePops} PoPs have served once   +${mb(mem.active - mem.baseline)} (${mb(mem.perPop)} per PoP: its runtime, caches and the worker's isolate)`,
    );
    return {
      load: results.load,
      one: results.one,
      routedVsDirect: ratio('routed', 'direct'),
      routedVsSingle: ratio('routed', 'single'),
      memory: mem,
      table,
    };
  } finally {
    single.child.kill();
    net.child.kill();
  }
}
