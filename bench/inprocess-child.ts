// One fixture's requests given to the runtime in this process, with no HTTP in front
// (bench/inprocess.ts): 64 at a time, for `seconds`, `rounds` times. Prints, as JSON, each
// round's requests/s and CPU per request of the whole process and of its main thread, read
// from /proc. The process pins itself to core 0 first (isolated-vm's threads, made later,
// inherit it).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindingsOf, loadConfig } from '../src/config/index.ts';
import { DurableObjects, ObjectDirectory } from '../src/durable-objects/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime, type WorkerRequest } from '../src/runtime/index.ts';
import { pin, TICK_US } from './platform.ts';

const [fixture, path, seconds, rounds, headerJson] = process.argv.slice(2);
pin(process.pid, 0);
const config = loadConfig(join(import.meta.dirname, 'fixtures', fixture), { warn: () => {} });
let runtime: Runtime | undefined;
const objects = bindingsOf(config.bindings, 'do').length
  ? new DurableObjects({
      directory: new ObjectDirectory(mkdtempSync(join(tmpdir(), 'outpost-bench-inprocess-'))),
      observer: noopObserver,
      runtimeFor: () => runtime as Runtime,
    })
  : undefined;
runtime = new Runtime({ observer: noopObserver, poolSize: 1, ...(objects ? { objects } : {}) });
runtime.deploy(fixture, await bundleWorker(config, { root: join(import.meta.dirname, '..') }), config);
await runtime.warm(fixture);

const headers = ['host', 'bench.example', ...(JSON.parse(headerJson ?? '[]') as string[])];
const cf = Object.freeze({});
/** utime + stime of a thread, in clock ticks (fields 14 and 15 of its stat). */
const ticks = (file: string) => {
  const s = readFileSync(file, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const mainTicks = () => ticks(`/proc/self/task/${process.pid}/stat`);
const allTicks = () =>
  readdirSync('/proc/self/task').reduce((n, t) => n + ticks(`/proc/self/task/${t}/stat`), 0);

async function run(ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  const one = async () => {
    while (performance.now() < end) {
      const req: WorkerRequest = {
        method: 'GET',
        url: `http://bench.example${path}`,
        headers,
        cf,
        body: null,
      };
      const res = await (runtime as Runtime).handle(fixture, req);
      if (res.status !== 200) throw new Error(`${fixture}${path} answered ${res.status}`);
      if (res.body && !(res.body instanceof Uint8Array))
        for (let c = await res.body.next(); c !== null; c = await res.body.next());
      n++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, one));
  return n;
}

await run(2000); // warm: optimised code, grown heaps
const out: { rps: number; allUs: number; mainUs: number }[] = [];
for (let i = 0; i < Number(rounds); i++) {
  const [m0, a0, t0] = [mainTicks(), allTicks(), performance.now()];
  const n = await run(Number(seconds) * 1000);
  const secs = (performance.now() - t0) / 1000;
  out.push({
    rps: n / secs,
    allUs: ((allTicks() - a0) * TICK_US) / n,
    mainUs: ((mainTicks() - m0) * TICK_US) / n,
  });
}
await runtime.close();
console.log(JSON.stringify(out));
process.exit(0);
