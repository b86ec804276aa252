/**
 * The syscalls: the only host functions an isolate can call. Each validates its arguments
 * (tenant code can call them with anything through the prelude's wrappers, and a tampered
 * prelude must not hurt the host either) and answers with plain data. Errors thrown back into
 * the isolate carry a message only, never a host stack.
 */

import { randomBytes } from 'node:crypto';
import ivm from 'isolated-vm';
import type { HibernationSet, StagedStorage } from '../../durable-objects/index.ts';
import { withoutHopByHop } from '../../network/hop-by-hop.ts';
import type { OpenSpan, PopMetrics, TraceScope } from '../../observability/index.ts';
import type { ConnectedBinding } from '../bindings/types.ts';
import type { IsolateCalls } from '../calls.ts';
import type { Running } from '../cpu-meter.ts';
import { type EgressPolicy, EgressRefusedError } from '../egress.ts';
import { extensionWasm } from '../extensions.ts';
import { LOOP_HEADER, outgoingHops, type RequestChain } from '../loops.ts';
import type { HopRecorder } from '../types.ts';
import { URL_PARTS } from '../url-parts.ts';
import type { BodyRegistry } from './bodies.ts';
import { type CacheAccess, cacheCall, purgeCall } from './cache.ts';
import { argumentBytes, CryptoQueue } from './crypto-gate.ts';
import { CustomSpans } from './custom-spans.ts';
import { doIdCall, type ObjectLinks, storageCall } from './durable.ts';
import { type FetchArgs, performFetch } from './fetch.ts';
import { isStringList, MAX_HEADER_LIST } from './lists.ts';
import { crossingName, NamedError } from './named-error.ts';
import { CipherTable, NODE_CRYPTO_CALLS, nodeCryptoCalls } from './node-crypto.ts';
import { FetchAborts, outputGate } from './output-gate.ts';
import type { ServiceLinks } from './service.ts';
import { HashTable, subtleCall } from './subtle.ts';
import { TcpTable } from './tcp.ts';
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
  /** The isolate's WebSockets; set by createSyscalls. */
  sockets?: SocketTable;
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

const URL_SETTABLE = new Set<string>(URL_PARTS.filter((p) => p !== 'origin'));
const MAX_URL = 64 * 1024;
const REDIRECTS = new Set(['follow', 'manual', 'error']);

function parts(u: URL): string[] {
  return URL_PARTS.map((k) => u[k]);
}

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

/** An Error that crosses into the isolate with its message and no host stack. */
function isolateError(message: string): Error {
  const e = new Error(message);
  e.stack = message;
  return e;
}

function urlParse(input: unknown, base: unknown): string[] | null {
  if (typeof input !== 'string' || input.length > MAX_URL) return null;
  if (base !== undefined && (typeof base !== 'string' || base.length > MAX_URL)) return null;
  try {
    return parts(new URL(input, base as string | undefined));
  } catch {
    return null;
  }
}

function urlSet(href: unknown, prop: unknown, value: unknown): string[] {
  if (
    typeof href !== 'string' ||
    typeof prop !== 'string' ||
    typeof value !== 'string' ||
    !URL_SETTABLE.has(prop)
  ) {
    throw isolateError('TypeError: invalid URL update');
  }
  const u = new URL(href);
  if (prop === 'href') {
    try {
      return parts(new URL(value));
    } catch {
      throw isolateError(`TypeError: Invalid URL: ${value.slice(0, 200)}`);
    }
  }
  (u as unknown as Record<string, string>)[prop] = value;
  return parts(u);
}

function random(n: unknown): ArrayBuffer {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65536)
    throw isolateError('RangeError: invalid byte count');
  const b = randomBytes(n);
  return b.buffer.slice(b.byteOffset, b.byteOffset + n) as ArrayBuffer;
}

/**
 * How an async syscall's failure travels: `{ e: message }`, with the error's name when it has
 * one the prelude can rebuild. Total: whatever was thrown (even a value with no string form),
 * an outcome comes back, so the call is always answered.
 */
