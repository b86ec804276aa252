// Cold start: from the first request for a new tenant to its response, over many tenants.
// Baseline in the same run: making an isolate from scratch (no warm pool) and loading the
// same tenant in it.
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median, percentile } from './util.ts';

const request = { method: 'GET', url: 'http://bench.example/', headers: [], cf: {}, body: null };

export async function coldstart(opts: { tenants: number; gapMs: number }) {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'hello'), { warn: () => {} });
  const bundle = await bundleWorker(config);

  async function measure(poolSize: number, n: number, gapMs: number): Promise<number[]> {
    const rt = new Runtime({ observer: noopObserver, poolSize });
    try {
      if (poolSize > 0) await rt.prewarm();
      // One tenant first so the bundle's code cache exists (one compile per version, not per tenant).
      rt.deploy('seed', bundle, config);
      await rt.handle('seed', request);
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        rt.deploy(`t${i}`, bundle, { ...config, vars: { I: String(i) } });
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        const t0 = performance.now();
        await rt.handle(`t${i}`, request);
        times.push(performance.now() - t0);
      }
      return times;
    } finally {
      await rt.close();
    }
  }

  const scratch = await measure(0, Math.min(100, opts.tenants), 0);
  const paced = await measure(4, opts.tenants, opts.gapMs);
  const burst = await measure(16, opts.tenants, 0);
  const stats = (xs: number[]) => ({ p50: median(xs), p99: percentile(xs, 99) });
  const s = stats(scratch);
  const p = stats(paced);
  const b = stats(burst);
  return {
    scratch: s,
    paced: p,
    burst: b,
    ratio: p.p50 / s.p50,
    table: [
      `cold start, first request of a new tenant → response (${opts.tenants} tenants)`,
      `  from scratch (no pool, baseline)    p50 ${fmt(s.p50)} ms   p99 ${fmt(s.p99)} ms`,
      `  warm pool, ${opts.gapMs} ms between tenants   p50 ${fmt(p.p50)} ms   p99 ${fmt(p.p99)} ms   (goal p99 <= 2 ms)`,
      `  warm pool, back to back (pool of 16) p50 ${fmt(b.p50)} ms   p99 ${fmt(b.p99)} ms`,
      `  ratio warm-pool/scratch p50: ${fmt(p.p50 / s.p50)}x`,
    ],
  };
}
