/**
 * The syscalls: the only host functions an isolate can call. Each validates its arguments
 * (tenant code can call them with anything through the prelude's wrappers, and a tampered
 * prelude must not hurt the host either) and answers with plain data. Errors thrown back into
 * the isolate carry a message only, never a host stack.
 */

import ivm from 'isolated-vm';
import type { HibernationSet, StagedStorage } from '../../durable-objects/index.ts';
import { withoutHopByHop } from '../../http/hop-by-hop.ts';
import type { OpenSpan, PopMetrics, TraceScope } from '../../observability/index.ts';
import type { ConnectedBinding } from '../bindings/types.ts';
import type { IsolateCalls } from '../calls.ts';
import type { Running } from '../cpu-meter.ts';
import { type EgressPolicy, EgressRefusedError } from '../egress.ts';
import { extensionWasm } from '../extensions.ts';
import { IdTable } from '../id-table.ts';
import { LOOP_HEADER, outgoingHops, type RequestChain } from '../loops.ts';
import type { HopRecorder } from '../types.ts';
import type { BodyRegistry } from './bodies.ts';
import { type CacheAccess, cacheCall, purgeCall } from './cache.ts';
import { argumentBytes, CryptoQueue } from './crypto-gate.ts';
import { CustomSpans } from './custom-spans.ts';
import { doIdCall, type ObjectLinks, storageCall } from './durable.ts';
import { type FetchArgs, performFetch } from './fetch.ts';
import { isStringList, MAX_HEADER_LIST } from './lists.ts';
import { crossingName, isolateError, NamedError } from './named-error.ts';
import { CipherTable, NODE_CRYPTO, NODE_CRYPTO_CALLS } from './node-crypto.ts';
import { FetchAborts, outputGate } from './output-gate.ts';
import { postedCalls } from './posted.ts';
import type { ServiceLinks } from './service.ts';
import { HashTable, subtleCall } from './subtle.ts';
import { TcpTable } from './tcp.ts';
import { random, urlParse, urlSet } from './url-calls.ts';
import { SocketTable } from './websockets.ts';

/** What an isolate's syscalls act on: set when a pooled isolate is leased to a worker. */
export interface IsolateOwner {
  /** The tenant served (runtime.deploy(tenant, …)): what keys its stores, not its config name. */
  tenant: string;
  bodies: BodyRegistry;
  maxTimers: number;
  /** A console line of the invocation `ctx` (the id the isolate's call carried). */
  log(level: string, text: string, ctx?: unknown): void;
  /**
   * Count a subrequest of invocation `ctx`; throws when its budget is spent, or when `ctx` names
   * no live invocation of this isolate (I/O after the invocation ended, or outside any).
   */
  beginSubrequest(ctx: unknown): void;
  /** Throws unless `ctx` names an invocation that may still do I/O (KV, cache, purge). */
  requireLive(ctx: unknown): void;
  /**
   * A Workflow step starts in invocation `ctx`: its CPU time, subrequests and wall clock count
   * from here, the wall clock up to `wallMs` (on Workers each step has its own budget).
   */
  stepBudget(ctx: unknown, wallMs: number): void;
  /** The Workflow run token invocation `ctx` was started with (null: it is not a Workflow run). */
  runToken(ctx: unknown): string | null;
  /** Stop taking new events; go once what is in flight has finished. */
  retire(): void;
  /** Where invocation `ctx` records its hops (null: it has answered, or is not live). */
  hops(ctx: unknown): HopRecorder | null;
  /** Invocation `ctx`'s own span (the worker's), or null when it is not live. */
  invocationSpan(ctx: unknown): OpenSpan | null;
  reportLimit(name: string, detail: string): void;
  /** An entry call's apply failed: a stray unhandled rejection, or the isolate died. */
  onApplyError(err: Error): void;
  /** Where invocation `ctx` stands in its request's chain (loop limits, src/runtime/loops.ts). */
  chain(ctx: unknown): RequestChain;
  /** What the worker's fetch() and outgoing WebSockets may connect to (null: nothing). */
  egress: EgressPolicy | null;
  /** What the PoP counts: cache lookups, KV operations, origin errors. */
  metrics: PopMetrics;
  /** Where the worker's service bindings lead (null: none reachable). */
  services: ServiceLinks | null;
  /** The PoP's Cache API store and this tenant's part of it. */
  cache: CacheAccess | null;
  /** The host side of the worker's bindings, by name (src/runtime/bindings/). */
  bindings: ReadonlyMap<string, ConnectedBinding> | null;
  /** Where the worker's Durable Object bindings lead. */
  objects: ObjectLinks | null;
  /** In an object's own isolate: its storage. */
  durable: StagedStorage | null;
  /** In an object's own isolate: its hibernatable WebSockets (held outside the isolate). */
  hibernation: HibernationSet | null;
  /** The isolate's CPU time so far, ns. */
  cpuNow(): bigint;
  /** CPU the runtime spent on its own work inside the isolate (loading an extension): not the worker's. */
  creditCpu(ns: bigint): void;
  /**
   * Host time spent on the worker's behalf outside the isolate (crypto, hashing), which
   * isolate.cpuTime does not see: charged to invocation `ctx` as CPU, against its CPU limit.
   */
  chargeHost(ctx: unknown, ns: bigint): void;
  /** Hand a WebSocket event to the isolate (the wsEvent entry); settles once it ran there. */
  wsEvent(id: number, type: string, a?: unknown, b?: unknown): Promise<void> | undefined;
}

