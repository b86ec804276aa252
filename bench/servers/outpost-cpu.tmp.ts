import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { devCf, startPopServer } from '../../src/pop/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';

const config = loadConfig(join(import.meta.dirname, '..', 'fixtures', 'hello'), { warn: () => {} });
const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
runtime.deploy('hello', await bundleWorker(config), config);
await runtime.warm('hello');
let n = 0;
const server = await startPopServer({
  runtime,
  route: () => {
    n++;
    return 'hello';
  },
  port: 0,
  cf: devCf,
  observer: noopObserver,
});
const inst: any = [...((runtime as any)['_lruForDebug'] ?? [])];
process.send?.({ port: server.port });
const c0 = process.cpuUsage();
process.on('message', () => {
  const c = process.cpuUsage(c0);
  console.error(
    JSON.stringify({
      requests: n,
      processCpuUsPerReq: (c.user + c.system) / n,
      isolateUsPerReq: (runtime.stats().isolateCpuMs * 1000) / n,
      meanBatch: runtime.stats().meanBatch,
    }),
  );
  process.exit(0);
});
