// Durable Objects: requests/s to one object by stub.fetch() and by RPC (against a constant
// worker in the same run, bench/throughput.ts), storage operations/s inside an object (against
// a Map in the same loop), and the sharded rate limiter's fix for a hot object: requests/s as
// one key is spread over 1, 2, 4, 8 objects (each object is an isolate of its own, so shards
// can use more cores), and one object with 256 connections (every call must be answered).
import autocannon from 'autocannon';
import { DO_SCENARIOS, throughput } from './throughput.ts';
import { fmt, median, startServer } from './util.ts';

async function get(port: number, path: string): Promise<{ ms: number }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { ms: number };
}

export async function durableBench(opts: { seconds: number; rounds: number; ops: number }) {
  const table: string[] = [];
  const results: Record<string, unknown> = {};
  for (const s of DO_SCENARIOS) {
    const r = await throughput({ seconds: opts.seconds, rounds: opts.rounds, connections: 32 }, s);
    table.push(...r.table);
    results[s.name] = r;
  }
  const srv = await startServer('outpost', ['durable']);
  try {
    // Timed from here: inside the isolate the clock stands still while code runs (it moves with
    // I/O only), so the loop cannot time itself. The same request with no operations is the
    // baseline subtracted.
    const timed = async (path: string) => {
      const t = performance.now();
      await get(srv.port, path);
      return performance.now() - t;
    };
    const rate = async (kind: string) => {
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const base = await timed(`/ops?kind=${kind}&count=0`);
        runs.push(Math.max(0.001, (await timed(`/ops?kind=${kind}&count=${opts.ops}`)) - base));
      }
      return opts.ops / (median(runs) / 1000);
    };
    await rate('put'); // warm
    await rate('put-text');
    const ops = {
      put: await rate('put'),
      get: await rate('get'),
      getCached: await rate('get-text'),
      mapSet: await rate('map-set'),
      mapGet: await rate('map-get'),
      mapGetCopy: await rate('map-get-copy'),
    };
    results.ops = ops;
    table.push(
      `Durable Object storage inside one object, ${opts.ops} awaited operations per run, 100-byte values, median of 5 (less an empty run)`,
      `  put  ${fmt(ops.put, 0).padStart(9)} ops/s   (Map.set + structuredClone in the same loop: ${fmt(ops.mapSet, 0)} ops/s, ratio ${fmt(ops.put / ops.mapSet)}x)`,
      `  get  ${fmt(ops.get, 0).padStart(9)} ops/s   of an object value, from the object's storage cache, a copy each time (Map.get + structuredClone in the same loop: ${fmt(ops.mapGetCopy, 0)} ops/s, ratio ${fmt(ops.get / ops.mapGetCopy)}x)`,
      `  get  ${fmt(ops.getCached, 0).padStart(9)} ops/s   of a string value, from the object's storage cache (ratio to Map.get ${fmt(ops.getCached / ops.mapGet)}x)`,
    );
    const shards: Record<number, number> = {};
    for (const n of [1, 2, 4, 8]) {
      const path = `/shard?n=${n}`;
      await autocannon({ url: `http://127.0.0.1:${srv.port}${path}`, connections: 32, duration: 1 });
      const rs: number[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        const r = await autocannon({
          url: `http://127.0.0.1:${srv.port}${path}`,
          connections: 32,
          duration: opts.seconds,
        });
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`shards ${n}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        rs.push(r.requests.average);
      }
      shards[n] = median(rs);
    }
    results.shards = shards;
    table.push(
      `One hot key spread over N objects (RPC), 32 connections, ${opts.rounds} × ${opts.seconds} s (medians)`,
      ...Object.entries(shards).map(
        ([n, rps]) =>
          `  ${n.padStart(2)} object${n === '1' ? ' ' : 's'}  ${fmt(rps, 0).padStart(7)} req/s   ${fmt(rps / shards[1])}x`,
      ),
    );
    // The hot object under many clients at once: every call answered, none refused or failed.
    const crowd = await autocannon({
      url: `http://127.0.0.1:${srv.port}/rpc`,
      connections: 256,
      duration: opts.seconds,
    });
    results.crowd = {
      rps: crowd.requests.average,
      p99: crowd.latency.p99,
      errors: crowd.errors,
      timeouts: crowd.timeouts,
      non2xx: crowd.non2xx,
    };
    table.push(
      `One hot object by RPC with 256 connections, ${opts.seconds} s`,
      `  ${fmt(crowd.requests.average, 0).padStart(9)} req/s   p99 ${fmt(crowd.latency.p99, 1)} ms   ${crowd.errors} errors (${crowd.timeouts} timeouts), ${crowd.non2xx} non-2xx (goal: 0 and 0)`,
    );
  } finally {
    srv.child.kill();
  }
  return { ...results, table };
}