function hibernationOf(o: IsolateOwner): HibernationSet {
  if (!o.hibernation)
    throw new NamedError('WebSocket hibernation is only available in a Durable Object', 'Error');
  return o.hibernation;
}

/** Source of a lazily loaded in-isolate module (see src/runtime/extensions.ts), or undefined. */
export type ExtensionSource = (name: string) => string | undefined;

export interface Slot {
  owner: IsolateOwner | null;
  /** The isolate's WebSockets, once it has had one (made on first use by socketTable). */
  sockets?: SocketTable;
  /** The isolate's WebSockets, made now if it had none; set by createSyscalls. */
  socketTable?: () => SocketTable;
  /** Ends the custom spans invocation `ctx` left open (it is over); set by createSyscalls. */
  endSpans?: (ctx: number) => void;
  /** Clears host resources held for the isolate (its timers); set by createSyscalls. */
  release?: () => void;
  /**
   * Shared with the isolate: the invocation id its code runs for now (0: none) and a count of
   * changes of it (isolate/context.ts; read by the CPU watchdog, cpu-meter.ts). Set by
   * createSyscalls.
   */
  running?: Running;
  /** The isolate's hostDone entry: where posted calls are answered (set by the pool). */
  done?: ivm.Reference;
  /**
   * While a posted call is being started (its synchronous part), the trace scope of the custom
   * span active where the worker made it, for invocation `ctx`; null outside one (set by
   * createSyscalls, read by the owner's `hops`).
   */
  callScope?: (ctx: unknown) => TraceScope | null;
}

const REDIRECTS = new Set(['follow', 'manual', 'error']);

/**
 * A synchronous syscall as the isolate gets it: what it throws crosses as a string (`Name:
 * message`, the form isolateError's messages already have), never as an object. isolated-vm
 * gives an object thrown across into an isolate a native `stack` accessor that crashes the
 * whole process when it is read through another receiver (`Object.create(err).stack`:
 * SIGSEGV in its ErrorStackGetter, found by the bridge fuzz); a thrown string is copied as a
 * string, and carries no host stack either. The prelude makes it an error again
 * (isolate/bridge.ts), and would do the same with an object.
 */
function crossing<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      throw thrownText(err);
    }
  };
}

/** `Name: message` of whatever a syscall threw. */
function thrownText(err: unknown): string {
  try {
    if (!(err instanceof Error)) return `Error: ${String(err)}`;
    const name = crossingName(err);
    if (name !== null) return `${name}: ${err.message}`;
    // isolateError's message is already `Name: message`.
    return /^\w+: /.test(err.message) ? err.message : `Error: ${err.message}`;
  } catch {
    return 'Error: the host call failed';
  }
}

