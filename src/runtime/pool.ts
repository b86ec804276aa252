/**
 * The warm pool: isolates that already hold a context with the prelude evaluated and the
 * syscalls installed, so a cold start only has to load the tenant's module (DESIGN.md: ~0.7 ms
 * from the pool vs 2–4 ms from scratch). The prelude is compiled with a shared V8 code cache.
 * Refilling happens in the background, one isolate at a time, off the request path.
 */
import { setFlagsFromString } from 'node:v8';
import ivm from 'isolated-vm';
import type { Observer } from '../observability/index.ts';
import { createSyscalls, type Slot } from './bridge/syscalls.ts';
import { RUNTIME_MODULE_SOURCE, RUNTIME_SPECIFIER } from './bundle-modules.ts';
import { IsolateCalls } from './calls.ts';
import { extensionSource, extensionSources } from './extensions.ts';
import { PoolDemand } from './pool-demand.ts';
import { PRELUDE_FILENAME, preludePartSource, preludeSource } from './prelude.ts';

// Every context V8 makes from now on gets a `gc` global: the prelude takes it before tenant code
// runs (isolate/native-memory.ts) to collect dropped objects holding native memory (Intl, wasm)
// before it calls a reservation that does not fit a breach. V8 cannot see that memory, so it
// would not collect them for it. Node's own context, made before, has no `gc`.
setFlagsFromString('--expose-gc');
// V8 takes its semi-space flag over the young generation isolated-vm asks for, and isolated-vm
// lets a heap reach its memoryLimit plus V8's reserve for three semi-spaces before it stops
// the isolate: Node started with `max-semi-space-size` at 64 MB would let a 128 MB tenant hold
// 320 MB. Put back to V8's default for the isolates made from now on (Node's own heap, made
// before, keeps what it was given). Set once, here: changed later, V8's flag hash, which its
// code caches carry, would change under isolates compiling from a cache (docs/runtime.md).
setFlagsFromString('--max-semi-space-size=0');

export interface IsolateApi {
  /** Load a service-worker script (CommonJS in a function). */
  load: ivm.Reference;
  /** Before a module bundle is evaluated: env, flags, the call its outcome completes. */
  beginModule: ivm.Reference;
  /** A part of the prelude the host compiled in the isolate (load.ts): src/runtime/isolate/parts.ts. */
  installPart: ivm.Reference;
  dispatch: ivm.Reference;
  pull: ivm.Reference;
  cancel: ivm.Reference;
  settle: ivm.Reference;
  rpc: ivm.Reference;
  /** A handler event (tail) for the worker: src/runtime/isolate/dispatch.ts `event`. */
  event: ivm.Reference;
  wsEvent: ivm.Reference;
  ring: ivm.Reference;
  forget: ivm.Reference;
  warmup: ivm.Reference;
  /** Answers to the isolate's posted host calls, a batch at a time (bridge/syscalls.ts). */
  hostDone: ivm.Reference;
}

export interface PooledIsolate {
  isolate: ivm.Isolate;
  context: ivm.Context;
  api: IsolateApi;
  slot: Slot;
  /** Entry calls (dispatch, pull, settle) and their completions. */
  calls: IsolateCalls;
  memoryMb: number;
  /** `outpost:runtime`, the one module a module bundle imports (src/runtime/bundle-modules.ts). */
  runtime: ivm.Module;
}

let preludeCache: ivm.ExternalCopy<ArrayBuffer> | undefined;

/** The size of the prelude's code cache (0 until the first isolate is set up). */
export function preludeCacheBytes(): number {
  return preludeCache?.copy().byteLength ?? 0;
}

/**
 * ICU's data is loaded once per process, lazily, by whichever isolate first uses Intl: measured
 * here, 20–25 ms of that isolate's CPU (a worker's first `Intl.NumberFormat` would breach a
 * 50 ms limit). Touching the common services first moves the cost to startup; isolates then
 * pay 0.3–1.6 ms.
 */
