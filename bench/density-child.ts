// One process of the density bench (bench/density.ts): a PoP server handed its connections by
// the bench's primary (src/network/affinity.ts, as in `outpost node --processes N`), serving
// tenant t<i> for host t<i>.density.test, each deployed on its first request (hello world with
// a var of its own: one bundle, distinct configs). Asked for its figures, it settles (GC) first.
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { READY_MESSAGE } from '../src/network/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { devCf, startPopServer } from '../src/pop/index.ts';
import { bundleWorker, OutpostError, Runtime } from '../src/runtime/index.ts';

const config = loadConfig(join(import.meta.dirname, 'fixtures', 'hello'), { warn: () => {} });
const bundle = await bundleWorker(config);
// Heap room for every tenant this process gets (eviction would measure something else); the
// count of isolates stays capped by what one process can map (src/runtime/capacity.ts).
const rt = new Runtime({ observer: noopObserver, memoryBudgetMb: 64_000 });
const deployed = new Set<string>();
const server = await startPopServer({
  runtime: rt,
  route: (req) => {
    const m = /^(t\d+)\.density\.test$/.exec((req.headers.host ?? '').split(':')[0] as string);
    if (!m) return new OutpostError('NO_SUCH_WORKER', `no tenant for host ${req.headers.host}`);
    const tenant = m[1] as string;
    if (!deployed.has(tenant)) {
      rt.deploy(tenant, bundle, { ...config, vars: { I: tenant } });
      deployed.add(tenant);
    }
    return tenant;
  },
  handed: { slot: Number(process.env.DENSITY_SLOT), of: Number(process.env.DENSITY_OF) },
  port: 0,
  cf: devCf,
  observer: noopObserver,
});

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage().rss;
};

process.on('message', async (m: { type?: string }) => {
  if (m?.type !== 'density:figures') return;
  const rss = await settle();
  const s = rt.stats();
  process.send?.({
    type: 'density:figures',
    rss,
    isolates: s.isolates,
    evictions: s.evictions,
    heap: s.heapBytes,
  });
});
process.on('disconnect', async () => {
  await server.close();
  await rt.close();
  process.exit(0);
});
await rt.prewarm().catch(() => {});
process.send?.(READY_MESSAGE);