// Hashing and node:crypto run on the main thread while the isolate waits, and isolate.cpuTime
// stops while a callback runs on the host (measured): their time is charged as CPU.
const CHARGED = new Set([
  'hashNew',
  'hashUpdate',
  'hashDigest',
  'hashCopy',
  'spanStart',
  'spanEnd',
  'spanRoot',
  'spanContext',
  ...NODE_CRYPTO_CALLS,
]);

// Loading an extension (the runtime's own code, e.g. compiling HTMLRewriter's wasm) is
// bracketed so its CPU is not charged to the worker, as Workers' built-ins are native code.
// The tenant can make a load slow (a replaced global the extension calls) or fail and retry
// it, so the credit is bounded where the tenant cannot reach: once per extension name per
// isolate, whatever the outcome, at most EXT_CREDIT_MAX_NS each and EXT_CREDIT_TOTAL_NS in all.
const EXT_CREDIT_MAX_NS = 30_000_000n;
const EXT_CREDIT_TOTAL_NS = 150_000_000n;

/**
 * One isolate's side of the syscalls: the state they act on. The calls themselves are shared
 * by every isolate (SYNC_CALLS, POSTED, ASYNC_CALLS below, each taking the isolate's host
 * first): a table of closures made per isolate was ~15 KB of host heap per tenant, mostly
 * because tsx (how the host runs from source) names each arrow function with a call that
 * puts the function's properties in a dictionary of its own. The tables only some workers use
 * are made on first use (an empty Map is ~200 bytes, and a tenant holds them while idle).
 */
class IsolateHost {
  #aborts: FetchAborts | undefined;
  /**
   * The isolate's live timers by its timer id; a cleared one is settled at once (clearTimer).
   * Not a Map: entries come and go per timer (../id-table.ts).
   */
  #timers: IdTable<{ t: NodeJS.Timeout; resolve: () => void }> | undefined;
  #hashes: HashTable | undefined;
  #ciphers: CipherTable | undefined;
  #cryptoQueue: CryptoQueue | undefined;
  #sockets: SocketTable | undefined;
  #tcp: TcpTable | undefined;
  #spans: CustomSpans | undefined;
  // Extension loads (EXT_CREDIT_*): nesting, the outer load's start and name, what was credited.
  extDepth = 0;
  extStart = 0n;
  extName = '';
  extCredited = 0n;
  #extSeen: Set<string> | undefined;
  /** The custom span the isolate said was active where the call now starting was made. */
  active: { ctx: unknown; span: number } | null = null;

  constructor(
    readonly slot: Slot,
    readonly calls: IsolateCalls,
    readonly extension: ExtensionSource,
  ) {}

  owner(): IsolateOwner {
    if (!this.slot.owner) throw isolateError('Error: this isolate is not serving a worker');
    return this.slot.owner;
  }

