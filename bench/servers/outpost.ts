// A bench worker (bench/fixtures/<name>) behind Outpost's PoP front, in its own process like
// the baseline.
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { devCf, startPopServer } from '../../src/pop/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';

const fixture = process.argv[2] ?? 'hello';
const config = loadConfig(join(import.meta.dirname, '..', 'fixtures', fixture), { warn: () => {} });
const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
runtime.deploy(fixture, await bundleWorker(config), config);
await runtime.warm(fixture);
const server = await startPopServer({
  runtime,
  route: () => fixture,
  port: 0,
  cf: devCf,
  observer: noopObserver,
});
process.send?.({ port: server.port });
process.on('SIGINT', () => process.exit(0));
