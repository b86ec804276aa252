// Cold start: from the first request for a new tenant to its response, over many tenants.
// Baseline in the same run: making an isolate from scratch (no warm pool) and loading the
// same tenant in it.
//
// Two kinds of tenant: the hello worker, every tenant the same code (one compile, then V8's
// code cache), and a Hono app whose code differs per tenant (a comment naming the tenant: a
// code cache miss and a full compile each time, as with real tenants), and the same on one code. Arrivals: one every
// `gapMs` (each answered before the next), back to back, and a burst of 100 new tenants within
// one second (one every 10 ms, not waiting for answers: they overlap when slow), alone or
// after a burst like it (the warm pool grows to what bursts ask for: src/runtime/pool-demand.ts).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { type Bundle, bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median, percentile } from './util.ts';

const request = (path: string) => ({
  method: 'GET',
  url: `http://bench.example${path}`,
  headers: [],
  cf: {},
  body: null,
});

type Config = ReturnType<typeof loadConfig>;
interface Kind {
  name: string;
  path: string;
  config: Config;
  /** Tenant i's bundle. */
  bundle(i: number): Bundle;
}

async function kind(fixture: string, path: string, distinct: boolean): Promise<Kind> {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', fixture), { warn: () => {} });
  // The repository is the build root: fixtures import its hoisted node_modules (hono).
  const base = await bundleWorker(config, { root: join(import.meta.dirname, '..') });
  return {
    name: fixture,
    path,
    config,
    bundle(i) {
      if (!distinct) return base;
      const code = `${base.code}\n// tenant ${i}\n`;
      return { ...base, code, hash: createHash('sha256').update(code).digest('hex') };
    },
  };
}

type Arrival =
  | { gapMs: number }
  | 'back-to-back'
  | {
      burst: number;
      withinMs: number;
      /** A first burst this long before the one timed, ms. */
      after?: number;
    };

/**
 * Times of the tenants' first requests; a request that failed is not timed but counted in
 * `failures` (a burst overloads the cores: see the burst row).
 */
async function measure(
  k: Kind,
  poolSize: number,
  n: number,
  arrival: Arrival,
  failures: string[] = [],
): Promise<number[]> {
  const rt = new Runtime({ observer: noopObserver, poolSize });
  try {
    if (poolSize > 0) await rt.prewarm();
    // One tenant first: the runtime's own first-use costs are not a tenant's cold start.
    rt.deploy('seed', k.bundle(-1), k.config);
    await rt.handle('seed', request(k.path));
    const one = async (i: number) => {
      rt.deploy(`t${i}`, k.bundle(i), { ...k.config, vars: { I: String(i) } });
      const t0 = performance.now();
      const r = await rt.handle(`t${i}`, request(k.path));
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`tenant t${i} answered ${r.status}`);
      return ms;
    };
    const times: number[] = [];
    if (typeof arrival === 'object' && 'burst' in arrival) {
      // Tenants `from` to `from + burst - 1`, on a schedule.
      const burst = async (from: number, fail: string[]) => {
        const step = arrival.withinMs / arrival.burst;
        const start = performance.now();
        const all: Promise<number | null>[] = [];
        for (let i = 0; i < arrival.burst; i++) {
          const wait = start + i * step - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          // Caught at once: the others are still being sent.
          all.push(
            one(from + i).catch((err: Error) => {
              fail.push(`t${from + i}: ${err.message}`);
              return null;
            }),
          );
        }
        return (await Promise.all(all)).filter((ms) => ms !== null);
      };
      // Let the pool fill after the seed, then the burst arrives.
      await new Promise((r) => setTimeout(r, 500));
      if (arrival.after !== undefined) {
        await burst(0, []);
        await new Promise((r) => setTimeout(r, arrival.after));
      }
      times.push(...(await burst(arrival.burst, failures)));
      return times;
    }
    for (let i = 0; i < n; i++) {
      if (arrival !== 'back-to-back') await new Promise((r) => setTimeout(r, arrival.gapMs));
      times.push(await one(i));
    }
    return times;
  } finally {
    await rt.close();
  }
}

/**
 * Tenants deployed as a node deploys them (Runtime.stage: loaded before any request, the code
 * cache made from the top level then, and again after the first request), each:
 *  - `served`: its first request after the deploy (the staged isolate: warm);
 *  - `back`: evicted after that, then asked again (a cold start from the cache its deploy and
 *    first request made);
 *  - `never`: another tenant, deployed then evicted before any request, then asked (a cold
 *    start from the cache of its top level alone).
 * `maxIsolates: 1` makes each load evict every other idle isolate; another tenant's load (the
 * hello worker) evicts the one just used. Each cold start measured is checked to be a load
 * that used a cache.
 */
