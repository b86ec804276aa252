// Fuzzing the host↔isolate bridge: random and hostile values (Proxies with throwing traps,
// getters that throw or mutate, huge, sparse, deep and cyclic structures, symbols, BigInts,
// replaced intrinsics) go through every syscall for a bounded time, two ways:
//   - through the public APIs, as any tenant can (the syscalls live in the prelude's closure);
//   - through the raw syscalls, as a tampered prelude would: the test hands the fuzzing isolate
//     a second set made by the real createSyscalls for the same worker instance (its bodies,
//     limits, KV, cache, objects, services) and the ids of its live invocations.
// The host must never crash or throw uncaught, every call must end in a value or an error in the
// isolate (bounded), errors must carry no host stack, a neighbour tenant must keep answering on
// time, and the host's heap and the runtime's bookkeeping must come back to where they were.
//
// Seeded: OUTPOST_FUZZ_SEED repeats a run, OUTPOST_FUZZ_MS sets its length (default 4000 ms).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ivm from 'isolated-vm';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/config/index.ts';
import { KvPop, SqliteKvStore } from '../../src/kv/index.ts';
import { memoryObserver } from '../../src/observability/index.ts';
import { devCf, type PopServer, startPopServer } from '../../src/pop/index.ts';
import { createSyscalls, type Slot } from '../../src/runtime/bridge/syscalls.ts';
import { IsolateCalls } from '../../src/runtime/calls.ts';
import { extensionSource } from '../../src/runtime/extensions.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import type { WorkerInstance } from '../../src/runtime/instance.ts';
import type { PooledIsolate } from '../../src/runtime/pool.ts';
import { FIXTURES, startUpstream, type Upstream, waitFor } from '../helpers.ts';

const SEED = Number(process.env.OUTPOST_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
const BUDGET_MS = Number(process.env.OUTPOST_FUZZ_MS ?? 4000);
/** Fuzz iterations per request (each bounded at 2 s in the isolate). */
const PER_REQUEST = 10;
/** The host answers every request by then (the fuzzer's wall limit is 6 s). */
const REQUEST_TIMEOUT_MS = 15_000;
const NEIGHBOUR_MAX_MS = 2_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

let rt: Runtime;
let server: PopServer;
let upstream: Upstream;
let wss: WebSocketServer;
let wsUrl: string;
let kvStore: SqliteKvStore;
let logs: ReturnType<typeof memoryObserver>['entries'];
const isolates: PooledIsolate[] = [];
const fuzzSlots: Slot[] = [];
const injected = new WeakSet<PooledIsolate>();

const call = (tenant: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { 'outpost-tenant': tenant },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });

/** Every worker instance the pool handed out that is still there. */
const instances = () =>
  isolates
    .map((iso) => iso.slot.owner as WorkerInstance | null)
    .filter((o): o is WorkerInstance => o !== null && !o.iso.isolate.isDisposed);

/** Give the fuzzer's current isolate a second set of the real syscalls (see the top). */
async function injectRawSyscalls(): Promise<void> {
  await rt.warm('fuzzer'); // a breach recycles the isolate; the next one loads on demand
  const inst = instances().find((o) => o.tenant === 'fuzzer' && o.durable === null && o.state === 'ready');
  if (!inst || injected.has(inst.iso)) return;
  const iso = inst.iso;
  const slot = {
    get owner() {
      return iso.slot.owner;
    },
  } as Slot;
  // The raw set answers posted calls to the fuzz worker's own __fuzz_done, in batches as for the prelude.
  const list = createSyscalls(
    slot,
    { memoryLimitMb: iso.memoryMb, workerName: 'fuzzer' },
    new IsolateCalls(() => {}),
    extensionSource,
  );
  list.shift(); // the ivm module: the fuzz calls the syscalls as the prelude does
  const live = new ivm.Callback(() => [...inst.active.keys()]);
  try {
    const install = (await iso.context.eval(
      '(function (live, ...raw) { globalThis.__fuzz_live = live; globalThis.__fuzz_raw = raw; })',
      { reference: true },
    )) as ivm.Reference;
    await install.apply(undefined, [live, ...list]);
    install.release();
    slot.done = (await iso.context.global.get('__fuzz_done', { reference: true })) as ivm.Reference;
  } catch (err) {
    // The fuzz broke that isolate meanwhile (a limit): the next round injects into its successor.
    if (iso.isolate.isDisposed) return;
    // The tenant's own code threw from a job that ran with the installer (isolated-vm runs the
    // isolate's microtasks with every call): its error, not the host's; inject next round. So
    // is a prelude job the tenant broke by replacing an intrinsic it uses (Promise.resolve,
    // seed 1186291122): thrown inside the isolate, in its own realm, never on the host.
    const stack = String((err as Error)?.stack ?? '');
    if (stack.includes('bridge-fuzz.worker.js') || /^\s*at .*outpost:prelude\.js/m.test(stack)) return;
    throw err;
  }
  fuzzSlots.push(slot);
  injected.add(iso);
}

