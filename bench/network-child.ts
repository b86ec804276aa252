// Child process for the network bench (needs --expose-gc): the RSS of a world-large network in
// one process with a hello worker deployed — made but idle, then after every PoP has served
// one request (each PoP's runtime, HTTP cache, KV view and the worker's isolate exist) and gone
// idle again.
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { SqliteKvStore } from '../src/kv/index.ts';
import { builtinTopology } from '../src/network/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { DevNetwork } from '../src/pop/network.ts';
import { bundleWorker } from '../src/runtime/index.ts';

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return process.memoryUsage().rss;
};

const config = loadConfig(join(import.meta.dirname, 'fixtures', 'hello'), { warn: () => {} });
const bundle = await bundleWorker(config);
const topology = builtinTopology('world-large');
if (!topology) throw new Error('no world-large topology');
const kvStore = new SqliteKvStore({ file: ':memory:' });
const baseline = await settle();
const net = new DevNetwork({ topology, kvStore, observer: noopObserver, runtime: { poolSize: 0 } });
net.deploy('hello', bundle, config);
const network = await settle();
for (const p of topology.pops) {
  const r = await net
    .node(p.id)
    .runtime.handle('hello', { method: 'GET', url: 'http://bench/', headers: [], cf: {}, body: null });
  if (r.status !== 200) throw new Error(`${p.id} answered ${r.status}`);
}
const active = await settle();
console.log(
  JSON.stringify({
    baseline,
    network,
    active,
    activePops: topology.pops.length,
    perPop: (active - network) / topology.pops.length,
  }),
);
await net.close();
kvStore.close();
process.exit(0);
