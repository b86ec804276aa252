/**
 * A WorkerInstance is one isolate serving one worker version. It owns the request path through
 * the isolate and the limits that guard it:
 *
 *  - CPU: isolated-vm's `timeout` stops covering code once it has awaited a host promise, so the
 *    runtime's watchdog samples `isolate.cpuTime` every few ms (checkLimits) and disposes the
 *    isolate on a breach. Requests that overlap in one isolate share its CPU clock: each is
 *    charged an equal share of the CPU used while it was in flight (cpu-meter.ts). Host work
 *    done for the isolate outside it (crypto.subtle, hashing: chargeHost) counts as its CPU too.
 *    A reading is the time its tasks ran by the clock: weighed by contention (contention.ts).
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
  type OpenSpan,
  type PopMetrics,
  recordHops,
  TailDraft,
  type TailHub,
  type TraceScope,
} from '../observability/index.ts';
import type { ConnectedBinding } from './bindings/types.ts';
import { BodyRegistry, toArrayBuffer } from './bridge/bodies.ts';
import type { CacheAccess } from './bridge/cache.ts';
import type { ObjectLinks } from './bridge/durable.ts';
import { kvHits } from './bridge/kv.ts';
import { NamedError } from './bridge/named-error.ts';
import type { ServiceLinks } from './bridge/service.ts';
import type { IsolateOwner } from './bridge/syscalls.ts';
import type { CodeCache, Turn } from './code-cache.ts';
import { CpuMeter, cpuTimeOf } from './cpu-meter.ts';
import { type DispatchResult, rayOf, responseProblem, toResult } from './dispatch-result.ts';
import type { EgressPolicy } from './egress.ts';
import { LimitExceededError, ScriptLoadError, WorkerException } from './errors.ts';
import { IdTable } from './id-table.ts';
import { type Active, newInvocation, TAIL_LEVELS, tailOutcome } from './invocation.ts';
import { loadBundle } from './load.ts';
import { chainFromHeaders, checkEntry, freshChain, type RequestChain } from './loops.ts';
import type { PooledIsolate } from './pool.ts';
import { type BodyHost, discardBody, responseBody, wholeBody } from './response-body.ts';
import { passedEnd, webSocketEnd } from './socket-ends.ts';
import type { HopRecorder, WorkerRequest, WorkerResponse, WorkerVersion, WorkerWebSocket } from './types.ts';

export class WorkerInstance implements IsolateOwner {
  state: 'ready' | 'retiring' | 'dead' = 'ready';
  deathReason: LimitExceededError | null = null;
  readonly bodies = new BodyRegistry();
  /** Invocations whose response is still in flight (wall time, CPU, busy). Not Maps: id-table.ts. */
  readonly active = new IdTable<Active>();
  /** Invocations that may still do I/O: answering, settling waitUntil work, or holding a WebSocket. */
  readonly #live = new IdTable<Active>();
  /** Worker-side WebSocket ends answered in a 101: the invocation each keeps live until it closes. */
  readonly #socketHolds = new Map<number, Active>();
  lastUsed = Date.now();
  /** Heap bytes (committed heap + external), sampled after load and now and then. */
  heapBytes = 0;
  requests = 0;
  /**
   * This isolate's turn to make its bundle's code cache (code-cache.ts): taken once its first
   * invocation has answered and none is in flight.
   */
  #cacheTurn: Turn | null = null;
  onDeath: (() => void) | null = null;
  #lastCf: Record<string, unknown> | null = null;

  private constructor(
    readonly version: WorkerVersion,
    readonly iso: PooledIsolate,
    private readonly observer: Observer,
  ) {
    iso.slot.owner = this;
    this.#meter = new CpuMeter(iso.isolate, iso.slot.running);
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
    return cpuTimeOf(this.iso.isolate) ?? 0n;
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
      this.#meter.chargeOutside(ns);
      return;
    }
    // Not weighed by contention (as the isolate's slices are): synchronous host work holds the
    // main thread, every tenant's, for its whole wall time, which is the harm to limit.
    a.cpuUsed += ns;
    const breach = this.#cpuBreach(a);
    if (breach) this.breach(breach);
  }

  creditCpu(ns: bigint): void {
    if (ns <= 0n) return;
    this.#meter.credit(ns);
  }

  /** Hand a WebSocket event to the isolate; settles once it ran there (back-pressure, bridge/inflow.ts). */
  wsEvent(id: number, type: string, a?: unknown, b?: unknown): Promise<void> | undefined {
    if (type === 'close') this.#releaseSocket(id);
    if (this.iso.isolate.isDisposed) return undefined;
    const delivered = this.iso.calls.call(this.iso.api.wsEvent, [id, type, a, b]).then(
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
      // After a breach every call fails with it: that is no stray rejection of the worker's.
      (err) => {
        if (this.state !== 'dead') this.onApplyError(err as Error);
      },
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
    /** A deploy's load, before any request: make the code cache now (code-cache.ts). */
    eager = false,
  ): Promise<WorkerInstance> {
    const inst = new WorkerInstance(version, iso, observer);
    if (durableObject)
      inst.#background = newInvocation(version.name, `object ${durableObject.id.slice(0, 12)}`);
    prepare?.(inst);
    const { limits } = version;
    try {
      inst.#cacheTurn = await loadBundle(iso, version, codeCache, durableObject, eager);
      if (eager) inst.#makeCache(false);
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
    const a = this.#begin(undefined, chain, chain.trace, 'outpost.worker.rpc', { 'rpc.method': method });
    let failure: string | undefined;
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
      failure = (e as Error).message;
      // The callee's exception is rethrown in the caller with its message and class name.
      if (e instanceof WorkerException) {
        const name = (err as { name?: unknown })?.name;
        throw new NamedError(e.message, typeof name === 'string' ? name : 'Error');
      }
      throw e;
    } finally {
      a.responded = true;
      this.#finish(a, failure);
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

  /** Whether binding `name` is a KV namespace (made on first use: most workers have no KV). */
  #isKv: ((name: string) => boolean) | undefined;

  hops(ctx: unknown): HopRecorder | null {
    // Bound now: the call may finish after its request has answered (what it records then is
    // not shown, the header being out; its span is still part of the trace).
    const a = typeof ctx === 'number' ? this.#live.get(ctx) : undefined;
    if (!a) return null;
    // Under the custom span the worker made the call in, if any (bridge/syscalls.ts).
    return recordHops(a.hops, this.iso.slot.callScope?.(ctx) ?? a.span.scope);
  }

  invocationSpan(ctx: unknown): OpenSpan | null {
    const a = typeof ctx === 'number' ? this.#live.get(ctx) : undefined;
    return a ? a.span : null;
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

  /** The isolate's CPU clock and its shares (cpu-meter.ts). */
  readonly #meter: CpuMeter;

  /** Share the isolate's CPU since the last call among the responses in flight (else the invocations still live). */
  #account(): void {
    this.#meter.share(this.active.size > 0 ? this.active : this.#live);
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
    // The oldest invocation over a limit names the breach (the table keeps no order: id-table.ts).
    let first: Active | null = null;
    let err: LimitExceededError | null = null;
    for (const a of this.active.values()) {
      if (first !== null && a.id > first.id) continue;
      const wallMs = a.wallMs ?? this.version.limits.wallMs;
      const over =
        this.#cpuBreach(a) ??
        (!a.responded && now - a.startedAt > wallMs
          ? new LimitExceededError('wall', `no response within ${wallMs} ms`)
          : null);
      if (over) {
        first = a;
        err = over;
      }
    }
    if (err) this.breach(err);
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

  /**
   * The memory breach: isolated-vm disposed the isolate (heap past memoryLimit), said of the
   * work running when it happened, whichever part noticed first (the watchdog, the idle sweep,
   * or the failed call into the isolate that ran it, e.g. a timer's).
   */
  heapBreach(): LimitExceededError {
    return new LimitExceededError('memory', `heap passed ${this.version.limits.memoryMb} MB${this.#when()}`);
  }

  /** What runs now, for a breach's message: a response in flight (''), work after one, or neither. */
  #when(): string {
    if (this.active.size > 0) return '';
    return this.#live.size > 0
      ? ' after the response (waitUntil, WebSocket or timer work)'
      : ' outside any request';
  }

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
    const where = this.#when();
    if (this.iso.isolate.isDisposed) {
      this.breach(this.heapBreach());
      return;
    }
    const idle = this.#meter.idle(live ? 0.9 : 0.5);
    if (!idle) return;
    const { used, excess } = idle;
    const limit = BigInt(Math.round(this.version.limits.cpuMs * 1e6));
    const cpuMs = this.version.limits.cpuMs;
    if (!live && used > limit) {
      this.breach(new LimitExceededError('cpu', `${msOf(used)} ms used${where}, limit ${cpuMs} ms`));
      return;
    }
    if (excess > limit) {
      const share = live ? '90%' : 'half';
      this.breach(
        new LimitExceededError(
          'cpu',
          `${msOf(excess)} ms used beyond ${share} of a core${where}, limit ${cpuMs} ms`,
        ),
      );
      return;
    }
    if (!live) return;
    this.#account();
    // The oldest over the limit (the table keeps no order: id-table.ts).
    let over: Active | null = null;
    for (const a of this.#live.values()) if (a.cpuUsed > limit && (over === null || a.id < over.id)) over = a;
    if (over)
      this.breach(
        new LimitExceededError(
          'cpu',
          `${msOf(over.cpuUsed)} ms used by a request with its work after the response (waitUntil, WebSocket messages), limit ${this.version.limits.cpuMs} ms`,
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
    const turn = this.#cacheTurn;
    this.#cacheTurn = null;
    this.iso.slot.owner = null;
    this.iso.slot.release?.();
    this.iso.calls.failAll(this.deathReason ?? new Error('worker isolate disposed'));
    this.bodies.cancelAll('worker isolate disposed');
    if (!this.iso.isolate.isDisposed) this.iso.isolate.dispose();
    turn?.giveBack(); // gone before it took its turn
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

  /**
   * Make the bundle's code cache from what ran (code-cache.ts), if this isolate has the turn.
   * Its CPU is credited back once done; until then a request arriving meanwhile shares it, so
   * only when it is small beside the CPU limit (measured ~26 ns per byte of bundle; 40 assumed).
   */
  #makeCache(ran: boolean): void {
    const turn = this.#cacheTurn;
    if (!turn || this.state === 'dead') return;
    // From the top level alone (a deploy's load), the turn stays: made again after a run.
    if (ran) this.#cacheTurn = null;
    const estimateMs = this.version.bundle.code.length * 40e-6;
    if (estimateMs > this.version.limits.cpuMs / 4) {
      this.#cacheTurn = null;
      turn.giveBack();
    } else
      setImmediate(() => {
        // Gone meanwhile (a failed start disposes it): its clock cannot be read any more.
        if (this.iso.isolate.isDisposed) return turn.giveBack();
        const since = this.#meter.clock();
        turn.make((ns) => this.#meter.credit(ns, since), ran);
      });
  }

  #finish(a: Active, error?: string): void {
    if (!this.active.has(a.id)) return;
    this.#account();
    this.active.delete(a.id);
    if (this.active.size === 0) this.#makeCache(true);
    a.endSpan(error ?? (a.breach ? a.breach.message : undefined));
    this.metrics.invocation(a.worker, Number(a.cpuUsed) / 1e6);
    // The response may stream the request body (e.g. piped through a TransformStream): only now is it unneeded.
    if (a.bodyId !== null) this.bodies.cancel(a.bodyId, 'request finished');
    this.#release(a);
  }

  /** One reason to keep `a` live is gone; with none left, its I/O is over. */
  #release(a: Active): void {
    if (--a.holds > 0) return;
    this.#live.delete(a.id);

    // Custom spans the invocation left open end with it (src/runtime/bridge/custom-spans.ts).
    this.iso.slot.endSpans?.(a.id);
    if (a.tail) this.tail?.emit(a.tail.item, a.chain);
    if (this.state === 'retiring' && !this.busy) setImmediate(() => this.dispose());
  }

  #releaseSocket(id: number): void {
    const a = this.#socketHolds.get(id);
    if (!a) return;
    this.#socketHolds.delete(id);
    this.#release(a);
  }

  /** Start tracking an invocation; its span (`name`, `attrs`) goes under `under` when traced. */
  #begin(
    label?: string,
    chain: RequestChain = freshChain(),
    under?: TraceScope,
    name?: string,
    attrs?: Attrs,
  ): Active {
    if (this.state === 'dead') throw this.deathReason ?? new Error('isolate is gone');
    this.lastUsed = Date.now();
    this.#meter.busy();
    // An object's work outside its events gets a fresh budget with each event.
    if (this.#background) this.#background.subrequests = 0;
    const a = newInvocation(this.version.name, label, chain, under, name, attrs);
    // Cold: the first invocation of this isolate's load (a request, an RPC call or an event).
    a.cold = this.#invocations === 0;
    this.#invocations++;
    this.#account(); // what ran before it is not its share
    this.active.set(a.id, a);
    this.#live.set(a.id, a);
    return a;
  }

  /**
   * In a Durable Object's isolate: what the object does outside any event (its constructor, a
   * timer that outlives the event that set it) is charged here, as workerd gives an object one
   * I/O context for its whole life. Counted and limited like a request; never keeps the isolate busy.
   */
  #background: Active | null = null;

  /** Invocations begun in this isolate (the cold-start attribute of the first). */
  #invocations = 0;

  /*
   * A request is handled in three parts: #open and #answer are synchronous, around the one
   * await (the isolate's answer). In one async function the optimising compiler inlined the
   * helpers of either half but not both, and which half won was decided by a sub-per-cent
   * difference in call counts (an async function's resumptions count as calls): a process's
   * throughput moved by several per cent with it. Apart, each half is optimised with its helpers.
   */
  async handle(req: WorkerRequest): Promise<WorkerResponse> {
    const a = this.#open(req);
    let result: DispatchResult;
    try {
      // request.cf rarely changes between requests (the PoP hands out shared frozen objects):
      // send it only when it differs from the last one this isolate saw (null = the same).
      const cf = req.cf === this.#lastCf ? null : req.cf;
      this.#lastCf = req.cf;
      // Positional arguments: a serialized object would carry its key names on every request.
      result = toResult(
        await this.#send(this.iso.api.dispatch, [a.id, req.method, req.url, req.headers, cf, a.body]),
      );
    } catch (err) {
      const e = this.#explain(err, a);
      a.tail?.outcome(tailOutcome(e));
      this.#finish(a, (e as Error).message);
      throw e;
    }
    return this.#answer(a, result);
  }

  /** A request's invocation begun, its body registered (`a.body`: what crosses to the isolate). */
  #open(req: WorkerRequest): Active {
    // A request from another worker carries its chain; one entering the platform, its CF-EW-Via.
    const chain = req.chain ?? chainFromHeaders(req.headers);
    checkEntry(chain);
    const a = this.#begin(rayOf(req.headers), chain, req.trace ?? chain.trace);
    if (this.tail?.wants(this.version.name))
      a.tail = new TailDraft(
        this.version.name,
        req,
        this.#background ? 'durableObject' : 'stateless',
        rayOf(req.headers),
      );
    this.requests++;
    if (req.body instanceof Uint8Array) a.body = toArrayBuffer(req.body);
    else if (req.body) a.body = a.bodyId = this.bodies.add(req.body);
    return a;
  }

  /** The isolate's answer to request `a`, checked, as the response the PoP writes. */
  #answer(a: Active, result: DispatchResult): WorkerResponse {
    a.body = null;
    if (result.kvHits)
      kvHits(
        (this.#isKv ??= (name) => this.bindings?.get(name)?.type === 'kv'),
        result.kvHits,
        this.hops(a.id),
        this.metrics,
      );
    a.responded = true;
    if (result.waitUntil > 0) this.#settle(a);
    if (a.breach) {
      a.tail?.outcome(tailOutcome(a.breach));
      discardBody(result, this.#bodyHost(a));
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
    const invalid = responseProblem(result);
    if (invalid) {
      discardBody(result, this.#bodyHost(a));
      this.#finish(a);
      throw new WorkerException(`The worker returned an invalid response (${invalid})`, '');
    }
    // The WebSocket's hold is taken before the body's end may release the request.
    const webSocket =
      typeof result.webSocket === 'string'
        ? passedEnd(result.webSocket, this)
        : typeof result.webSocket === 'number'
          ? this.#webSocketEnd(result.webSocket, a)
          : undefined;
    a.tail?.status(status);
    // A whole body ends the request here; a streamed one when it ends (its body host's finish).
    const whole = wholeBody(result);
    if (whole !== undefined) this.#finish(a);
    return {
      status,
      statusText: String(result.statusText ?? ''),
      headers: result.headers,
      body: whole !== undefined ? whole : responseBody(result, this.#bodyHost(a)),
      webSocket,
      hops: a.hops,
    };
  }

  /** The isolate's own WebSocket end `id`, answered in a 101 by invocation `a` (socket-ends.ts). */
  #webSocketEnd(id: number, a: Active): WorkerWebSocket {
    return webSocketEnd(id, {
      hold: (socket) => {
        if (!this.#live.has(a.id)) throw new Error('internal: a WebSocket for a request that is over');
        a.holds++;
        this.#socketHolds.set(socket, a);
      },
      release: (socket) => this.#releaseSocket(socket),
      event: (socket, type, x, y) => void this.wsEvent(socket, type, x, y),
      hibernation: this.hibernation,
      sockets: () => (this.state === 'dead' ? null : (this.iso.slot.socketTable?.() ?? null)),
    });
  }

  #cancelStream(id: number, reason: string) {
    if (this.iso.isolate.isDisposed) return;
    this.iso.calls.send(this.iso.api.cancel, [id, reason]);
  }

  /** What invocation `a`'s response body needs of this instance (response-body.ts). */
  #bodyHost(a: Active): BodyHost {
    return {
      bodies: this.bodies,
      pull: (id) => this.iso.calls.call(this.iso.api.pull, [id]) as Promise<ArrayBuffer | null>,
      cancelStream: (id, reason) => this.#cancelStream(id, reason),
      finish: () => this.#finish(a),
      breach: () => a.breach,
      explain: (err) => this.#explain(err, a),
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
        if (!this.iso.isolate.isDisposed) this.iso.calls.send(this.iso.api.forget, [id]);
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
/** Nanoseconds as milliseconds with one decimal, for limit messages. */
function msOf(ns: bigint): string {
  return (Number(ns) / 1e6).toFixed(1);
}
