/**
 * A WorkerInstance is one isolate serving one worker version. It owns the request path through
 * the isolate and the limits that guard it:
 *
 *  - CPU: isolated-vm's `timeout` stops covering code once it has awaited a host promise, so the
 *    runtime's watchdog samples `isolate.cpuTime` every few ms (checkLimits) and disposes the
 *    isolate on a breach. Requests that overlap in one isolate share its CPU clock: each is
 *    charged an equal share of the CPU used while it was in flight (#account). Host work done
 *    for the isolate outside it (crypto.subtle, hashing: chargeHost) counts as its CPU too. A
 *    reading is the time its tasks ran by the clock: weighed by contention (contention.ts).
 *  - Memory: isolated-vm disposes an isolate whose heap passes memoryLimit; WebAssembly memory is
 *    accounted by the prelude (isolate/wasm.ts), which reports a breach through a syscall.
 *  - Wall time (until the response headers) and subrequests are counted here.
 * A breach answers 503 naming the limit and recycles only this isolate; a subrequest breach
 * fails only the request that made too many (its fetch() throws, it answers 503).
 *
 * Attribution: every call the isolate makes carries the id of the invocation (request, RPC
 * call, object event) it was made for — the prelude's request context follows each
 * invocation's promises, timers and callbacks (src/runtime/isolate/context.ts). An invocation
 * stays live, able to do I/O charged to it, until its response has gone out, its waitUntil()
 * work has settled and the WebSocket it answered with has closed; I/O for one that is not live
 * is refused.
 */
import type ivm from 'isolated-vm';
import type { HibernationSet, ObjectLoad, StagedStorage } from '../durable-objects/index.ts';
import type { Observer } from '../observability/index.ts';
import {
  type Attrs,
  NO_METRICS,
  NO_TRACE,
  type OpenSpan,
  type PopMetrics,
  recordHops,
  SpanKind,
  TailDraft,
  type TailHub,
  type TailOutcome,
  type TraceScope,
} from '../observability/index.ts';
import type { ConnectedBinding } from './bindings/types.ts';
import { BodyRegistry, type ChunkSource } from './bridge/bodies.ts';
import type { CacheAccess } from './bridge/cache.ts';
import type { ObjectLinks } from './bridge/durable.ts';
import { NamedError } from './bridge/named-error.ts';
import { takePassedSocket } from './bridge/passed-sockets.ts';
import type { ServiceLinks } from './bridge/service.ts';
import type { IsolateOwner } from './bridge/syscalls.ts';
import { weighCpu } from './contention.ts';
import { type DispatchResult, rayOf, toResult } from './dispatch-result.ts';
import type { EgressPolicy } from './egress.ts';
import { LimitExceededError, ScriptLoadError, WorkerException } from './errors.ts';
import { loadBundle } from './load.ts';
import { chainFromHeaders, checkEntry, freshChain, type RequestChain } from './loops.ts';
import type { PooledIsolate } from './pool.ts';
import type {
  HopRecorder,
  RequestHops,
  WorkerRequest,
  WorkerResponse,
  WorkerVersion,
  WorkerWebSocket,
} from './types.ts';

/** V8 code cache for tenant bundles, keyed by bundle hash. */
export interface CodeCache {
  entries: Map<string, ivm.ExternalCopy<ArrayBuffer>>;
  hits: number;
}

interface Active {
  id: number;
  /** When it began (or its Workflow step began), performance.now() ms: the wall-clock limit runs from here. */
  startedAt: number;
  /** Its share of the isolate's CPU while it was in flight, ns (see #account). */
  cpuUsed: bigint;
  subrequests: number;
  breach: LimitExceededError | null;
  /** True once headers are out: wall-time limit no longer applies. */
  responded: boolean;
  /** Its wall-clock limit when not the version's (a Workflow step's). */
  wallMs?: number;
  /** A Workflow run: the token its step calls must carry (src/runtime/bindings/workflow.ts). */
  runToken?: string;
  /** Id of the incoming body in the registry, cancelled when the request finishes. */
  bodyId: number | null;
  /** What its subrequests and KV operations went through (Server-Timing). */
  hops: RequestHops;
  /** Its span in the request's trace (a no-op with tracing off): its work records under it. */
  span: OpenSpan;
  /** Its live-tail event, collected only when someone tails this worker (src/observability/tail.ts). */
  tail: TailDraft | null;
  /** Reasons it is still live: its response, its waitUntil work, its WebSocket (see #release). */
  holds: number;
  /** What log lines name it by: the request's cf-ray when it has one, else the invocation id. */
  label: string;
  /** Its place in its request's chain: the loop limits (src/runtime/loops.ts). */
  chain: RequestChain;
}