/** What the runtime holds for requests in flight, summed over every instance (and the fuzz's own sets). */
function bookkeeping() {
  let active = 0;
  let bodies = 0;
  let pending = 0;
  let sockets = 0;
  let busy = 0;
  for (const o of instances()) {
    active += o.active.size;
    bodies += o.bodies.size;
    pending += o.iso.calls.pending;
    sockets += o.iso.slot.sockets?.size ?? 0;
    if (o.busy) busy++;
  }
  for (const s of fuzzSlots) sockets += s.sockets?.size ?? 0;
  return { active, bodies, pending, sockets, busy, runtimeBusy: rt.stats().busy };
}
const idle = { active: 0, bodies: 0, pending: 0, sockets: 0, busy: 0, runtimeBusy: 0 };

before(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  console.log(
    `bridge fuzz: seed ${SEED}, ${BUDGET_MS} ms (repeat with OUTPOST_FUZZ_SEED=${SEED}; OUTPOST_FUZZ_MS sets the time)`,
  );
  upstream = await startUpstream();
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => {
    ws.on('message', (data, binary) => ws.send(data, { binary }));
    ws.on('error', () => {});
  });
  await new Promise((r) => wss.once('listening', r));
  wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  kvStore = new SqliteKvStore({ file: ':memory:' });
  const observer = memoryObserver();
  logs = observer.entries;
  rt = new Runtime({ observer, poolSize: 1, kv: new KvPop('DEV', kvStore), limits: { cpuMs: 2000 } });
  const take = rt.pool.take.bind(rt.pool);
  rt.pool.take = async (memoryMb: number) => {
    const iso = await take(memoryMb);
    isolates.push(iso);
    return iso;
  };
  const config = loadConfig(join(FIXTURES, 'bridge-fuzz'), { warn: () => {} });
  const bundle = await bundleWorker(config);
  // A worker that replaces intrinsics may wedge its own isolate; the wall limit ends that in
  // a few seconds (a 503), as it would in production.
  rt.deploy('fuzzer', bundle, config, { cpuMs: 1000, wallMs: 6000 });
  rt.deploy('neighbour', bundle, config);
  // The regression cases run on an isolate of their own: the fuzz may have left the fuzzer's
  // intrinsics replaced for good (its own problem, but not the regression tests').
  rt.deploy('regress', bundle, config, { cpuMs: 1000, wallMs: 6000 });
  for (const tenant of ['fuzzer', 'neighbour', 'regress']) await rt.warm(tenant);
  server = await startPopServer({
    runtime: rt,
    route: (req) => String(req.headers['outpost-tenant'] ?? ''),
    port: 0,
    dev: true,
    cf: devCf,
    observer,
  });
});

after(async () => {
  const t = Date.now();
  if (process.env.OUTPOST_FUZZ_DEBUG)
    for (const l of logs) console.log(l.level, l.source, l.message.slice(0, 200));
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  for (const s of fuzzSlots) s.release?.();
  await server?.close();
  await rt?.close();
  await upstream?.close();
  await new Promise((r) => wss?.close(r));
  await kvStore?.close();
  if (process.env.OUTPOST_FUZZ_DEBUG) console.log(`teardown ${Date.now() - t} ms`);
});

