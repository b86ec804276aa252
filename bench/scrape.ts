// Metrics scrape time: GET /__outpost/metrics on a PoP with 1,000 workers loaded, each having
// answered requests (so every per-worker series exists), against the same PoP with one worker,
// measured in the same run. Medians of many scrapes; the scrape is what Prometheus does every
// 15 s, so what matters is that it stays far below that and does not stall requests.
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { EdgeMetrics, noopObserver } from '../src/observability/index.ts';
import { devCf, startPopServer } from '../src/pop/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median, percentile } from './util.ts';

const TOKEN = 'bench-admin-token-0123456789';

async function measure(workers: number, scrapes: number) {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'hello'), { warn: () => {} });
  const bundle = await bundleWorker(config);
  const rt = new Runtime({ observer: noopObserver, poolSize: 4, maxIsolates: workers + 10 });
  const metrics = new EdgeMetrics(() => {
    const st = rt.stats();
    return [
      { pop: 'BENCH', isolates: st.isolates, busy: st.busy, pooled: st.pooled, evictions: st.evictions },
    ];
  });
  const server = await startPopServer({
    runtime: rt,
    metrics: metrics,
    // The worker is the first path segment: /w17/ → w17.
    route: (req) => (req.url ?? '/').split('/')[1] || 'w0',
    port: 0,
    cf: devCf,
    popId: 'BENCH',
    adminToken: TOKEN,
    observer: noopObserver,
  });
  try {
    for (let i = 0; i < workers; i++) rt.deploy(`w${i}`, bundle, config);
    // Every worker answers twice (2xx) and once 404-free: each gets its series.
    for (let i = 0; i < workers; i += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, workers - i) }, async (_, k) => {
          for (let j = 0; j < 2; j++) await (await fetch(`${server.url}/w${i + k}/`)).text();
        }),
      );
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < scrapes; i++) {
      const t0 = performance.now();
      const text = await (
        await fetch(`${server.url}/__outpost/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      times.push(performance.now() - t0);
      bytes = text.length;
    }
    return { p50: median(times), p99: percentile(times, 99), bytes, isolates: rt.stats().isolates };
  } finally {
    await server.close();
    await rt.close();
  }
}

export async function scrapeBench(opts: { workers: number; scrapes: number }) {
  const one = await measure(1, opts.scrapes);
  const many = await measure(opts.workers, opts.scrapes);
  return {
    one,
    many,
    ratio: many.p50 / one.p50,
    table: [
      `metrics scrape (GET /__outpost/metrics), ${opts.scrapes} scrapes each`,
      `  1 worker (baseline)      p50 ${fmt(one.p50)} ms   p99 ${fmt(one.p99)} ms   ${fmt(one.bytes / 1024, 1)} KB`,
      `  ${opts.workers} workers loaded (${many.isolates} isolates)  p50 ${fmt(many.p50)} ms   p99 ${fmt(many.p99)} ms   ${fmt(many.bytes / 1024, 1)} KB   (${fmt(many.p50 / one.p50, 1)}x the baseline)`,
    ],
  };
}