/** How long a worker's WebSocket end waits for the PoP to attach the client after its 101. */
const SOCKET_TAKE_UP_MS = 30_000;

let nextRequestId = 1;

/** Console levels a tail event keeps as they were called (Workers' TraceLog levels). */
const TAIL_LEVELS = new Set(['log', 'debug', 'info', 'warn', 'error']);

/** How an invocation that failed ended, in Workers' tail outcomes. */
function tailOutcome(err: unknown): TailOutcome {
  if (err instanceof LimitExceededError)
    return err.limit === 'cpu'
      ? 'exceededCpu'
      : err.limit === 'memory'
        ? 'exceededMemory'
        : err.limit === 'wall'
          ? 'canceled'
          : 'exception';
  return 'exception';
}

/** The span of an invocation nobody traces. */
const NO_SPAN = NO_TRACE.start('', SpanKind.INTERNAL);

/** What an isolate that holds one Durable Object is told at load. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class WorkerInstance implements IsolateOwner {
  state: 'ready' | 'retiring' | 'dead' = 'ready';
  deathReason: LimitExceededError | null = null;
  readonly bodies = new BodyRegistry();
  /** Invocations whose response is still in flight (wall time, CPU, busy). */
  readonly active = new Map<number, Active>();
  /** Invocations that may still do I/O: answering, settling waitUntil work, or holding a WebSocket. */
  readonly #live = new Map<number, Active>();
  /** Worker-side WebSocket ends answered in a 101: the invocation each keeps live until it closes. */
  readonly #socketHolds = new Map<number, Active>();
  lastUsed = Date.now();
  /** Heap bytes (committed heap + external), sampled after load and now and then. */
  heapBytes = 0;
  requests = 0;
  onIdle: (() => void) | null = null;
  onDeath: (() => void) | null = null;
  #lastCf: Record<string, unknown> | null = null;

  private constructor(
    readonly version: WorkerVersion,
    readonly iso: PooledIsolate,
    private readonly observer: Observer,
  ) {
    iso.slot.owner = this;
  }

  /** Two tenants may share a config name; their caches must not (the fetch() cache's namespace). */
  get tenant() {
    return this.version.tenant;
  }
  get maxTimers() {
    return this.version.limits.timers;
  }
  get busy(): boolean {
    // Open WebSockets keep an isolate: evicting or recycling it would cut them.
    return this.#live.size > 0 || (this.iso.slot.sockets?.size ?? 0) > 0;
  }

  cpuNow(): bigint {
    return this.iso.isolate.isDisposed ? 0n : this.iso.isolate.cpuTime;
  }

  /**
   * Host time spent for invocation `ctx` outside the isolate (crypto on libuv's pool, hashing):
   * isolate.cpuTime never sees it. A response in flight is charged directly and checked at once
   * (the work is over when this is called; waiting for the watchdog would let the isolate run
   * more of it). Anything else (waitUntil work, top-level code, a Durable Object's background)
   * goes on the isolate's clock like its own CPU: shared by #account, limited by checkIdle.
   */
  chargeHost(ctx: unknown, ns: bigint): void {
    if (ns <= 0n || this.state === 'dead') return;
    const a = typeof ctx === 'number' ? this.active.get(ctx) : undefined;
    if (!a) {
      this.#hostCpu += ns;
      return;
    }
    a.cpuUsed += ns;
    const breach = this.#cpuBreach(a);
    if (breach) this.breach(breach);
  }

  creditCpu(ns: bigint): void {
    if (ns <= 0n) return;
    this.#cpuCredit += ns;
    if (this.#idleCpu >= 0n) this.#idleCpu += ns;
  }

  /** Hand a WebSocket event to the isolate; settles once it ran there (back-pressure, bridge/inflow.ts). */
  wsEvent(id: number, type: string, a?: unknown, b?: unknown): Promise<void> | undefined {
    if (type === 'close') this.#releaseSocket(id);
    if (this.iso.isolate.isDisposed) return undefined;
    const delivered = this.iso.api.wsEvent
      .apply(undefined, [id, type, a, b], { arguments: { copy: true } })
      .then(
        () => {
          // Each message handled is an event with the CPU limit of its own: its invocation is
          // given one limit back once the isolate has run it (not when it arrives, which a
          // client could time to refill a loop's budget while it runs).
          const holder = type === 'message' ? this.#socketHolds.get(id) : undefined;
          if (!holder) return;
          this.#account();
          const limit = BigInt(Math.round(this.version.limits.cpuMs * 1e6));
          holder.cpuUsed = holder.cpuUsed > limit ? holder.cpuUsed - limit : 0n;
        },
        (err) => this.onApplyError(err as Error),
      );
    // A closed socket may be what kept a retiring isolate alive.
    if (type === 'close' && this.state === 'retiring' && !this.busy) setImmediate(() => this.dispose());
    return delivered;
  }

  #send(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    return this.alone ? this.iso.calls.call(ref, args) : this.iso.calls.queue(ref, args);
  }

  /** Load the version's bundle into a pooled isolate (the cold start). */
  static async load(
    version: WorkerVersion,
    iso: PooledIsolate,
    observer: Observer,
    codeCache: CodeCache,
    durableObject?: ObjectLoad,
    /** Wire the instance's bindings before any tenant code runs (a constructor may use them). */
    prepare?: (inst: WorkerInstance) => void,
  ): Promise<WorkerInstance> {
    const inst = new WorkerInstance(version, iso, observer);
    if (durableObject) inst.#background = inst.#record(`object ${durableObject.id.slice(0, 12)}`);
    prepare?.(inst);
    const { limits } = version;
    try {
      await loadBundle(iso, version, codeCache, durableObject);
    } catch (err) {
      inst.dispose();
      const e = err as Error;
      const stack = version.mapper.mapStack(String(e.stack ?? e.message));
      const why = /timed out/i.test(e.message)
        ? `the script's top level ran longer than ${limits.startupMs} ms`
        : e.message;
      throw new ScriptLoadError(`Worker "${version.name}" failed to load: ${why}`, stack);
    }
    return inst;
  }

  /** Set by the runtime: what fetch() may connect to (null: nothing). */
  egress: EgressPolicy | null = null;
  /** What this PoP counts (set by the runtime). */
  metrics: PopMetrics = NO_METRICS;
  /** Set by the runtime: where this worker's service bindings lead. */
  services: ServiceLinks | null = null;
  /** Set by the runtime: the PoP's Cache API store. */
  cache: CacheAccess | null = null;
  bindings: ReadonlyMap<string, ConnectedBinding> | null = null;
  objects: ObjectLinks | null = null;
  durable: StagedStorage | null = null;
  hibernation: HibernationSet | null = null;
  /**
   * Each call its own task in the isolate, never batched with others: an object's events must
   * not start inside another event's microtask run (the input gate, src/runtime/isolate/durable.ts).
   */
  alone = false;

  /**
   * An RPC call into this worker (from another worker's service binding): counted and limited
   * like a request. Arguments and result are structured-cloned by isolated-vm.
   */
  async rpc(
    entrypoint: string | null,
    method: string,
    args: unknown[],
    chain: RequestChain = freshChain(),
  ): Promise<unknown> {
    const a = this.#begin(
      undefined,
      chain,
      this.#span(chain.trace, 'outpost.worker.rpc', { 'rpc.method': method }),
    );
    try {
      const r = (await this.#send(this.iso.api.rpc, [a.id, entrypoint, method, args])) as {
        value: unknown;
        waitUntil: number;
      };
      if (a.breach) throw a.breach;
      if (r.waitUntil > 0) this.#settle(a);
      return r.value;
    } catch (err) {
      const e = this.#explain(err, a);
      a.span.end(undefined, (e as Error).message);
      // The callee's exception is rethrown in the caller with its message and class name.
      if (e instanceof WorkerException) {
        const name = (err as { name?: unknown })?.name;
        throw new NamedError(e.message, typeof name === 'string' ? name : 'Error');
      }
      throw e;
    } finally {
      a.responded = true;
      this.#finish(a);
    }
  }

  /**
   * A handler event (a Tail Worker's `tail(events)`): counted and limited like a request, its
   * arguments structured-cloned in. Its own invocation is not tailed (no event loops).
   */
  async event(
    handler: 'tail' | 'scheduled' | 'queue' | 'workflow',
    args: unknown[],
    chain: RequestChain = freshChain(),
  ): Promise<unknown> {
    const a = this.#begin(undefined, chain);
    if (handler === 'workflow') {
      const token = (args[0] as { token?: unknown } | undefined)?.token;
      if (typeof token === 'string') a.runToken = token;
    }
    try {
      const r = (await this.#send(this.iso.api.event, [a.id, handler, args])) as {
        waitUntil: number;
        value?: unknown;
      };
      if (a.breach) throw a.breach;
      if (r.waitUntil > 0) this.#settle(a);
      return r.value;
    } catch (err) {
      const e = this.#explain(err, a);
      if (e instanceof WorkerException) throw new NamedError(e.message, 'Error');
      throw e;
    } finally {
      a.responded = true;
      this.#finish(a);
    }
  }

  log(level: string, text: string, ctx?: unknown): void {
    const l = level === 'warn' || level === 'error' || level === 'debug' ? level : 'info';
    const a = typeof ctx === 'number' ? this.#live.get(ctx) : undefined;
    this.observer.log({
      level: l,
      source: `worker:${this.version.name}`,
      message: text,
      ...(a ? { fields: { request: a.label } } : {}),
    });
    a?.tail?.log(TAIL_LEVELS.has(level) ? level : 'log', text);
  }

  /** The live invocation a call names, or an error saying why there is none. */
  #invocation(ctx: unknown): Active {
    const a = (typeof ctx === 'number' && ctx > 0 ? this.#live.get(ctx) : undefined) ?? this.#background;
    if (a) return a;
    throw new NamedError(
      ctx === 0
        ? 'I/O (fetch, KV, cache, Durable Objects, service bindings, WebSockets) is only possible while handling a request, not at the top level of the module.'
        : 'Cannot perform I/O on behalf of a request that has finished: its response was sent and its waitUntil() work is over.',
      'Error',
    );
  }

  /** Where finished invocations go for live tail (set by the runtime); null: nobody tails. */
  tail: TailHub | null = null;

  /** Throws unless `ctx` names an invocation that may still do I/O (KV, cache, purge). */
  requireLive(ctx: unknown): void {
    this.#invocation(ctx);
  }

  runToken(ctx: unknown): string | null {
    return (typeof ctx === 'number' ? this.#live.get(ctx)?.runToken : undefined) ?? null;
  }

  stepBudget(ctx: unknown, wallMs: number): void {
    const a = this.#invocation(ctx);
    this.#account();
    a.cpuUsed = 0n;
    a.subrequests = 0;
    a.startedAt = performance.now();
    a.wallMs = wallMs;
  }

  chain(ctx: unknown): RequestChain {
    return this.#invocation(ctx).chain;
  }

  beginSubrequest(ctx: unknown): void {
    const a = this.#invocation(ctx);
    a.subrequests++;
    if (a.subrequests <= this.version.limits.subrequests) return;
    const err = new LimitExceededError(
      'subrequests',
      `more than ${this.version.limits.subrequests} subrequests in one request`,
    );
    // Only this request fails (its response becomes the limit's 503); the isolate serves on.
    if (!a.breach && !a.responded) {
      a.breach = err;
      this.observer.log({
        level: 'error',
        source: 'outpost',
        message: `${this.version.name}: ${err.message}`,
        fields: { limit: 'subrequests', request: a.label },
      });
    }
    throw new NamedError('Too many subrequests.', 'Error');
  }

  hops(ctx: unknown): HopRecorder | null {
    // Bound now: the call may finish after its request has answered (what it records then is
    // not shown, the header being out; its span is still part of the trace).
    const a = typeof ctx === 'number' ? this.#live.get(ctx) : undefined;
    if (!a) return null;
    return recordHops(a.hops, a.span.scope);
  }

  onApplyError(err: Error): void {
    const message = err?.message ?? String(err);
    if (this.#deathFrom(message)) return;
    // A promise the worker rejected and never handled: Workers logs it and carries on.
    this.log('error', `Uncaught (in promise) ${this.version.mapper.mapStack(String(err?.stack ?? message))}`);
  }

  reportLimit(name: string, detail: string): void {
    if (name === 'memory') this.breach(new LimitExceededError('memory', detail));
  }

  /** The isolate's CPU time when #account last ran, and credit not yet taken off (ns). */
  #cpuSeen = 0n;
  #cpuCredit = 0n;
  /** Host time charged to no response in flight (chargeHost), ns. */
  #hostCpu = 0n;

  /** The isolate's CPU clock: its own CPU time plus host work done for it outside a response. */
  #clock(): bigint {
    return this.iso.isolate.cpuTime + this.#hostCpu;
  }

  /**
   * Share the isolate's CPU since the last call among the responses in flight. Overlapping
   * requests share one CPU clock (the isolate's) and which of them ran cannot be measured from
   * the host: each is charged an equal share of what was used while it was in flight. Measuring
   * from each request's start instead charged a long request with CPU its neighbours used.
   */
  #account(): void {
    if (this.iso.isolate.isDisposed) return;
    const now = this.#clock();
    let charge = now - this.#cpuSeen - this.#cpuCredit;
    this.#cpuSeen = now;
    if (charge < 0n) {
      this.#cpuCredit = -charge;
      charge = 0n;
    } else this.#cpuCredit = 0n;
    if (charge === 0n) return;
    // cpuTime is time run by the clock: each slice is weighed by how contended the cores are now.
    charge = weighCpu(charge);
    // With no response in flight, the invocations still live (waitUntil work, WebSocket
    // handlers) share it: their budget is the one their request started with, as on Workers.
    const to = this.active.size > 0 ? this.active : this.#live;
    if (to.size === 0) return;
    const share = charge / BigInt(to.size);
    for (const a of to.values()) a.cpuUsed += share;
  }

  /**
   * Called by the runtime's watchdog every few ms while busy; `now` is performance.now(): a wall
   * clock stepped forward (NTP, a VM's clock sync) must not fail a request that ran for 100 ms.
   */
  checkLimits(now: number): void {
    if (this.state === 'dead' || this.active.size === 0) return;
    if (this.iso.isolate.isDisposed) {
      // isolated-vm disposes an isolate by itself only when its heap passes memoryLimit.
      this.breach(this.heapBreach());
      return;
    }
    this.#account();
    for (const a of this.active.values()) {
      const cpu = this.#cpuBreach(a);
      if (cpu) {
        this.breach(cpu);
        return;
      }
      const wallMs = a.wallMs ?? this.version.limits.wallMs;
      if (!a.responded && now - a.startedAt > wallMs) {
        this.breach(new LimitExceededError('wall', `no response within ${wallMs} ms`));
        return;
      }
    }
  }

  #cpuBreach(a: Active): LimitExceededError | null {
    const used = a.cpuUsed;
    const limit = BigInt(Math.round(this.version.limits.cpuMs * 1e6));
    if (used <= limit) return null;
    return new LimitExceededError(
      'cpu',
      `${(Number(used) / 1e6).toFixed(1)} ms used, limit ${this.version.limits.cpuMs} ms`,
    );
  }

  /** If an isolated-vm error means the isolate is gone, record the breach and return it. */
  #deathFrom(message: string): LimitExceededError | null {
    if (!/memory limit/i.test(message) && !this.iso.isolate.isDisposed) return null;
    const err = /memory limit/i.test(message)
      ? this.heapBreach()
      : new LimitExceededError('memory', `isolate lost: ${message}`);
    this.breach(err);
    return this.deathReason ?? err;
  }

  /** The memory breach: isolated-vm disposed the isolate (heap past memoryLimit). */
  heapBreach(where = ''): LimitExceededError {
    return new LimitExceededError('memory', `heap passed ${this.version.limits.memoryMb} MB${where}`);
  }

  /** CPU seen at the last idle check (see Runtime's sweep), and when (performance.now()). */
  #idleCpu = -1n;
  #idleAt = 0;
  /** CPU used with no response in flight beyond half of the time it ran in, ns (see checkIdle). */
  #idleExcess = 0n;

  /**
   * Called by the runtime's sweep while no response is in flight. What runs then is limited
   * two ways:
   *  - Work of requests still live (waitUntil, WebSocket handlers): each request within its
   *    CPU limit in all, counting what it used before its response (#account shares what runs
   *    among them; each WebSocket message handled gives its request one limit back: an event of
   *    its own). Backstop for budgets diluted over many live requests: what is used beyond 90%
   *    of a core, summed across periods, may reach the limit at most.
   *  - Work outside any request (timers armed at the top level or after everything ended): at
   *    most the limit per sweep period, and what is used beyond half a core, summed across
   *    periods (draining while it uses less), at most the limit (so limits longer than the
   *    period hold too).
   */
  checkIdle(): void {
    const live = this.#live.size > 0;
    const where = live ? ' after the response (waitUntil, WebSocket or timer work)' : ' outside any request';
    if (this.iso.isolate.isDisposed) {
      this.breach(this.heapBreach(where));
      return;
    }
    const cpu = this.#clock();
    const at = performance.now();
    const [last, lastAt] = [this.#idleCpu, this.#idleAt];
    this.#idleCpu = cpu;
    this.#idleAt = at;
    if (last < 0n) return;
    // cpuTime is time run by the clock: weighed by how contended the cores are (contention.ts).
    const used = weighCpu(cpu - last);
    const allowance = BigInt(Math.round((at - lastAt) * 1e6 * (live ? 0.9 : 0.5)));
    const excess = this.#idleExcess + used - allowance;
    this.#idleExcess = excess > 0n ? excess : 0n;
    const limit = BigInt(Math.round(this.version.limits.cpuMs * 1e6));
    const ms = (ns: bigint) => (Number(ns) / 1e6).toFixed(1);
    const cpuBreach = (what: string) =>
      this.breach(new LimitExceededError('cpu', `${what}${where}, limit ${this.version.limits.cpuMs} ms`));
    if (!live && used > limit) {
      cpuBreach(`${ms(used)} ms used`);
      return;
    }
    if (this.#idleExcess > limit) {
      cpuBreach(`${ms(this.#idleExcess)} ms used beyond ${live ? '90%' : 'half'} of a core`);
      return;
    }
    if (!live) return;
    this.#account();
    const over = [...this.#live.values()].find((a) => a.cpuUsed > limit);
    if (over)
      this.breach(
        new LimitExceededError(
          'cpu',
          `${ms(over.cpuUsed)} ms used by a request with its work after the response (waitUntil, WebSocket messages), limit ${this.version.limits.cpuMs} ms`,
        ),
      );
  }

  /** A limit was breached: every request in flight answers with it and the isolate goes. */
  breach(err: LimitExceededError): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deathReason = err;
    for (const a of this.active.values()) a.breach ??= err;
    this.iso.calls.failAll(err);
    this.observer.log({
      level: 'error',
      source: 'outpost',
      message: `${this.version.name}: ${err.message}; isolate recycled`,
      fields: { limit: err.limit },
    });
    // Never dispose from inside a syscall the isolate is blocked on.
    setImmediate(() => this.dispose());
  }

  retire(): void {
    if (this.state !== 'ready') return;
    this.state = 'retiring';
    this.onDeath?.();
    if (!this.busy) setImmediate(() => this.dispose());
  }

  dispose(): void {
    if (this.state !== 'dead') this.state = 'dead';
    this.iso.slot.owner = null;
    this.iso.slot.release?.();
    this.iso.calls.failAll(this.deathReason ?? new Error('worker isolate disposed'));
    this.bodies.cancelAll('worker isolate disposed');
    if (!this.iso.isolate.isDisposed) this.iso.isolate.dispose();
    this.onDeath?.();
    this.onDeath = null;
  }

  async sampleHeap(): Promise<void> {
    if (this.iso.isolate.isDisposed) return;
    try {
      const s = await this.iso.isolate.getHeapStatistics();
      this.heapBytes = s.total_heap_size + s.externally_allocated_size;
    } catch {
      // disposed meanwhile
    }
  }

  #explain(err: unknown, a: Active): Error {
    if (a.breach) return a.breach;
    if (this.deathReason) return this.deathReason;
    const message = (err as Error)?.message ?? String(err);
    const death = this.#deathFrom(message);
    if (death) return death;
    return new WorkerException(
      message,
      this.version.mapper.mapStack(String((err as Error)?.stack ?? message)),
    );
  }

  #finish(a: Active, error?: string): void {
    if (!this.active.has(a.id)) return;
    this.#account();
    this.active.delete(a.id);
    a.span.end(
      { 'outpost.worker.cpu_ms': Number(a.cpuUsed) / 1e6 },
      error ?? (a.breach ? a.breach.message : undefined),
    );
    // The response may stream the request body (e.g. piped through a TransformStream): only now is it unneeded.
    if (a.bodyId !== null) this.bodies.cancel(a.bodyId, 'request finished');
    this.#release(a);
  }

  /** One reason to keep `a` live is gone; with none left, its I/O is over. */
  #release(a: Active): void {
    if (--a.holds > 0) return;
    this.#live.delete(a.id);
    if (a.tail) this.tail?.emit(a.tail.item, a.chain);
    if (this.state === 'retiring' && !this.busy) setImmediate(() => this.dispose());
    if (!this.busy) this.onIdle?.();
  }

  #releaseSocket(id: number): void {
    const a = this.#socketHolds.get(id);
    if (!a) return;
    this.#socketHolds.delete(id);
    this.#release(a);
  }

  /** Start tracking a request (or RPC call) for the limits. */
  #begin(label?: string, chain: RequestChain = freshChain(), span?: OpenSpan): Active {
    if (this.state === 'dead') throw this.deathReason ?? new Error('isolate is gone');
    this.lastUsed = Date.now();
    this.#idleCpu = -1n;
    // An object's work outside its events gets a fresh budget with each event.
    if (this.#background) this.#background.subrequests = 0;
    const a = this.#record(label, chain, span);
    this.#invocations++;
    this.#account(); // what ran before it is not its share
    this.active.set(a.id, a);
    this.#live.set(a.id, a);
    return a;
  }

  #record(label?: string, chain: RequestChain = freshChain(), span: OpenSpan = NO_SPAN): Active {
    const a: Active = {
      id: nextRequestId++,
      startedAt: performance.now(),
      cpuUsed: 0n,
      subrequests: 0,
      breach: null,
      responded: false,
      bodyId: null,
      hops: { hops: [], shield: [], objects: [] },
      span,
      tail: null,
      holds: 1,
      label: '',
      chain,
    };
    a.label = label ?? String(a.id);
    return a;
  }

  /**
   * In a Durable Object's isolate: what the object does outside any event (its constructor, a
   * timer that outlives the event that set it) is charged here, as workerd gives an object one
   * I/O context for its whole life. Counted and limited like a request; never keeps the isolate busy.
   */
  #background: Active | null = null;

  /** The span of an invocation under `parent`: which worker, and whether it was a cold start. */
  #span(parent: TraceScope | undefined, name: string, attrs?: Attrs): OpenSpan {
    if (!parent?.recording) return NO_SPAN;
    // Cold: the first invocation of this isolate's load (a request, an RPC call or an event).
    const cold = this.#invocations === 0;
    const all: Attrs = {
      'faas.name': this.version.name,
      'faas.coldstart': cold,
      'outpost.isolate.cold': cold,
    };
    if (attrs) Object.assign(all, attrs);
    return parent.start(name, SpanKind.INTERNAL, all);
  }

  /** Invocations begun in this isolate (the cold-start attribute of the first). */
  #invocations = 0;

  async handle(req: WorkerRequest): Promise<WorkerResponse> {
    // A request from another worker carries its chain; one entering the platform, its CF-EW-Via.
    const chain = req.chain ?? chainFromHeaders(req.headers);
    checkEntry(chain);
    const a = this.#begin(rayOf(req.headers), chain, this.#span(req.trace ?? chain.trace, 'outpost.worker'));
    if (this.tail?.wants(this.version.name))
      a.tail = new TailDraft(
        this.version.name,
        req,
        this.#background ? 'durableObject' : 'stateless',
        rayOf(req.headers),
      );
    this.requests++;
    let body: ArrayBuffer | number | null = null;
    if (req.body instanceof Uint8Array) body = req.body.slice().buffer as ArrayBuffer;
    else if (req.body) body = a.bodyId = this.bodies.add(req.body);

    let result: DispatchResult;
    try {
      // request.cf rarely changes between requests (the PoP hands out shared frozen objects):
      // send it only when it differs from the last one this isolate saw (null = the same).
      const cf = req.cf === this.#lastCf ? null : req.cf;
      this.#lastCf = req.cf;
      // Positional arguments: a serialized object would carry its key names on every request.
      result = toResult(
        await this.#send(this.iso.api.dispatch, [a.id, req.method, req.url, req.headers, cf, body]),
      );
    } catch (err) {
      const e = this.#explain(err, a);
      a.tail?.outcome(tailOutcome(e));
      this.#finish(a, (e as Error).message);
      throw e;
    }
    a.responded = true;
    if (result.waitUntil > 0) this.#settle(a);
    if (a.breach) {
      a.tail?.outcome(tailOutcome(a.breach));
      this.#discard(result);
      this.#finish(a);
      throw a.breach;
    }
    if (result.error) {
      a.tail?.exception(result.error.name ?? 'Error', result.error.message);
      a.tail?.outcome('exception');
      a.tail?.status(500);
      this.#finish(a, `${result.error.message}`);
      const err = new WorkerException(result.error.message, this.version.mapper.mapStack(result.error.stack));
      err.passThrough = !!result.passThrough;
      throw err;
    }
    const status = result.status;
    const invalid =
      !Number.isInteger(status) || status < 101 || status > 599
        ? `status ${String(status)}`
        : !Array.isArray(result.headers) ||
            result.headers.length % 2 !== 0 ||
            result.headers.some(
              (h, i) => typeof h !== 'string' || (i % 2 === 0 ? !TOKEN.test(h) : /[\0\r\n]/.test(h)),
            )
          ? 'malformed headers'
          : null;
    if (invalid) {
      this.#discard(result);
      this.#finish(a);
      throw new WorkerException(`The worker returned an invalid response (${invalid})`, '');
    }
    // The WebSocket's hold is taken before the body's end may release the request.
    const webSocket =
      typeof result.webSocket === 'string'
        ? this.#passedEnd(result.webSocket)
        : typeof result.webSocket === 'number'
          ? this.#webSocketEnd(result.webSocket, a)
          : undefined;
    a.tail?.status(status);
    return {
      status,
      statusText: String(result.statusText ?? ''),
      headers: result.headers,
      body: this.#responseBody(result, a),
      webSocket,
      hops: a.hops,
    };
  }

  /**
   * What the PoP uses to bridge an upgraded connection to the worker's WebSocket end. The
   * request that answered with it stays live while the socket is open: its message handlers
   * run for it (as in Workers, where the request's I/O context lives on with its WebSocket).
   */
  /** Another worker's or a Durable Object's end, passed to this isolate: the client talks to it. */
  #passedEnd(token: string): WorkerWebSocket {
    const passed = takePassedSocket(token, this);
    if (passed) return passed;
    return { attach: (socket) => socket.close(1011, 'the WebSocket is gone'), refuse: () => {} };
  }

  #webSocketEnd(id: number, a: Active): WorkerWebSocket {
    if (!Number.isInteger(id) || id <= 0)
      return { attach: (socket) => socket.close(1011, 'no such WebSocket'), refuse: () => {} };
    if (!this.#live.has(a.id)) throw new Error('internal: a WebSocket for a request that is over');
    a.holds++;
    this.#socketHolds.set(id, a);
    // The PoP attaches the client or refuses soon after the 101; a handshake that dies on the
    // way (a client gone, a malformed upgrade) must not keep the request live for ever.
    const deadline = setTimeout(
      () => this.wsEvent(id, 'close', 1006, 'the WebSocket was not taken up'),
      SOCKET_TAKE_UP_MS,
    );
    deadline.unref();
    return {
      attach: (socket) => {
        clearTimeout(deadline);
        if (this.hibernation?.reserved(id)) {
          // Accepted for hibernation: the socket is held outside the isolate, and each of its
          // events is an invocation of its own (an object event).
          this.#releaseSocket(id);
          this.hibernation.attach(id, socket);
          this.wsEvent(id, 'open');
          return;
        }
        const table = this.iso.slot.sockets;
        if (!table || this.state === 'dead') {
          this.#releaseSocket(id);
          socket.close(1011, 'worker is gone');
          return;
        }
        table.attach(id, socket);
        this.wsEvent(id, 'open');
      },
      refuse: (reason) => {
        clearTimeout(deadline);
        this.wsEvent(id, 'close', 1006, reason);
      },
    };
  }

  #discard(result: DispatchResult) {
    if (result.kind === 'host' && typeof result.body === 'number') this.bodies.cancel(result.body);
    if (result.kind === 'stream' && typeof result.body === 'number')
      this.#cancelStream(result.body, 'limit exceeded');
  }

  #cancelStream(id: number, reason: string) {
    if (this.iso.isolate.isDisposed) return;
    this.iso.api.cancel.apply(undefined, [id, reason], { arguments: { copy: true } }).catch(() => {});
  }

  #responseBody(result: DispatchResult, a: Active): Uint8Array | ChunkSource | null {
    if (result.kind === 'bytes' && result.body instanceof ArrayBuffer) {
      this.#finish(a);
      return new Uint8Array(result.body);
    }
    if (result.kind === 'host' && typeof result.body === 'number') {
      const source = this.bodies.take(result.body);
      if (!source) {
        this.#finish(a);
        return null;
      }
      return this.#tracked(source, a);
    }
    if (result.kind === 'stream' && typeof result.body === 'number') {
      const id = result.body;
      const pull = this.iso.api.pull;
      const source: ChunkSource = {
        next: async () => {
          const chunk = (await this.iso.calls.call(pull, [id]).catch((err) => {
            throw this.#explain(err, a);
          })) as ArrayBuffer | null;
          return chunk === null ? null : new Uint8Array(chunk);
        },
        cancel: (reason) => this.#cancelStream(id, reason ?? 'client disconnected'),
      };
      return this.#tracked(source, a);
    }
    this.#finish(a);
    return null;
  }

  /** Keep the request accounted (CPU limit, busy) until its streamed body ends. */
  #tracked(source: ChunkSource, a: Active): ChunkSource {
    return {
      next: async () => {
        if (a.breach) throw a.breach;
        try {
          const chunk = await source.next();
          if (chunk === null) this.#finish(a);
          return chunk;
        } catch (err) {
          this.#finish(a);
          throw a.breach ?? err;
        }
      },
      cancel: (reason) => {
        source.cancel(reason);
        this.#finish(a);
      },
    };
  }

  /** Keep `a` live until its waitUntil() work settles, or its time after the response is up. */
  #settle(a: Active): void {
    const id = a.id;
    a.holds++;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log(
          'warn',
          `ctx.waitUntil() work did not finish within ${this.version.limits.waitUntilMs} ms after the response; no longer awaited`,
        );
        if (!this.iso.isolate.isDisposed)
          this.iso.api.forget.apply(undefined, [id], { arguments: { copy: true } }).catch(() => {});
        resolve();
      }, this.version.limits.waitUntilMs);
    });
    const settled = this.iso.calls.call(this.iso.api.settle, [id]).then(
      () => {},
      () => {},
    );
    Promise.race([settled, limit]).then(() => {
      clearTimeout(timer);
      this.#release(a);
    });
  }
}