interface Report {
  counts: Record<string, number>;
  hung: string[];
  leaks: string[];
}

describe('the bridge under hostile values', () => {
  it('survives fuzzing of every syscall: no crash, hang or host stack; the neighbour answers; nothing leaks', async () => {
    const started = Date.now();
    const query = `upstream=${encodeURIComponent(upstream.url)}&ws=${encodeURIComponent(wsUrl)}`;
    const hung: string[] = [];
    const leaks: string[] = [];
    const statuses: Record<string, number> = {};
    const counts: Record<string, number> = {};
    let runs = 0;

    const fuzzOnce = async (mode: 'api' | 'raw', seed: number) => {
      if (mode === 'raw') await injectRawSyscalls();
      const path = `/${mode}?seed=${seed}&n=${PER_REQUEST}&${query}${process.env.OUTPOST_FUZZ_DEBUG ? '&trace' : ''}`;
      let res: Response;
      try {
        res = await call('fuzzer', path, { method: 'POST', body: 'b'.repeat((seed % 5) * 40_000) });
      } catch (err) {
        hung.push(`${path}: ${(err as Error).message}`);
        return;
      }
      const text = await res.text();
      statuses[`${mode} ${res.status}`] = (statuses[`${mode} ${res.status}`] ?? 0) + 1;
      runs++;
      // A limit breach (the fuzz may spend the CPU, memory or wall limit: a worker that replaces
      // intrinsics can break its own isolate's promises) or an uncaught worker error is a clean
      // answer from the host; a 200 is the fixture's report.
      if (res.status !== 200) return;
      const r = JSON.parse(text) as Report;
      hung.push(...r.hung.map((h) => `seed ${seed} ${mode} ${h}`));
      leaks.push(...r.leaks.map((l) => `seed ${seed} ${mode} ${l}`));
      for (const [k, v] of Object.entries(r.counts)) counts[k] = (counts[k] ?? 0) + v;
    };

    // Warm up (extensions, caches, the objects' isolates) before taking the baselines.
    await fuzzOnce('api', SEED);
    await fuzzOnce('raw', SEED + 1);
    await waitFor(
      () => JSON.stringify(bookkeeping()) === JSON.stringify(idle),
      10_000,
      'quiet after warm-up',
    );
    const heapBefore = heapUsed();

    // The neighbour, meanwhile: every answer correct and on time.
    let stop = false;
    const neighbour = { ok: 0, wrong: [] as string[], slowest: 0 };
    const watch = (async () => {
      for (let k = 0; !stop; k++) {
        const t = performance.now();
        try {
          const res = await call('neighbour', `/ping?x=${k}`);
          const body = await res.text();
          if (res.status !== 200 || body !== `pong ${k}`)
            neighbour.wrong.push(`${res.status} ${body.slice(0, 100)}`);
          else neighbour.ok++;
        } catch (err) {
          neighbour.wrong.push((err as Error).message);
        }
        neighbour.slowest = Math.max(neighbour.slowest, performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const until = Date.now() + BUDGET_MS;
    let i = 2;
    // Two requests at a time: invocations overlap in the isolate as they do under load.
    const lane = async (k: number) => {
      while (Date.now() < until) {
        const n = i++;
        await fuzzOnce(n % 3 === k ? 'raw' : 'api', (SEED + n) >>> 0);
      }
    };
    await Promise.all([lane(0), lane(1)]);
    stop = true;
    await watch;

    // Bookkeeping back to idle: requests, bodies, entry calls, sockets.
    await waitFor(
      () => JSON.stringify(bookkeeping()) === JSON.stringify(idle),
      10_000,
      `the runtime's bookkeeping to return to idle (${JSON.stringify(bookkeeping())})`,
    ).catch((err) => assert.fail(err.message));
    const heapAfter = heapUsed();
    const grewMb = (heapAfter - heapBefore) / 2 ** 20;

    console.log(
      `bridge fuzz: ${runs} requests, ${Object.values(counts).reduce((a, b) => a + b, 0)} calls in ${Date.now() - started} ms; ` +
        `statuses ${JSON.stringify(statuses)}; neighbour ${neighbour.ok} answers, slowest ${neighbour.slowest.toFixed(0)} ms; ` +
        `host heap ${grewMb >= 0 ? '+' : ''}${grewMb.toFixed(1)} MB`,
    );
    assert.deepEqual(hung, [], `calls that never settled (seed ${SEED})`);
    assert.deepEqual(leaks, [], `errors that carried a host stack (seed ${SEED})`);
    assert.deepEqual(neighbour.wrong, [], `the neighbour answered wrongly (seed ${SEED})`);
    assert.ok(neighbour.ok > 0, 'the neighbour was never asked');
    assert.ok(
      neighbour.slowest < NEIGHBOUR_MAX_MS,
      `the neighbour waited ${neighbour.slowest.toFixed(0)} ms (seed ${SEED})`,
    );
    assert.ok(runs > 4, `only ${runs} fuzz requests ran`);
    // The stores keep what the fuzz put (a few small entries); the rest must be gone.
    assert.ok(grewMb < 24, `the host heap grew by ${grewMb.toFixed(1)} MB (seed ${SEED})`);
  });

  it('a sparse list of four billion holes is refused at once, not walked on the host (regression)', async () => {
    // Found by this fuzzer: the host checked lists from the isolate with some()/map(), which
    // visit every index of a sparse array; a worker's own `map` on the array it gave KV's get()
    // or new WebSocket() handed one over, and the host's main thread was gone for minutes.
    const t = performance.now();
    const ping = call('neighbour', '/ping?x=sparse');
    const res = await call('regress', `/regress/sparse?ws=${encodeURIComponent(wsUrl)}`);
    const r = (await res.json()) as { outcomes: string[]; ms: number };
    assert.equal(await (await ping).text(), 'pong sparse');
    // Both refused by the host at once: KV names its limit, the WebSocket fails to connect.
    assert.equal(r.outcomes[0], 'KV GET_BULK failed: 400 You can request a maximum of 100 keys');
    assert.notEqual(r.outcomes[1], 'hung');
    assert.notEqual(r.outcomes[1], 'ok');
    assert.ok(performance.now() - t < NEIGHBOUR_MAX_MS, `took ${(performance.now() - t).toFixed(0)} ms`);
  });

  it('RPC arguments and results nested past 1,000 levels fail at once, not never (regression)', async () => {
    // Found by this fuzzer: isolated-vm copied such a value out of the isolate, the host's main
    // thread could not take it apart, and the dropped call was never answered.
    const res = await call('regress', '/regress/deep');
    const [doArg, doResult, svcArg, svcResult, doSmallArg, doSmallResult, noTypeError] =
      (await res.json()) as unknown[];
    const refused = /^RangeError: A value passed to this call nests more than 1000 levels deep/;
    const unsent =
      /^TypeError: The worker's result could not be sent: The value returned nests more than 1000/;
    assert.match(String(doArg), refused);
    assert.match(String(svcArg), refused);
    assert.match(String(doResult), unsent);
    assert.match(String(svcResult), unsent);
    assert.equal(doSmallArg, 1, 'a value 900 levels deep still goes through');
    assert.equal(doSmallResult, 900);
    // The prelude's refusal does not go through a TypeError the object's code replaced.
    assert.match(String(noTypeError), unsent);
  });

  it("a service binding's or an object's small answer reaches the caller as its own bytes only (regression)", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await call('regress', `/regress/pool?x=${i}`);
      assert.deepEqual(await res.json(), [
        [6, `pong ${i}`],
        [13, 'object GET /p'],
      ]);
    }
  });

  it("a DigestStream whose write fails rejects its digest and frees the host's hash (regression)", async () => {
    // Found by this fuzzer: the digest never settled and the hash stayed in the host's table.
    const res = await call('regress', '/regress/digest-stream');
    assert.deepEqual(await res.json(), { rejected: 1001, ok: 32 });
  });

  it('no host error went uncaught', () => {
    assert.deepEqual(
      uncaught.map((e) => String((e as Error)?.stack ?? e)),
      [],
      `uncaught on the host (seed ${SEED})`,
    );
  });
});