function failure(err: unknown): { e: string; n?: string } {
  try {
    const e = err as Error;
    // The name travels when it is a standard one the prelude can rebuild (DOMException
    // names from WebCrypto, TypeError…); isolateError()s carry theirs in the message.
    const n = crossingName(e);
    return n !== null ? { e: String(e.message), n } : { e: String(e?.message ?? err) };
  } catch {
    return { e: 'internal error' };
  }
}

/**
 * The isolate's asynchronous host calls (its half: src/runtime/isolate/bridge.ts, callHost). The
 * isolate posts `(call id, invocation, which, args, span)` through an ignored callback; the outcome,
 * `{ v }` or `{ e }`, goes back in a task of its own (IsolateCalls.deliver to the isolate's
 * hostDone), whose stray rejections are logged like a request's. A call never fails to answer:
 * whatever it throws, or a call the host does not know, is an `{ e }` outcome. The arguments:
 * the call's id, the invocation it is made for (src/runtime/isolate/context.ts), which call,
 * its arguments, and the custom span active where the worker made it (0: none).
 */
function postedCalls(
  slot: Slot,
  calls: IsolateCalls,
  posted: ((ctx: unknown, ...args: any[]) => unknown)[],
  spans: CustomSpans,
  /** null when the call may start now, else when it may (./output-gate.ts). */
  outputGate: (which: number, args: unknown[]) => Promise<void> | null,
): ivm.Callback {
  // The custom span the isolate said was active where the call was made (isolate/bridge.ts):
  // what the call records goes under it, as Workers nests platform spans in custom ones. Read
  // by the owner's `hops(ctx)` while the call starts; a call that records after an await of its
  // own stays under the worker's span.
  let active: { ctx: unknown; span: number } | null = null;
  slot.callScope = (ctx) => (active !== null && active.ctx === ctx ? spans.scopeOf(ctx, active.span) : null);
  // A result that cannot be copied into the isolate is answered with that error instead.
  const answer = (id: number, outcome: unknown) => {
    if (slot.done)
      calls.deliver(slot.done, [id, outcome], [id, { e: 'the result of the call could not be copied' }]);
  };
  return new ivm.Callback(
    (id: unknown, ctx: unknown, which: unknown, args: unknown, span: unknown) => {
      if (typeof id !== 'number') return;
      let out: Promise<unknown>;
      const start = (fn: (ctx: unknown, ...args: any[]) => unknown, list: unknown[]) => {
        active = typeof span === 'number' && span > 0 ? { ctx, span } : null;
        try {
          return fn(ctx, ...list);
        } finally {
          active = null;
        }
      };
      try {
        const fn = typeof which === 'number' ? posted[which] : undefined;
        if (!fn) throw isolateError('TypeError: unknown syscall');
        // A copied array keeps its length: a sparse one must not be walked (bridge/lists.ts).
        if (!Array.isArray(args) || args.length > 64)
          throw isolateError('TypeError: invalid syscall arguments');
        const ready = outputGate(which as number, args);
        out = ready === null ? Promise.resolve(start(fn, args)) : ready.then(() => start(fn, args));
      } catch (err) {
        out = Promise.reject(err);
      }
      out.then(
        (v) => answer(id, { v }),
        (err) => answer(id, failure(err)),
      );
    },
    { ignored: true },
  );
}

/** Build the argument list for the prelude's `__outpost_init`. */
// Hashing and node:crypto run on the main thread while the isolate waits, and isolate.cpuTime
// stops while a callback runs on the host (measured): their time is charged as CPU. (Module
// constants: one per isolate was ~0.8 KB of host heap per tenant.)
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
/** The calls that get the invocation first (custom spans name theirs). */
const CTX_CALLS = new Set(['spanStart', 'spanEnd', 'spanRoot', 'spanContext']);

