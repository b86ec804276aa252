// Child process for the memory bench (needs --expose-gc): loads N tenants (or N bare isolates
// for the baseline), lets them go idle, and prints the RSS each one adds.
import { join } from 'node:path';
import ivm from 'isolated-vm';
import { loadConfig } from '../src/config/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';

const [mode, nArg] = process.argv.slice(2);
const n = Number(nArg);
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as any).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage().rss;
};

if (mode === 'bare') {
  const before = await settle();
  const keep: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const iso = new ivm.Isolate({ memoryLimit: 128 });
    const ctx = iso.createContextSync();
    ctx.evalSync('globalThis.handler = () => "Hello World!"; handler()');
    keep.push(iso, ctx);
  }
  const after = await settle();
  console.log(JSON.stringify({ perTenant: (after - before) / n }));
} else {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'hello'), { warn: () => {} });
  const bundle = await bundleWorker(config);
  const rt = new Runtime({ observer: noopObserver, poolSize: 0 });
  rt.deploy('seed', bundle, config);
  await rt.handle('seed', { method: 'GET', url: 'http://b/', headers: [], cf: {}, body: null });
  const before = await settle();
  for (let i = 0; i < n; i++) {
    rt.deploy(`t${i}`, bundle, { ...config, vars: { I: String(i) } });
    await rt.handle(`t${i}`, { method: 'GET', url: 'http://b/', headers: [], cf: {}, body: null });
  }
  const after = await settle();
  const s = rt.stats();
  console.log(
    JSON.stringify({
      perTenant: (after - before) / n,
      isolates: s.isolates,
      heapPerTenant: s.heapBytes / s.isolates,
    }),
  );
}