  get aborts(): FetchAborts {
    return (this.#aborts ??= new FetchAborts());
  }
  get timers(): IdTable<{ t: NodeJS.Timeout; resolve: () => void }> {
    return (this.#timers ??= new IdTable());
  }
  get hashes(): HashTable {
    return (this.#hashes ??= new HashTable());
  }
  get ciphers(): CipherTable {
    return (this.#ciphers ??= new CipherTable());
  }
  get cryptoQueue(): CryptoQueue {
    return (this.#cryptoQueue ??= new CryptoQueue((ctx, ns) => this.slot.owner?.chargeHost(ctx, ns)));
  }
  get sockets(): SocketTable {
    if (this.#sockets === undefined) {
      this.#sockets = new SocketTable((id, type, a, b) => this.slot.owner?.wsEvent(id, type, a, b));
      this.slot.sockets = this.#sockets;
    }
    return this.#sockets;
  }
  get tcp(): TcpTable {
    return (this.#tcp ??= new TcpTable());
  }
  get spans(): CustomSpans {
    return (this.#spans ??= new CustomSpans(() => this.owner()));
  }
  get extSeen(): Set<string> {
    return (this.#extSeen ??= new Set());
  }

  /** Where a posted call of invocation `ctx` records, while it starts (Slot.callScope). */
  callScope(ctx: unknown): TraceScope | null {
    const a = this.active;
    return a !== null && a.ctx === ctx && this.#spans ? this.#spans.scopeOf(ctx, a.span) : null;
  }

  endSpans(ctx: number): void {
    this.#spans?.release(ctx);
  }

  /** The isolate is gone: every host resource held for it goes too. */
  release(): void {
    this.#sockets?.closeAll('worker isolate disposed');
    this.#tcp?.closeAll();
    this.#hashes?.clear();
    this.#ciphers?.clear();
    this.#cryptoQueue?.close();
    if (this.#timers) for (const { t } of this.#timers.values()) clearTimeout(t);
    this.#timers?.clear();
    if (this.#aborts) for (const a of this.#aborts.values()) a.abort();
    this.#aborts?.clear();
  }
}

function log(h: IsolateHost, ctx: unknown, level: unknown, text: unknown): void {
  if (typeof text !== 'string') return;
  h.slot.owner?.log(
    typeof level === 'string' ? level : 'info',
    text.length > 16384 ? `${text.slice(0, 16384)}… (truncated)` : text,
    ctx,
  );
}

function limit(h: IsolateHost, name: unknown, detail: unknown): void {
  if (name === 'memory' && typeof detail === 'string')
    h.slot.owner?.reportLimit('memory', detail.slice(0, 500));
}

function cancelBody(h: IsolateHost, id: unknown): void {
  if (typeof id === 'number') h.slot.owner?.bodies.cancel(id, 'cancelled by the worker');
}

function abortFetch(h: IsolateHost, id: unknown): void {
  if (typeof id !== 'number') return;
  const a = h.aborts.get(id);
  if (a) a.abort();
  else h.aborts.early(id); // still waiting at the output gate: it will not start
}

/** clearTimeout/clearInterval: the host timer goes now, not when it would have fired. */
function clearTimer(h: IsolateHost, id: unknown): void {
  const live = typeof id === 'number' ? h.timers.get(id) : undefined;
  if (!live) return;
  clearTimeout(live.t);
  h.timers.delete(id as number);
  live.resolve(); // the isolate's side sees the timer cleared and does nothing
}

type SyncCall = (h: IsolateHost, ctx: unknown, ...args: any[]) => unknown;

/** node:crypto's calls (./node-crypto.ts), each given the isolate's host (its cipher table). */
const NODE_CRYPTO_SYNC: Record<string, SyncCall> = Object.fromEntries(
  Object.entries(NODE_CRYPTO).map(([name, fn]) => [
    name,
    (h: IsolateHost, _ctx: unknown, ...args: unknown[]) => fn(h, ...args),
  ]),
);

/** Synchronous calls by name: cheap host work the isolate waits for. */
const SYNC_CALLS: Record<string, SyncCall> = {
  clearTimer: (h, _ctx, id) => clearTimer(h, id),
  // Worker code's custom spans (./custom-spans.ts).
  spanStart: (h, ctx, name, parent) => h.spans.start(ctx, name, parent),
  spanEnd: (h, ctx, id, attrs, status, name) => h.spans.end(ctx, id, attrs, status, name),
  spanRoot: (h, ctx, attrs, status, name) => h.spans.root(ctx, attrs, status, name),
  spanContext: (h, ctx, id) => h.spans.context(ctx, id),
  hashNew: (h, _ctx, alg, key) => h.hashes.create(alg, key),
  hashUpdate: (h, _ctx, id, data) => h.hashes.update(id, data),
  hashDigest: (h, _ctx, id) => h.hashes.digest(id),
  hashDrop: (h, _ctx, id) => h.hashes.drop(id),
  hashCopy: (h, _ctx, id) => h.hashes.copy(id),
  ...NODE_CRYPTO_SYNC,
  wsSend: (h, _ctx, id, data) => {
    const o = h.owner();
    // The output gate: an object's message leaves after the writes made before it (and, for an
    // object replicated across nodes, once they are replicated: a copy of the data waits).
    const send = (d: unknown) => (o.hibernation?.has(id) ? o.hibernation.send(id, d) : h.sockets.send(id, d));
    const durable = o.durable;
    if (!durable) return send(data);
    // The isolate committed before sending (so that a failure reaches its storage cache):
    // normally nothing is staged here; this keeps the rule for any path that did not.
    durable.commit();
    // A message that waits is a copy: the isolate's buffer is not kept past this call.
    const d = durable.outputWaits() && data instanceof ArrayBuffer ? data.slice(0) : data;
    durable.output(() => send(d));
  },
  wsHibernate: (h, _ctx, id, tags, attachment) => hibernationOf(h.owner()).reserve(id, tags, attachment),
  wsAttachment: (h, _ctx, id, value) => hibernationOf(h.owner()).setAttachment(id, value),
  wsAutoResponse: (h, _ctx, request, response) => hibernationOf(h.owner()).setAutoResponse(request, response),
  wsAutoResponseAt: (h, _ctx, id) => hibernationOf(h.owner()).autoResponseAt(id),
  doId: (h, _ctx, binding, kind, arg) => doIdCall(h.owner().objects, binding, kind, arg),
  doStorage: (h, _ctx, op, ...args) => storageCall(h.owner().durable, op, args),
  doAbort: (h) => {
    const o = h.owner();
    if (!o.durable) throw new NamedError('abort() is only available in a Durable Object', 'Error');
    // What is in flight finishes (and fails); the next event makes a new instance.
    o.retire();
  },
  wsClose: (h, _ctx, id, code, reason) => {
    const o = h.owner();
    const close = () =>
      o.hibernation?.has(id) ? o.hibernation.close(id, code, reason) : h.sockets.close(id, code, reason);
    const durable = o.durable;
    if (!durable) return close();
    // The output gate: a close leaves after the messages and writes before it (as wsSend).
    durable.commit();
    durable.output(close);
  },
  ext: (h, _ctx, name) => (typeof name === 'string' ? h.extension(name) : undefined),
  extBegin: (h, _ctx, name) => {
    if (h.extDepth++ !== 0) return;
    h.extStart = h.owner().cpuNow();
    h.extName = typeof name === 'string' ? name : '';
  },
  extEnd: (h) => {
    if (h.extDepth === 0) return;
    if (--h.extDepth !== 0) return;
    // Only the first load of a known extension is credited; a retry pays for itself.
    if (h.extName === '' || h.extSeen.has(h.extName) || h.extension(h.extName) === undefined) return;
    h.extSeen.add(h.extName);
    let used = h.owner().cpuNow() - h.extStart;
    if (used > EXT_CREDIT_MAX_NS) used = EXT_CREDIT_MAX_NS;
    if (h.extCredited + used > EXT_CREDIT_TOTAL_NS) used = EXT_CREDIT_TOTAL_NS - h.extCredited;
    if (used <= 0n) return;
    h.extCredited += used;
    h.owner().creditCpu(used);
  },
  wasmBytes: (_h, _ctx, name) => (typeof name === 'string' ? extensionWasm(name) : undefined),
};

function sys(h: IsolateHost, ctx: unknown, name: unknown, ...args: unknown[]): unknown {
  const fn = typeof name === 'string' && Object.hasOwn(SYNC_CALLS, name) ? SYNC_CALLS[name] : undefined;
  if (!fn) throw isolateError('TypeError: unknown syscall');
  const start = CHARGED.has(name as string) ? process.hrtime.bigint() : 0n;
  try {
    return fn(h, ctx, ...args);
  } catch (err) {
    const e = err as Error;
    throw isolateError(`${crossingName(e) ?? 'Error'}: ${e.message}`);
  } finally {
    if (start !== 0n) h.slot.owner?.chargeHost(ctx, process.hrtime.bigint() - start);
  }
}

function timer(h: IsolateHost, _ctx: unknown, ms: unknown, id: unknown): Promise<void> {
  const o = h.owner();
  if (typeof ms !== 'number' || !(ms >= 0)) throw isolateError('TypeError: invalid delay');
  const timers = h.timers;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0 || timers.has(id))
    throw isolateError('TypeError: invalid timer id');
  if (timers.size >= o.maxTimers) throw isolateError(`Error: too many timers (limit ${o.maxTimers})`);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(id);
      resolve();
    }, ms);
    t.unref(); // a worker's timer never keeps the process alive on its own
    timers.set(id, { t, resolve });
  });
}

function read(h: IsolateHost, _ctx: unknown, id: unknown): Promise<ArrayBuffer | null> {
  if (typeof id !== 'number') throw isolateError('TypeError: invalid body id');
  return h.owner().bodies.read(id);
}

async function fetchCall(
  h: IsolateHost,
  ctx: unknown,
  id: unknown,
  method: unknown,
  url: unknown,
  headers: unknown,
  redirect: unknown,
  body: unknown,
  cf: unknown,
) {
  const o = h.owner();
  if (
    typeof id !== 'number' ||
    typeof method !== 'string' ||
    typeof url !== 'string' ||
    !isStringList(headers, MAX_HEADER_LIST, true)
  ) {
    throw isolateError('TypeError: invalid fetch arguments');
  }
  if (typeof redirect !== 'string' || !REDIRECTS.has(redirect))
    throw isolateError('TypeError: invalid redirect mode');
  if (body !== null && !(body instanceof ArrayBuffer)) throw isolateError('TypeError: invalid request body');
  o.beginSubrequest(ctx);
  const egress = o.egress;
  if (!egress) throw isolateError('TypeError: fetch failed: this worker has no network access');
  // Hop-by-hop fields (and those the worker's Connection names) and Host are the platform's.
  const kept: string[] = [];
  const sendable = withoutHopByHop(headers as string[]);
  for (let i = 0; i < sendable.length; i += 2)
    if (sendable[i] !== 'host' && sendable[i] !== LOOP_HEADER) kept.push(sendable[i], sendable[i + 1]);
  // The loop count is the platform's, whatever the worker wrote (src/runtime/loops.ts).
  kept.push(LOOP_HEADER, outgoingHops(o.chain(ctx)));
  const controller = new AbortController();
  const aborts = h.aborts;
  aborts.set(id, controller);
  try {
    return await performFetch(
      { method, url, headers: kept, redirect: redirect as FetchArgs['redirect'], body, cf },
      o.cache?.http ?? null,
      o.cache?.tier ?? null,
      o.tenant,
      o.bodies,
      controller,
      o.hops(ctx),
      egress.dispatcher,
      o.metrics,
      o.cache?.site?.resolve(url) ?? null,
    );
  } catch (err) {
    const e = err as Error & { cause?: Error };
    if (e instanceof NamedError) throw e;
    // Refused by the egress policy: the worker sees the policy's own words.
    const refused = e instanceof EgressRefusedError ? e : e.cause;
    if (refused instanceof EgressRefusedError) throw new NamedError(refused.message, 'TypeError');
    if (e.name === 'AbortError') throw isolateError('AbortError: The operation was aborted.');
    throw isolateError(`TypeError: fetch failed: ${e.cause?.message ?? e.message}`);
  } finally {
    aborts.delete(id);
  }
}

/** Asynchronous calls by name; `ctx` is the invocation the call is made for. */
const ASYNC_CALLS: Record<string, PostedCall> = {
  subtle: (h, ctx, op, args) => h.cryptoQueue.run(ctx, argumentBytes(args), () => subtleCall(op, args)),
  cache: (h, ctx, op, ...rest) => {
    const o = h.owner();
    o.requireLive(ctx);
    return cacheCall(o.cache, op, rest, o.hops(ctx), o.metrics);
  },
  purge: (h, ctx, options) => {
    const o = h.owner();
    o.requireLive(ctx);
    return purgeCall(o.cache, options);
  },
  // Every binding's calls (src/runtime/bindings/protocol.ts): found by name among the
  // calling worker's own, so a tenant reaches only what its config binds.
  binding: (h, ctx, name, op, ...args) => {
    const o = h.owner();
    const b = typeof name === 'string' ? o.bindings?.get(name) : undefined;
    if (!b)
      throw new NamedError(`env.${String(name).slice(0, 100)} is not a binding of this worker`, 'TypeError');
    const fn = typeof op === 'string' && Object.hasOwn(b.ops, op) ? b.ops[op] : undefined;
    if (!fn)
      throw new NamedError(
        `env.${name} (${b.type}) has no operation ${String(op).slice(0, 100)}`,
        'TypeError',
      );
    return fn(o, ctx, args);
  },
  wsConnect: (h, ctx, id, url, protocols, headers) => {
    const o = h.owner();
    o.beginSubrequest(ctx);
    if (!o.egress)
      throw isolateError('Error: WebSocket connection failed: this worker has no network access');
    return h.sockets.connect(id, url, protocols, headers, o.egress, outgoingHops(o.chain(ctx)));
  },
  // connect() from cloudflare:sockets (src/runtime/bridge/tcp.ts): a subrequest through the
  // egress policy; its bytes arrive as a body the isolate pulls.
  tcpConnect: (h, ctx, hostname, port, secure) => {
    const o = h.owner();
    o.beginSubrequest(ctx);
    if (!o.egress) throw isolateError('Error: connect() failed: this worker has no network access');
    return h.tcp.connect(hostname, port, secure, o.egress, o.bodies);
  },
  // `ctx.storage.sync()`: resolves once the object's writes before it are confirmed, which the
  // output gate (postedCalls) waited for before this call started.
  doSync: (h) => {
    if (!h.owner().durable)
      throw new NamedError('storage is only available inside a Durable Object', 'Error');
  },
  tcpWrite: (h, _ctx, id, data) => h.tcp.write(id, data),
  tcpClose: (h, _ctx, id, half) => h.tcp.close(id, half),
};

function asys(h: IsolateHost, ctx: unknown, name: unknown, ...args: unknown[]): unknown {
  const fn = typeof name === 'string' && Object.hasOwn(ASYNC_CALLS, name) ? ASYNC_CALLS[name] : undefined;
  if (!fn) throw isolateError('TypeError: unknown syscall');
  h.owner();
  return fn(h, ctx, ...args);
}

type PostedCall = (h: IsolateHost, ctx: unknown, ...args: any[]) => unknown;

/** The posted calls, in the order of src/runtime/isolate/bridge.ts: TIMER, FETCH, READ, ASYNC. */
const POSTED: readonly PostedCall[] = [timer, fetchCall, read, asys];

const URL_PARSE = crossing(urlParse);
const URL_SET = crossing(urlSet);
const RANDOM = crossing(random);
const SYS = crossing(sys);

/** Build the argument list for the prelude's `__outpost_init`. */
export function createSyscalls(
  slot: Slot,
  settings: { memoryLimitMb: number; workerName: string },
  calls: IsolateCalls,
  extension: ExtensionSource,
): unknown[] {
  const h = new IsolateHost(slot, calls, extension);
  const running = new SharedArrayBuffer(16);
  slot.running = { id: new Float64Array(running, 0, 1), switches: new Int32Array(running, 8, 1) };
  slot.release = h.release.bind(h);
  slot.endSpans = h.endSpans.bind(h);
  slot.callScope = h.callScope.bind(h);
  slot.socketTable = () => h.sockets;
  return [
    ivm,
    new ivm.Callback((ctx: unknown, level: unknown, text: unknown) => log(h, ctx, level, text), {
      ignored: true,
    }),
    new ivm.Callback(URL_PARSE),
    new ivm.Callback(URL_SET),
    new ivm.Callback(RANDOM),
    new ivm.Callback((name: unknown, detail: unknown) => limit(h, name, detail), { ignored: true }),
    new ivm.Callback((id: unknown) => cancelBody(h, id), { ignored: true }),
    new ivm.Callback((id: unknown) => abortFetch(h, id), { ignored: true }),
    postedCalls(h, outputGate(slot, h), POSTED),
    new ivm.Callback((ctx: unknown, name: unknown, ...args: unknown[]) => SYS(h, ctx, name, ...args)),
    calls.complete,
    calls.stray,
    new ivm.ExternalCopy(settings).copyInto(),
    new ivm.ExternalCopy(running).copyInto(),
  ];
}
