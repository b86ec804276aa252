// A bench worker (bench/fixtures/<name>, or a project of the repository given by its path, such as
// examples/react-streaming) behind Outpost's PoP front, in its own process like the baseline.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { bindingsOf, loadConfig, parseEarlyHints, parseEsi, parseSecurity } from '../../src/config/index.ts';
import { D1Databases } from '../../src/d1/index.ts';
import { DurableObjects, ObjectDirectory } from '../../src/durable-objects/index.ts';
import { KvPop, SqliteKvStore } from '../../src/kv/index.ts';
import { consoleObserver, noopObserver, Tracer } from '../../src/observability/index.ts';
import { devCf, startPopServer } from '../../src/pop/index.ts';
import { Pages } from '../../src/pop/pages.ts';
import { Policies } from '../../src/pop/policies.ts';
import { Site } from '../../src/pop/site.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import { NatsCounterStore, RateLimiter } from '../../src/security/ratelimit/index.ts';
import { seedStatements } from '../d1-data.ts';

const project = process.argv[2] ?? 'hello';
const dir = project.includes('/')
  ? join(import.meta.dirname, '..', '..', project)
  : join(import.meta.dirname, '..', 'fixtures', project);
const fixture = basename(dir);
const config = loadConfig(dir, { warn: () => {} });
// A project with KV bindings gets a store in a temp folder holding `greeting`.
let kv: KvPop | undefined;
const kvBindings = bindingsOf(config.bindings, 'kv');
if (kvBindings.length || process.env.OUTPOST_BENCH_KV_KEYS) {
  const store = new SqliteKvStore({
    file: join(mkdtempSync(join(tmpdir(), 'outpost-bench-kv-')), 'kv.sqlite'),
  });
  kv = new KvPop('BENCH', store);
  for (const ns of kvBindings) await kv.put(ns.id, 'greeting', new TextEncoder().encode('Hello World!'));
}
// A project with Durable Objects keeps their databases in a temp folder (on disk, as in dev).
let runtime: Runtime | undefined;
const objects = bindingsOf(config.bindings, 'do').length
  ? new DurableObjects({
      directory: new ObjectDirectory(mkdtempSync(join(tmpdir(), 'outpost-bench-do-'))),
      observer: noopObserver,
      runtimeFor: () => runtime as Runtime,
    })
  : undefined;
// A project with D1 gets a database in a temp folder holding the bench table (bench/d1-data.ts).
let d1: D1Databases | undefined;
if (bindingsOf(config.bindings, 'd1').length) {
  d1 = new D1Databases(mkdtempSync(join(tmpdir(), 'outpost-bench-d1-')));
  await d1.query('bench', seedStatements());
}
runtime = new Runtime({
  observer: noopObserver,
  poolSize: 1,
  kv,
  ...(objects ? { objects } : {}),
  ...(d1 ? { d1 } : {}),
});
// The bench projects take npm packages (hono) from the repository's node_modules, as a monorepo's
// projects take a hoisted one: the repository is their build root (docs/runtime.md#bundling).
const root = join(import.meta.dirname, '..', '..');
runtime.deploy(fixture, await bundleWorker(config, { root }), config);
await runtime.warm(fixture);
// Tracing (bench/platform.ts, --only tracing): OUTPOST_BENCH_TRACE=<ratio>,<OTLP endpoint>.
const trace = process.env.OUTPOST_BENCH_TRACE ? process.env.OUTPOST_BENCH_TRACE.split(',') : null;
const tracer = trace
  ? new Tracer({ endpoint: trace[1], sampleRatio: Number(trace[0]) }, consoleObserver('warn'))
  : null;
// Policies (bench/policies.ts, --only policies): OUTPOST_BENCH_SECURITY is a [security] table as
// JSON; OUTPOST_BENCH_KV_KEYS a JSON object of keys put in KV namespace "bench-keys" (JWKs).
let policies: Policies | undefined;
if (process.env.OUTPOST_BENCH_SECURITY) {
  const security = parseSecurity(JSON.parse(process.env.OUTPOST_BENCH_SECURITY), 'OUTPOST_BENCH_SECURITY');
  // OUTPOST_BENCH_NATS: exact rate-limit counters kept in NATS, as nodes keep them.
  const shared = process.env.OUTPOST_BENCH_NATS
    ? await NatsCounterStore.connect(process.env.OUTPOST_BENCH_NATS)
    : null;
  if (security) policies = new Policies(security, shared ? { limiter: new RateLimiter({ shared }) } : {});
  if (process.env.OUTPOST_BENCH_KV_KEYS) {
    if (!runtime.kv) throw new Error('the bench fixture has no KV for the policy keys');
    for (const [k, v] of Object.entries(
      JSON.parse(process.env.OUTPOST_BENCH_KV_KEYS) as Record<string, string>,
    ))
      await runtime.kv.put('bench-keys', k, new TextEncoder().encode(v));
  }
}
// The page features outpost dev always runs (ESI, Early Hints; src/pop/pages.ts), with a site of
// no origin: OUTPOST_BENCH_PAGES=1 measures what they add to every request.
const pagesOn = process.env.OUTPOST_BENCH_PAGES === '1';
// OUTPOST_BENCH_TRACE_SWITCH=1: SIGUSR2 switches tracing off and on in this process (bench/
// platform.ts measures its cost between windows of one process). The options keep their shape.
const popOptions = {
  runtime,
  ...(pagesOn
    ? {
        site: new Site({ origin: undefined, policies: [], routes: null }),
        pages: new Pages({
          esi: parseEsi(undefined, 'bench'),
          earlyHints: parseEarlyHints(undefined, 'bench', '/'),
          observer: noopObserver,
          readManifest: () => ({}),
        }),
      }
    : {}),
  tracer: tracer ?? undefined,
  ...(policies ? { policies } : {}),
  route: () => fixture,
  port: 0,
  cf: devCf,
  observer: noopObserver,
};
const server = await startPopServer(popOptions);
if (tracer && process.env.OUTPOST_BENCH_TRACE_SWITCH === '1')
  process.on('SIGUSR2', () => {
    popOptions.tracer = popOptions.tracer ? undefined : tracer;
  });
process.send?.({ port: server.port });
// SIGINT (a profiling run, --cpu-prof): every isolate is disposed before exit, objects first (the
// runtime does not own them). An isolate thread inside a synchronous host call at exit would
// wait for the main thread forever, and the process would hang in isolated-vm's thread pool.
process.on('SIGINT', async () => {
  await server.close();
  await objects?.close();
  await runtime?.close();
  process.exit(0);
});