async function deployedAhead(
  k: Kind,
  filler: Kind,
  n: number,
  gapMs: number,
): Promise<{ served: number[]; back: number[]; never: number[] }> {
  const rt = new Runtime({ observer: noopObserver, poolSize: 4, maxIsolates: 1 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ask = async (tenant: string, path: string) => {
    const t0 = performance.now();
    const r = await rt.handle(tenant, request(path));
    if (r.status !== 200) throw new Error(`tenant ${tenant} answered ${r.status}`);
    return performance.now() - t0;
  };
  const cold = async (tenant: string) => {
    await ask('filler', filler.path); // loads the filler: evicts the tenant 20 ms later
    for (let i = 0; i < 200 && rt.stats().isolates > 1; i++) await sleep(5);
    await sleep(gapMs);
    const hits = rt.stats().codeCacheHits;
    const ms = await ask(tenant, k.path);
    if (rt.stats().codeCacheHits === hits) throw new Error(`${tenant}: not a load from the code cache`);
    return ms;
  };
  const deploy = (tenant: string, i: number) =>
    rt.stage(tenant, k.bundle(i), { ...k.config, vars: { I: String(i) } });
  try {
    await rt.prewarm();
    rt.deploy('filler', filler.bundle(0), filler.config);
    const out = { served: [] as number[], back: [] as number[], never: [] as number[] };
    for (let i = 0; i < n; i++) {
      await deploy(`t${i}`, i);
      await sleep(gapMs);
      out.served.push(await ask(`t${i}`, k.path));
      await sleep(gapMs); // the cache made again after that request
      out.back.push(await cold(`t${i}`));
      await deploy(`u${i}`, n + i);
      out.never.push(await cold(`u${i}`));
    }
    return out;
  } finally {
    await rt.close();
  }
}

export async function coldstart(opts: { tenants: number; gapMs: number }) {
  const stats = (xs: number[]) => ({ p50: median(xs), p99: percentile(xs, 99) });
  const line = (label: string, s: { p50: number; p99: number }, goal = '') =>
    `  ${label.padEnd(44)} p50 ${fmt(s.p50).padStart(6)} ms   p99 ${fmt(s.p99).padStart(6)} ms${goal ? `   (goal ${goal})` : ''}`;

  const hello = await kind('hello', '/', false);
  const scratch = stats(await measure(hello, 0, Math.min(100, opts.tenants), 'back-to-back'));
  const paced = stats(await measure(hello, 4, opts.tenants, { gapMs: opts.gapMs }));
  const burst = stats(await measure(hello, 16, opts.tenants, 'back-to-back'));

  const hono = await kind('hono', '/api/users/7', true);
  const honoScratch = stats(await measure(hono, 0, Math.min(100, opts.tenants), 'back-to-back'));
  const honoPaced = stats(await measure(hono, 4, opts.tenants, { gapMs: opts.gapMs }));
  const burstFailures: string[] = [];
  const honoBurst = stats(await measure(hono, 4, 100, { burst: 100, withinMs: 1000 }, burstFailures));
  // The same burst 5 s after one like it: the pool has grown to what the first asked for.
  const againFailures: string[] = [];
  const honoAgain = stats(
    await measure(hono, 4, 100, { burst: 100, withinMs: 1000, after: 5000 }, againFailures),
  );
  // The same app on one code for every tenant: from the second on, a code cache hit (what a
  // version's second isolate, each of its Durable Objects, or an evicted tenant's return gets).
  const honoSame = stats(
    await measure(await kind('hono', '/api/users/7', false), 4, opts.tenants, { gapMs: opts.gapMs }),
  );
  const ahead = await deployedAhead(hono, hello, Math.min(200, opts.tenants), opts.gapMs);
  const deployed = { served: stats(ahead.served), back: stats(ahead.back), never: stats(ahead.never) };

  return {
    scratch,
    paced,
    burst,
    hono: {
      scratch: honoScratch,
      paced: honoPaced,
      burst: honoBurst,
      burstFailures: burstFailures.length,
      burstAgain: honoAgain,
      burstAgainFailures: againFailures.length,
      sameCode: honoSame,
      deployed,
    },
    ratio: paced.p50 / scratch.p50,
    table: [
      `cold start, first request of a new tenant → response (${opts.tenants} tenants; a burst is 100)`,
      ' the hello worker, the same code for every tenant',
      line('from scratch (no pool, baseline)', scratch),
      line(`warm pool, ${opts.gapMs} ms between tenants`, paced, 'p99 <= 2 ms'),
      line('warm pool, back to back (pool of 16)', burst),
      ' a Hono app, different code for every tenant (a code cache miss each)',
      line('from scratch (no pool, baseline)', honoScratch),
      line(`warm pool, ${opts.gapMs} ms between tenants`, honoPaced, 'p50 <= 1 ms, p99 <= 2 ms'),
      line('warm pool, 100 new tenants within 1 s', honoBurst, 'p99 <= 5 ms'),
      ...(burstFailures.length
        ? [`    ${burstFailures.length} of the burst's 100 failed, e.g. ${burstFailures[0]}`]
        : []),
      line('the same, 5 s after a burst like it', honoAgain, 'p99 <= 5 ms'),
      ...(againFailures.length
        ? [`    ${againFailures.length} of the second burst's 100 failed, e.g. ${againFailures[0]}`]
        : []),
      ' the Hono app, the same code for every tenant (a code cache hit from the second)',
      line(`warm pool, ${opts.gapMs} ms between tenants`, honoSame),
      ' the Hono app, different code each, deployed as a node deploys (loaded and cached then)',
      line('first request after the deploy', deployed.served),
      line('back after eviction, served before', deployed.back, 'p50 <= 1 ms, p99 <= 2 ms'),
      line('back after eviction, never served', deployed.never),
      `  ratio warm-pool/scratch p50: hello ${fmt(paced.p50 / scratch.p50)}x, Hono ${fmt(honoPaced.p50 / honoScratch.p50)}x`,
    ],
  };
}