function touchIcu(): void {
  new Intl.NumberFormat('en-US').format(1.5);
  new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0);
  new Intl.Collator('en').compare('a', 'b');
  new Intl.PluralRules('en').select(1);
  new Intl.RelativeTimeFormat('en').format(1, 'day');
}
/** touchIcu's statements, for an isolate. */
const TOUCH_ICU = `new Intl.NumberFormat('en-US').format(1.5);
new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0);
new Intl.Collator('en').compare('a', 'b');
new Intl.PluralRules('en').select(1);
new Intl.RelativeTimeFormat('en').format(1, 'day');`;
let icuWarm = false;
/** On the host's thread (~14 ms the first time; ~0.4 ms once prepareIsolates has done it). */
function warmIcu(): void {
  if (icuWarm) return;
  icuWarm = true;
  touchIcu();
}

let prepared: Promise<void> | null = null;
/**
 * What every isolate needs from the host, done ahead: ICU's data loaded, the prelude and
 * extensions read (or built). A node calls it while its NATS connections are being set up. The
 * ICU services are touched in a throwaway isolate, whose code runs on isolated-vm's thread: the
 * ~14 ms of loading ICU's data (process-wide) leave the host's thread free for the connections,
 * and cost ~2 ms there (making that isolate). Measured: a node's spawn to first response
 * 256 → 238 ms. (Making the first worker's isolate ahead the same way gained nothing.)
 */
export function prepareIsolates(): Promise<void> {
  prepared ??= (async () => {
    if (!icuWarm) {
      const aside = new ivm.Isolate({ memoryLimit: 16 });
      try {
        const context = await aside.createContext();
        await context.eval(TOUCH_ICU);
      } finally {
        aside.dispose();
      }
      warmIcu();
    }
    await Promise.all([preludeSource(), extensionSources()]);
  })();
  return prepared;
}

export async function createIsolate(memoryMb: number, observer: Observer): Promise<PooledIsolate> {
  warmIcu();
  const source = await preludeSource();
  await extensionSources(); // built once; the ext syscall reads them synchronously
  const isolate = new ivm.Isolate({
    memoryLimit: memoryMb,
    onCatastrophicError: (message: string) =>
      observer.log({ level: 'error', source: 'outpost', message: `isolate catastrophic error: ${message}` }),
  });
  try {
    const context = await isolate.createContext();
    const cachedData = preludeCache;
    const script = await isolate.compileScript(source, { filename: PRELUDE_FILENAME, cachedData });
    // A cache V8 refuses (its version or flags changed) is made again by this isolate.
    const refused =
      cachedData !== undefined && (script as { cachedDataRejected?: boolean }).cachedDataRejected === true;
    if (refused && preludeCache === cachedData) preludeCache = undefined;
    await script.run(context);
    script.release();
    const slot: Slot = { owner: null };
    // Before a worker owns the isolate, a failed entry call fails every waiting call.
    const calls: IsolateCalls = new IsolateCalls((err) =>
      slot.owner ? slot.owner.onApplyError(err) : calls.failAll(err),
    );
    const init = context.global.getSync('__outpost_init', { reference: true }) as ivm.Reference;
    const apiRef = (await init.apply(
      undefined,
      createSyscalls(
        slot,
        { memoryLimitMb: memoryMb, workerName: '' },
        calls,
        (name) => preludePartSource(name) ?? extensionSource(name),
      ),
      {
        result: { reference: true },
      },
    )) as ivm.Reference;
    init.release();
    // Synchronous: the isolate is idle and each get is a few microseconds there, where an
    // asynchronous one is a round trip to its thread (14 of them: 0.6 ms of CPU, against 0.09).
    const get = (name: string) => apiRef.getSync(name, { reference: true }) as ivm.Reference;
    const api: IsolateApi = {
      load: get('load'),
      beginModule: get('beginModule'),
      installPart: get('installPart'),
      dispatch: get('dispatch'),
      pull: get('pull'),
      cancel: get('cancel'),
      settle: get('settle'),
      rpc: get('rpc'),
      event: get('event'),
      wsEvent: get('wsEvent'),
      forget: get('forget'),
      warmup: get('warmup'),
      hostDone: get('hostDone'),
      ring: get('ring'),
    };
    slot.done = api.hostDone;
    const runtime = await linkRuntime(isolate, context, get('linkRuntime'));
    apiRef.release();
    // The isolate that makes the prelude's code cache warms more of it (dispatch.ts, warmup).
    const makesCache = !preludeCache && (!cachedData || refused);
    await calls.call(api.warmup, [makesCache]);
    if (makesCache) preludeCache = await cacheAfterSetup(isolate, source);
    // From here on, calls that must each be a task of their own go through the ring. Not before:
    // an isolate that dies in a ring task is noticed by its owner's watchdog, and the pool's
    // own calls have no owner.
    calls.startRing(api.ring, api);
    return { isolate, context, api, slot, calls, memoryMb, runtime };
  } catch (err) {
    isolate.dispose();
    throw err;
  }
}

