// Requests/s and latency of a hello-world worker vs a plain node:http server, measured in the
// same run with the same client (autocannon in this process, each server in its own process).
import autocannon from 'autocannon';
import { fmt, median, startServer } from './util.ts';

interface Round {
  rps: number;
  p50: number;
  p99: number;
}

async function round(port: number, seconds: number, connections: number): Promise<Round> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bench saw ${r.non2xx} non-2xx and ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

export async function throughput(opts: { seconds: number; rounds: number; connections: number }) {
  const plain = await startServer('plain');
  const outpost = await startServer('outpost');
  try {
    // Warm both (JIT, pools, connections) before measuring.
    await round(plain.port, 1, opts.connections);
    await round(outpost.port, 1, opts.connections);
    const results: Record<'plain' | 'outpost', Round[]> = { plain: [], outpost: [] };
    for (let i = 0; i < opts.rounds; i++) {
      // ABBA order: drift in machine load, and whatever favours the first run of a pair (seen
      // here: up to 1.5x on identical servers), hit both alike.
      const order = i % 2 === 0 ? (['plain', 'outpost'] as const) : (['outpost', 'plain'] as const);
      for (const which of order)
        results[which].push(
          await round(which === 'plain' ? plain.port : outpost.port, opts.seconds, opts.connections),
        );
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
        `hello world, ${opts.connections} connections, ${opts.rounds} × ${opts.seconds} s rounds in ABBA order (medians)`,
        `  node:http      ${fmt(p.rps, 0).padStart(8)} req/s   p50 ${fmt(p.p50, 1)} ms   p99 ${fmt(p.p99, 1)} ms`,
        `  outpost worker ${fmt(o.rps, 0).padStart(8)} req/s   p50 ${fmt(o.p50, 1)} ms   p99 ${fmt(o.p99, 1)} ms`,
        `  ratio outpost/node:http: ${fmt(o.rps / p.rps)}x (goal >= 0.70x)`,
      ],
    };
  } finally {
    plain.child.kill();
    outpost.child.kill();
  }
}