export function createSyscalls(
  slot: Slot,
  settings: { memoryLimitMb: number; workerName: string },
  calls: IsolateCalls,
  extension: ExtensionSource,
): unknown[] {
  const aborts = new FetchAborts();
  /** The isolate's live timers by its timer id; a cleared one is settled at once (clearTimer). */
  const timers = new Map<number, { t: NodeJS.Timeout; resolve: () => void }>();
  const hashes = new HashTable();
  const ciphers = new CipherTable();
  const cryptoQueue = new CryptoQueue((ctx, ns) => slot.owner?.chargeHost(ctx, ns));
  const sockets = new SocketTable((id, type, a, b) => slot.owner?.wsEvent(id, type, a, b));
  const tcp = new TcpTable();
  slot.sockets = sockets;
  const running = new SharedArrayBuffer(16);
  slot.running = { id: new Float64Array(running, 0, 1), switches: new Int32Array(running, 8, 1) };
  slot.release = () => {
    sockets.closeAll('worker isolate disposed');
    tcp.closeAll();
    hashes.clear();
    ciphers.clear();
    cryptoQueue.close();
    for (const { t } of timers.values()) clearTimeout(t);
    timers.clear();
    for (const a of aborts.values()) a.abort();
    aborts.clear();
  };
  const owner = (): IsolateOwner => {
    if (!slot.owner) throw isolateError('Error: this isolate is not serving a worker');
    return slot.owner;
  };

  const log = (ctx: unknown, level: unknown, text: unknown) => {
    if (typeof text !== 'string') return;
    slot.owner?.log(
      typeof level === 'string' ? level : 'info',
      text.length > 16384 ? `${text.slice(0, 16384)}… (truncated)` : text,
      ctx,
    );
  };
  const limit = (name: unknown, detail: unknown) => {
    if (name === 'memory' && typeof detail === 'string')
      slot.owner?.reportLimit('memory', detail.slice(0, 500));
  };
  const cancelBody = (id: unknown) => {
    if (typeof id === 'number') slot.owner?.bodies.cancel(id, 'cancelled by the worker');
  };
  const abortFetch = (id: unknown) => {
    if (typeof id !== 'number') return;
    const a = aborts.get(id);
    if (a) a.abort();
    else aborts.early(id); // still waiting at the output gate: it will not start
  };

  const timer = (_ctx: unknown, ms: unknown, id: unknown): Promise<void> => {
    const o = owner();
    if (typeof ms !== 'number' || !(ms >= 0)) throw isolateError('TypeError: invalid delay');
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || timers.has(id))
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
  };
  /** clearTimeout/clearInterval: the host timer goes now, not when it would have fired. */
  const clearTimer = (id: unknown): void => {
    const live = typeof id === 'number' ? timers.get(id) : undefined;
    if (!live) return;
    clearTimeout(live.t);
    timers.delete(id as number);
    live.resolve(); // the isolate's side sees the timer cleared and does nothing
  };

  const read = (_ctx: unknown, id: unknown): Promise<ArrayBuffer | null> => {
    if (typeof id !== 'number') throw isolateError('TypeError: invalid body id');
    return owner().bodies.read(id);
  };

  const fetchCall = async (
    ctx: unknown,
    id: unknown,
    method: unknown,
    url: unknown,
    headers: unknown,
    redirect: unknown,
    body: unknown,
    cf: unknown,
  ) => {
    const o = owner();
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
    if (body !== null && !(body instanceof ArrayBuffer))
      throw isolateError('TypeError: invalid request body');
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
  };

  // Loading an extension (the runtime's own code, e.g. compiling HTMLRewriter's wasm) is
  // bracketed so its CPU is not charged to the worker, as Workers' built-ins are native code.
  // The tenant can make a load slow (a replaced global the extension calls) or fail and retry
  // it, so the credit is bounded where the tenant cannot reach: once per extension name per
  // isolate, whatever the outcome, at most EXT_CREDIT_MAX_NS each and EXT_CREDIT_TOTAL_NS in all.
  let extDepth = 0;
  let extStart = 0n;
  let extName = '';
  let extCredited = 0n;
  const extSeen = new Set<string>();
  const EXT_CREDIT_MAX_NS = 30_000_000n;
  const EXT_CREDIT_TOTAL_NS = 150_000_000n;

  // Worker code's custom spans (./custom-spans.ts): the calls that name their invocation get
  // it first (CTX_CALLS).
  const spans = new CustomSpans(owner);
  slot.endSpans = (ctx) => spans.release(ctx);
  /** Synchronous calls by name: cheap host work the isolate waits for. */
  const syncCalls: Record<string, (...args: unknown[]) => unknown> = {
    clearTimer,
    spanStart: (ctx, name, parent) => spans.start(ctx, name, parent),
    spanEnd: (ctx, id, attrs, status, name) => spans.end(ctx, id, attrs, status, name),
    spanRoot: (ctx, attrs, status, name) => spans.root(ctx, attrs, status, name),
    spanContext: (ctx, id) => spans.context(ctx, id),
    hashNew: (alg, key) => hashes.create(alg, key),
    hashUpdate: (id, data) => hashes.update(id, data),
    hashDigest: (id) => hashes.digest(id),
    hashDrop: (id) => hashes.drop(id),
    hashCopy: (id) => hashes.copy(id),
    // node:crypto's key derivation, ciphers, keys and signatures (./node-crypto.ts).
    ...nodeCryptoCalls(ciphers),
    wsSend: (id, data) => {
      const o = owner();
      // The output gate: an object's message leaves after the writes made before it (and, for an
      // object replicated across nodes, once they are replicated: a copy of the data waits).
      const send = (d: unknown) => (o.hibernation?.has(id) ? o.hibernation.send(id, d) : sockets.send(id, d));
      const durable = o.durable;
      if (!durable) return send(data);
      // The isolate committed before sending (so that a failure reaches its storage cache):
      // normally nothing is staged here; this keeps the rule for any path that did not.
      durable.commit();
      // A message that waits is a copy: the isolate's buffer is not kept past this call.
      const d = durable.outputWaits() && data instanceof ArrayBuffer ? data.slice(0) : data;
      durable.output(() => send(d));
    },
    wsHibernate: (id, tags, attachment) => hibernationOf(owner()).reserve(id, tags, attachment),
    wsAttachment: (id, value) => hibernationOf(owner()).setAttachment(id, value),
    wsAutoResponse: (request, response) => hibernationOf(owner()).setAutoResponse(request, response),
    wsAutoResponseAt: (id) => hibernationOf(owner()).autoResponseAt(id),
    doId: (binding, kind, arg) => doIdCall(owner().objects, binding, kind, arg),
    doStorage: (op, ...args) => storageCall(owner().durable, op, args),
    doAbort: () => {
      const o = owner();
      if (!o.durable) throw new NamedError('abort() is only available in a Durable Object', 'Error');
      // What is in flight finishes (and fails); the next event makes a new instance.
      o.retire();
    },
    wsClose: (id, code, reason) => {
      const o = owner();
      const close = () =>
        o.hibernation?.has(id) ? o.hibernation.close(id, code, reason) : sockets.close(id, code, reason);
      const durable = o.durable;
      if (!durable) return close();
      // The output gate: a close leaves after the messages and writes before it (as wsSend).
      durable.commit();
      durable.output(close);
    },
    ext: (name) => (typeof name === 'string' ? extension(name) : undefined),
    extBegin: (name) => {
      if (extDepth++ !== 0) return;
      extStart = owner().cpuNow();
      extName = typeof name === 'string' ? name : '';
    },
    extEnd: () => {
      if (extDepth === 0) return;
      if (--extDepth !== 0) return;
      // Only the first load of a known extension is credited; a retry pays for itself.
      if (extName === '' || extSeen.has(extName) || extension(extName) === undefined) return;
      extSeen.add(extName);
      let used = owner().cpuNow() - extStart;
      if (used > EXT_CREDIT_MAX_NS) used = EXT_CREDIT_MAX_NS;
      if (extCredited + used > EXT_CREDIT_TOTAL_NS) used = EXT_CREDIT_TOTAL_NS - extCredited;
      if (used <= 0n) return;
      extCredited += used;
      owner().creditCpu(used);
    },
    wasmBytes: (name) => (typeof name === 'string' ? extensionWasm(name) : undefined),
  };
  const sys = (ctx: unknown, name: unknown, ...args: unknown[]) => {
    const fn = typeof name === 'string' && Object.hasOwn(syncCalls, name) ? syncCalls[name] : undefined;
    if (!fn) throw isolateError('TypeError: unknown syscall');
    const start = CHARGED.has(name as string) ? process.hrtime.bigint() : 0n;
    try {
      return CTX_CALLS.has(name as string) ? fn(ctx, ...args) : fn(...args);
    } catch (err) {
      const e = err as Error;
      throw isolateError(`${crossingName(e) ?? 'Error'}: ${e.message}`);
    } finally {
      if (start !== 0n) slot.owner?.chargeHost(ctx, process.hrtime.bigint() - start);
    }
  };
  /** Asynchronous calls by name; `ctx` is the invocation the call is made for. */
  const asyncCalls: Record<string, (ctx: unknown, ...args: unknown[]) => unknown> = {
    subtle: (ctx, op, args) => cryptoQueue.run(ctx, argumentBytes(args), () => subtleCall(op, args)),
    cache: (ctx, op, ...rest) => {
      const o = owner();
      o.requireLive(ctx);
      return cacheCall(o.cache, op, rest, o.hops(ctx), o.metrics);
    },
    purge: (ctx, options) => {
      const o = owner();
      o.requireLive(ctx);
      return purgeCall(o.cache, options);
    },
    // Every binding's calls (src/runtime/bindings/protocol.ts): found by name among the
    // calling worker's own, so a tenant reaches only what its config binds.
    binding: (ctx, name, op, ...args) => {
      const o = owner();
      const b = typeof name === 'string' ? o.bindings?.get(name) : undefined;
      if (!b)
        throw new NamedError(
          `env.${String(name).slice(0, 100)} is not a binding of this worker`,
          'TypeError',
        );
      const fn = typeof op === 'string' && Object.hasOwn(b.ops, op) ? b.ops[op] : undefined;
      if (!fn)
        throw new NamedError(
          `env.${name} (${b.type}) has no operation ${String(op).slice(0, 100)}`,
          'TypeError',
        );
      return fn(o, ctx, args);
    },
    wsConnect: (ctx, id, url, protocols, headers) => {
      const o = owner();
      o.beginSubrequest(ctx);
      if (!o.egress)
        throw isolateError('Error: WebSocket connection failed: this worker has no network access');
      return sockets.connect(id, url, protocols, headers, o.egress, outgoingHops(o.chain(ctx)));
    },
    // connect() from cloudflare:sockets (src/runtime/bridge/tcp.ts): a subrequest through the
    // egress policy; its bytes arrive as a body the isolate pulls.
    tcpConnect: (ctx, hostname, port, secure) => {
      const o = owner();
      o.beginSubrequest(ctx);
      if (!o.egress) throw isolateError('Error: connect() failed: this worker has no network access');
      return tcp.connect(hostname, port, secure, o.egress, o.bodies);
    },
    // `ctx.storage.sync()`: resolves once the object's writes before it are confirmed, which the
    // output gate (postedCalls) waited for before this call started.
    doSync: () => {
      if (!owner().durable)
        throw new NamedError('storage is only available inside a Durable Object', 'Error');
    },
    tcpWrite: (_ctx, id, data) => tcp.write(id, data),
    tcpClose: (_ctx, id, half) => tcp.close(id, half),
  };
  const asys = (ctx: unknown, name: unknown, ...args: unknown[]) => {
    const fn = typeof name === 'string' && Object.hasOwn(asyncCalls, name) ? asyncCalls[name] : undefined;
    if (!fn) throw isolateError('TypeError: unknown syscall');
    owner();
    return fn(ctx, ...args);
  };

  return [
    ivm,
    new ivm.Callback(log, { ignored: true }),
    new ivm.Callback(crossing(urlParse)),
    new ivm.Callback(crossing(urlSet)),
    new ivm.Callback(crossing(random)),
    new ivm.Callback(limit, { ignored: true }),
    new ivm.Callback(cancelBody, { ignored: true }),
    new ivm.Callback(abortFetch, { ignored: true }),
    // The order of src/runtime/isolate/bridge.ts: TIMER, FETCH, READ, ASYNC.
    postedCalls(slot, calls, [timer, fetchCall, read, asys], spans, outputGate(slot, aborts)),
    new ivm.Callback(crossing(sys)),
    calls.complete,
    calls.stray,
    new ivm.ExternalCopy(settings).copyInto(),
    new ivm.ExternalCopy(running).copyInto(),
  ];
}
