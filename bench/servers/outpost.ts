// The hello-world worker behind Outpost's PoP front, in its own process like the baseline.
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { devCf, startPopServer } from '../../src/pop/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';

const config = loadConfig(join(import.meta.dirname, '..', 'fixtures', 'hello'), { warn: () => {} });
const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
runtime.deploy('hello', await bundleWorker(config), config);
await runtime.warm('hello');
const server = await startPopServer({
  runtime,
  route: () => 'hello',
  port: 0,
  cf: devCf,
  observer: noopObserver,
});
process.send?.({ port: server.port });
process.on('SIGINT', () => process.exit(0));