/**
 * The prelude's code cache, made by the first isolate once it is set up. A cache made when the
 * script is compiled holds its top level alone, and every new isolate then compiles, lazily,
 * each function that setting it up calls (the bridge, the guards, the request path the warmup
 * runs). Compiled again in the isolate that has run them, the script comes from V8's own
 * compilation cache with those functions compiled, and the cache holds them too (code-cache.ts
 * does the same for tenants' bundles). Measured (50 pooled isolates, median): 11.3 → 9.2 ms to
 * make one; the warmup request 2.2 → 0.6 ms of it; heap the same (the same functions are
 * compiled either way).
 */
async function cacheAfterSetup(
  isolate: ivm.Isolate,
  source: string,
): Promise<ivm.ExternalCopy<ArrayBuffer> | undefined> {
  // None made (V8 may decline, the isolate may be out of memory): the next isolate tries again;
  // this one is set up all the same.
  try {
    const again = await isolate.compileScript(source, {
      filename: PRELUDE_FILENAME,
      produceCachedData: true,
    });
    const made = (again as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
    again.release();
    return made;
  } catch (err) {
    // An isolate that died making it (out of memory) is not handed out.
    if (isolate.isDisposed) throw err;
    return undefined;
  }
}

/**
 * Made once per isolate, here rather than at each cold start: the module whose exports forward
 * to the prelude's module loader and load completion (isolate/index.ts, linkRuntime).
 */
async function linkRuntime(
  isolate: ivm.Isolate,
  context: ivm.Context,
  link: ivm.Reference,
): Promise<ivm.Module> {
  const runtime = await isolate.compileModule(RUNTIME_MODULE_SOURCE, { filename: RUNTIME_SPECIFIER });
  runtime.instantiateSync(context, (specifier) => {
    throw new Error(`No such module "${specifier}"`);
  });
  await runtime.evaluate();
  await link.apply(undefined, [runtime.namespace.derefInto()]);
  link.release();
  return runtime;
}

/** Quiet time after the last take before refilling, and the pause between creations, ms. */
const REFILL_DELAY_MS = 10;
const REFILL_GAP_MS = 2;
/** The pause between creations past the base size (~8 ms of CPU each: at most ~40% of a core). */
const GROW_GAP_MS = 20;

export interface PoolOptions {
  /** Isolates kept ready per memory size whatever the demand (default 4). */
  size: number;
  /**
   * Most isolates kept ready after bursts of cold starts, all memory sizes together
   * (pool-demand.ts); the runtime's poolMax, as capacityOf settles it (0 with no pool).
   */
  max: number;
  /** How long a burst's pool size holds before it is halved, ms (pool-demand.ts). */
  holdMs?: number;
  observer: Observer;
}

export class IsolatePool {
  #ready = new Map<number, PooledIsolate[]>();
  #demand = new Map<number, PoolDemand>();
  #filling = new Set<number>();
  #timers = new Map<number, NodeJS.Timeout>();
  #trims = new Map<number, NodeJS.Timeout>();
  #closed = false;
  constructor(private readonly options: PoolOptions) {}

  /** Fill the pool for a memory size now (e.g. at startup). */
  async prefill(memoryMb: number): Promise<void> {
    const list = this.#list(memoryMb);
    while (!this.#closed && list.length < this.options.size) {
      const iso = await createIsolate(memoryMb, this.options.observer);
      if (this.#closed) iso.isolate.dispose();
      else list.push(iso);
    }
  }

  /**
   * A ready isolate: from the pool when one is there, else created now. `demand`: a new tenant
   * (or object) arriving, which the pool's size follows; a load ahead of requests is not.
   */
  async take(memoryMb: number, demand = true): Promise<PooledIsolate> {
    const list = this.#list(memoryMb);
    if (demand) this.#demandOf(memoryMb).arrived(performance.now());
    const ready = list.shift();
    this.#refill(memoryMb);
    return ready ?? createIsolate(memoryMb, this.options.observer);
  }

  get readyCount(): number {
    let n = 0;
    for (const l of this.#ready.values()) n += l.length;
    return n;
  }

  /** Isolates the pool keeps ready now for a memory size: the base size, or more after bursts. */
  target(memoryMb: number): number {
    return this.#demandOf(memoryMb).target(performance.now());
  }

  #list(memoryMb: number): PooledIsolate[] {
    let l = this.#ready.get(memoryMb);
    if (!l) this.#ready.set(memoryMb, (l = []));
    return l;
  }

  #demandOf(memoryMb: number): PoolDemand {
    let d = this.#demand.get(memoryMb);
    if (!d) {
      d = new PoolDemand(this.options.size, this.options.max, this.options.holdMs);
      this.#demand.set(memoryMb, d);
    }
    return d;
  }

  /**
   * Refill in the background once cold starts pause: creating an isolate costs ~10 ms of CPU
   * (2–3 ms of it synchronous on the main thread), which would otherwise land on top of the
   * cold starts the pool exists to make fast. Each take pushes the refill back.
   */
  #refill(memoryMb: number) {
    if (this.#closed) return;
    const pending = this.#timers.get(memoryMb);
    if (pending) clearTimeout(pending);
    const timer = setTimeout(() => {
      this.#timers.delete(memoryMb);
      this.#step(memoryMb);
    }, REFILL_DELAY_MS);
    timer.unref();
    this.#timers.set(memoryMb, timer);
  }

  #step(memoryMb: number) {
    if (this.#filling.has(memoryMb) || this.#closed || this.#timers.has(memoryMb)) return;
    const list = this.#list(memoryMb);
    const base = list.length < this.options.size;
    // Past the base size, the most the pool holds counts every memory size's ready isolates.
    if (!base && (list.length >= this.target(memoryMb) || this.readyCount >= this.options.max)) {
      this.#trim(memoryMb);
      return;
    }
    this.#filling.add(memoryMb);
    createIsolate(memoryMb, this.options.observer).then(
      (iso) => {
        this.#filling.delete(memoryMb);
        if (this.#closed) iso.isolate.dispose();
        else list.push(iso);
        // Growing after a burst is paced: it must not take the core from the requests of the
        // tenants that just arrived.
        const next = setTimeout(() => this.#step(memoryMb), base ? REFILL_GAP_MS : GROW_GAP_MS);
        next.unref();
      },
      (err) => {
        this.#filling.delete(memoryMb);
        this.options.observer.log({
          level: 'error',
          source: 'outpost',
          message: `warm pool refill failed: ${(err as Error).message}`,
        });
        this.#trim(memoryMb);
      },
    );
  }

  /**
   * Isolates past what the demand keeps (a burst's pool, aged) are disposed; while the pool is
   * above its base size it is looked at again as the demand ages.
   */
  #trim(memoryMb: number) {
    const list = this.#list(memoryMb);
    const keep = this.target(memoryMb);
    while (list.length > keep) list.pop()?.isolate.dispose();
    if (this.#closed || list.length <= this.options.size || this.#trims.has(memoryMb)) return;
    const timer = setTimeout(
      () => {
        this.#trims.delete(memoryMb);
        // A refill under way, or waiting for cold starts to pause, trims when it is done.
        if (!this.#filling.has(memoryMb) && !this.#timers.has(memoryMb)) this.#trim(memoryMb);
      },
      Math.max(REFILL_DELAY_MS, this.#demandOf(memoryMb).holdMs / 4),
    );
    timer.unref();
    this.#trims.set(memoryMb, timer);
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    for (const t of this.#trims.values()) clearTimeout(t);
    for (const list of this.#ready.values())
      for (const p of list) if (!p.isolate.isDisposed) p.isolate.dispose();
    this.#ready.clear();
  }
}
