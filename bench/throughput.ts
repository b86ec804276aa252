// Requests/s and latency of a bench worker vs a plain node:http server doing the same work,
// measured in the same run with the same client (autocannon in this process, each server in its
// own process). Scenarios: hello world, a Hono JSON route, a 1 MB streamed response.
import autocannon from 'autocannon';
import { fmt, median, startServer } from './util.ts';

interface Round {
  rps: number;
  p50: number;
  p99: number;
}

export interface Scenario {
  /** bench/fixtures/<name> and the baseline's mode in bench/servers/plain.ts. */
  name: 'hello' | 'hono' | 'stream' | 'cache1k' | 'cache100k' | 'kvread' | 'dofetch' | 'dorpc';
  path: string;
  label: string;
  /** Bytes each response must carry (checked, so a broken server cannot look fast). */
  bytes: number;
  /** The Outpost side: bench/servers/<server>.ts with these arguments (default: outpost <name>). */
  server?: [string, string[]];
  /** The baseline (default: plain <name>, a node:http server doing the same work). */
  baseline?: [string, string[], string];
  goal?: number;
}

export const SCENARIOS: Scenario[] = [
  { name: 'hello', path: '/', label: 'hello world', bytes: 12, goal: 0.7 },
  { name: 'hono', path: '/api/users/42?fields=name', label: 'Hono JSON route', bytes: 38, goal: 0.7 },
  { name: 'stream', path: '/', label: '1 MB streamed in 16 KB chunks', bytes: 1024 * 1024 },
  {
    name: 'cache1k',
    path: '/asset',
    label: 'CDN proxy mode, cache hits, 1 KB',
    bytes: 1024,
    server: ['proxy', ['1024']],
    goal: 0.9,
  },
  {
    name: 'cache100k',
    path: '/asset',
    label: 'CDN proxy mode, cache hits, 100 KB',
    bytes: 100 * 1024,
    server: ['proxy', [String(100 * 1024)]],
    goal: 0.9,
  },
  {
    name: 'kvread',
    path: '/',
    label: 'a worker answering with a KV value (PoP cache hit) vs one answering a constant',
    bytes: 12,
    server: ['outpost', ['kv']],
    baseline: ['outpost', ['hello'], 'constant worker'],
  },
];

async function round(
  port: number,
  path: string,
  bytes: number,
  seconds: number,
  connections: number,
): Promise<Round> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench saw ${r.non2xx} non-2xx and ${r.errors} errors`);
  // Each response must carry its bytes (so a broken server cannot look fast). The responses
  // still in flight when the round ends (one per connection) may be counted with part of their
  // bytes: a 1 MB round once came to 64 bytes short on average that way, every body whole.
  const perResponse = r.throughput.total / Math.max(1, r.requests.total);
  const floor = (bytes * Math.max(0, r.requests.total - connections)) / Math.max(1, r.requests.total);
  if (perResponse < floor)
    throw new Error(`responses carried ${perResponse.toFixed(0)} bytes, expected ${bytes}+`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/** One Durable Object called by every request (the seed's hot spot), against a constant worker. */
export const DO_SCENARIOS: Scenario[] = [
  {
    name: 'dofetch',
    path: '/fetch',
    label: 'requests to one Durable Object by stub.fetch() vs a worker answering a constant',
    bytes: 1,
    server: ['outpost', ['durable']],
    baseline: ['outpost', ['hello'], 'constant worker'],
  },
  {
    name: 'dorpc',
    path: '/rpc',
    label: 'requests to one Durable Object by RPC vs a worker answering a constant',
    bytes: 1,
    server: ['outpost', ['durable']],
    baseline: ['outpost', ['hello'], 'constant worker'],
  },
];

export async function throughput(
  opts: { seconds: number; rounds: number; connections: number },
  scenario: Scenario = SCENARIOS[0],
) {
  const [baseServer, baseArgs, baseLabel] = scenario.baseline ?? ['plain', [scenario.name], 'node:http'];
  const plain = await startServer(baseServer, baseArgs);
  const [server, args] = scenario.server ?? ['outpost', [scenario.name]];
  const outpost = await startServer(server, args);
  const run = (port: number, seconds: number) =>
    round(port, scenario.path, scenario.bytes, seconds, opts.connections);
  try {
    // Warm both (JIT, pools, connections) before measuring.
    await run(plain.port, 1);
    await run(outpost.port, 1);
    const results: Record<'plain' | 'outpost', Round[]> = { plain: [], outpost: [] };
    for (let i = 0; i < opts.rounds; i++) {
      // ABBA order: drift in machine load, and whatever favours the first run of a pair (seen
      // here: up to 1.5x on identical servers), hit both alike.
      const order = i % 2 === 0 ? (['plain', 'outpost'] as const) : (['outpost', 'plain'] as const);
      for (const which of order)
        results[which].push(await run(which === 'plain' ? plain.port : outpost.port, opts.seconds));
    }
    const summary = (rs: Round[]) => ({
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    });
    const p = summary(results.plain);
    const o = summary(results.outpost);
    return {
      plain: p,
      outpost: o,
      ratio: o.rps / p.rps,
      table: [
        `${scenario.label}, ${opts.connections} connections, ${opts.rounds} × ${opts.seconds} s rounds in ABBA order (medians)`,
        `  ${baseLabel.padEnd(15)}${fmt(p.rps, 0).padStart(8)} req/s   p50 ${fmt(p.p50, 1)} ms   p99 ${fmt(p.p99, 1)} ms`,
        `  outpost        ${fmt(o.rps, 0).padStart(8)} req/s   p50 ${fmt(o.p50, 1)} ms   p99 ${fmt(o.p99, 1)} ms`,
        `  ratio outpost/${baseLabel}: ${fmt(o.rps / p.rps)}x${scenario.goal ? ` (goal >= ${fmt(scenario.goal)}x)` : ''}`,
      ],
    };
  } finally {
    plain.child.kill();
    outpost.child.kill();
  }
}
