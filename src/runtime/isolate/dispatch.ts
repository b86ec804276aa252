/**
 * Entry points the host calls: load the tenant bundle, dispatch a request, pull chunks of a
 * streamed response body, cancel it, and settle `ctx.waitUntil` work. Everything returned is
 * plain data (copied by isolated-vm); the host validates it again.
 *
 * Request context: each entry runs in its invocation's frame (context.ts). Unlike the rest of
 * the prelude, this file keeps native async functions (lowering it cost ~7 µs per request, see
 * src/runtime/prelude.ts), so after a native `await` no frame is current: code here that calls
 * into the tenant or the host after an await re-enters the frame it captured (objectEvent,
 * pullFrom).
 */

import type { AnyDescriptor, WorkflowRunArgs } from '../bindings/protocol.ts';
import { allSettledInFrame, raceInFrame } from './async.ts';
import { __outpostFrames } from './await-frames.ts';
import { makeBindings } from './bindings/index.ts';
import { type DeliveredMessage, messageBatch } from './bindings/queue-batch.ts';
import { HostBody, isUsed, kBody, newState } from './body.ts';
import { host } from './bridge.ts';
import { now } from './clock.ts';
import { cache, hooks, isEntrypointClass, isWorkflowClass, setWorkerEnv, tracing } from './cloudflare.ts';
import { allowCodegen } from './codegen.ts';
import { format } from './console.ts';
import {
  catchInFrame,
  currentFrame,
  currentId,
  enter,
  type Frame,
  frameFor,
  resolvedIntrinsic,
  resolveInFrame,
} from './context.ts';
import type { ObjectRuntime } from './durable.ts';
import { bytesBuffer, concat, TextDecoder, TextEncoder, toBytes, utf8Encode } from './encoding.ts';
import { DOMException, Event } from './events.ts';
import { flattenHeaders, Headers } from './headers.ts';
import { IdSlots } from './id-slots.ts';
import { openKvNotes, takeKvNotes } from './kv-cache.ts';
import { requireModule, setCompatibilityFlags } from './modules.ts';
import { keepCrossingOrder } from './outbox.ts';
import { closeParts, loadedPart, part } from './parts.ts';
import { makeRequest, type Request } from './request.ts';
import { Response } from './response.ts';
import { setTimeout as preludeSetTimeout } from './timers.ts';
import { declaredLength } from './transforms.ts';
import { URL } from './url.ts';
import { internals, WebSocket } from './websocket.ts';

type FetchHandler = (request: Request, env: object, ctx: object) => unknown;

let format_: 'modules' | 'service-worker' = 'modules';
let moduleHandler: { fetch: FetchHandler; self: object } | null = null;
let env: Record<string, unknown> = {};
let exportsObject: Record<string, any> = {};
const swListeners: ((e: FetchEvent) => void)[] = [];
/** Service-worker syntax: `addEventListener('scheduled', ...)`. */
const swScheduled: ((e: object) => void)[] = [];
/** Each invocation's waitUntil list, by its id (not a Map: id-slots.ts). */
const waitUntils = new IdSlots<Promise<unknown>[]>();
interface OutStream {
  reader: any;
  /** The invocation whose response this is: the stream's callbacks run in it. */
  frame: Frame | undefined;
  /** A read started by the previous pull that had not settled when that pull returned. */
  pending: Promise<{ done: boolean; value: unknown }> | null;
  done: boolean;
}
const outStreams = new IdSlots<OutStream>();
let nextStreamId = 1;

/** Service-worker syntax: `addEventListener('fetch', ...)` on the global scope. */
export function registerGlobalListener(type: string, listener: unknown): boolean {
  if (type === 'scheduled') {
    if (typeof listener === 'function') swScheduled.push(listener as (e: object) => void);
    else if (listener && typeof (listener as any).handleEvent === 'function')
      swScheduled.push((e) => (listener as any).handleEvent(e));
    return true;
  }
  if (type !== 'fetch') return false;
  if (typeof listener === 'function') swListeners.push(listener as (e: FetchEvent) => void);
  else if (listener && typeof (listener as any).handleEvent === 'function')
    swListeners.push((e) => (listener as any).handleEvent(e));
  return true;
}

class FetchEvent extends Event {
  readonly request: Request;
  #ctx: { waitUntil(p: unknown): void; passThroughOnException(): void };
  response: Promise<unknown> | null = null;
  constructor(request: Request, ctx: FetchEvent['ctx']) {
    super('fetch');
    this.request = request;
    this.#ctx = ctx;
  }
  get ctx() {
    return this.#ctx;
  }
  respondWith(r: unknown) {
    if (this.response)
      throw new DOMException('FetchEvent.respondWith() has already been called.', 'InvalidStateError');
    this.response = resolveInFrame(r);
  }
  waitUntil(p: unknown) {
    this.#ctx.waitUntil(p);
  }
  passThroughOnException() {
    this.#ctx.passThroughOnException();
  }
}

export interface LoadOptions {
  compatibilityFlags: string[];
  /** `compatibility_date`, null when the config gives none. */
  compatibilityDate?: string | null;
  /** Bindings that are objects, not plain vars (service bindings…), by name. */
  bindings: Record<string, AnyDescriptor>;
  /** Set when this isolate holds one Durable Object (an instance of an exported class). */
  durableObject?: {
    className: string;
    id: string;
    name: string | null;
    backend: 'kv' | 'sqlite';
    /** Hibernated WebSockets handed back on wake-up: [id, tags, attachment]. */
    sockets?: [number, string[], unknown][];
  };
}

/**
 * How long a block may hold the object's events: past it the object is reset (as Cloudflare
 * resets an object whose blockConcurrencyWhile() runs longer than 30 s), and the events it held
 * fail.
 */
const BLOCK_LIMIT_MS = 30_000;

/** This isolate's Durable Object, when it holds one. */
let object: ObjectRuntime | null = null;

/**
 * One event delivered to the object: waits while blockConcurrencyWhile() runs, then runs; its
 * writes are committed before its outcome leaves the object (the output gate).
 */
async function objectEvent<T>(run: (o: ObjectRuntime) => Promise<T> | T): Promise<T> {
  const o = object as ObjectRuntime;
  const frame = currentFrame();
  if (o.gate() || held.length > 0) {
    const stuck = resetIfStuck(o);
    if (stuck) throw stuck;
    await heldUntilOpen(o);
  }
  // Resumed by a native await: the event's frame is put back by hand.
  let out: T;
  try {
    out = await enter(frame, () => run(o));
  } catch (err) {
    // An exception is an answer too: the writes before it commit before it leaves (and the
    // host's output gate holds it until they are confirmed).
    loadedPart('durable')?.commitWrites();
    throw err;
  }
  loadedPart('durable')?.commitWrites();
  return out;
}

/** Events that arrived while blockConcurrencyWhile() ran, oldest first. */
const held: { resolve(): void; reject(err: Error): void }[] = [];

/**
 * Wait for the gate to open, then start in arrival order, one event per task: released in one
 * microtask run, the held events would interleave across their storage awaits.
 */
function heldUntilOpen(o: ObjectRuntime): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    held.push({ resolve, reject });
    if (held.length === 1) {
      void releaseHeld(o);
      watchBlock(o);
    }
  });
}

async function releaseHeld(o: ObjectRuntime): Promise<void> {
  while (held.length > 0) {
    for (let g = o.gate(); g; g = o.gate()) await g;
    // A new task (a host timer): the previous event's microtasks have all run.
    await new Promise((r) => setTimeout(r, 0));
    if (o.gate()) continue;
    held.shift()?.resolve();
  }
}

/**
 * A block that holds events past BLOCK_LIMIT_MS resets the object, as on Cloudflare: the next
 * event gets a new instance (its storage kept), the events it held fail. Checked when an event
 * finds the gate closed, and by a timer while events are held.
 */
function resetIfStuck(o: ObjectRuntime): Error | null {
  const since = o.blockedSince();
  if (since === null || now() - since < BLOCK_LIMIT_MS) return null;
  const err = new Error(
    `Durable Object reset: blockConcurrencyWhile() did not complete within ${BLOCK_LIMIT_MS / 1000} seconds`,
  );
  if (!resetAsked) {
    resetAsked = true;
    try {
      host.sys('doAbort', err.message);
    } catch {}
  }
  for (const h of held.splice(0)) h.reject(err);
  return err;
}

/** This instance asked to be reset (an event still delivered to it fails at once). */
let resetAsked = false;

function watchBlock(o: ObjectRuntime): void {
  const since = o.blockedSince();
  if (since === null) return;
  // The prelude's own timer (timers.ts), not the global a tenant may have replaced.
  preludeSetTimeout(
    () => {
      if (held.length > 0 && !resetIfStuck(o)) watchBlock(o);
    },
    Math.max(0, since + BLOCK_LIMIT_MS - now()),
  );
}

function loadObject(d: NonNullable<LoadOptions['durableObject']>, exported: Record<string, any>): void {
  const cls = exported[d.className];
  if (typeof cls !== 'function')
    throw new TypeError(
      `The Durable Object class "${d.className}" is not exported by this worker (its exports: ${Object.keys(exported).join(', ') || 'none'}).`,
    );
  // An object's answers held for the rest of their ring batch leave before anything later
  // crosses: the output gate then holds each for the writes before it alone (outbox.ts).
  keepCrossingOrder();
  object = part('durable').makeObject(
    cls,
    env,
    d.id,
    d.name,
    d.backend,
    (p) => hooks.waitUntil(p),
    d.sockets,
  );
  moduleHandler = {
    self: {},
    fetch: (request) =>
      objectEvent((o) => {
        const f = o.instance.fetch;
        if (typeof f !== 'function')
          throw new TypeError(`The Durable Object class "${d.className}" has no fetch() method.`);
        return f.call(o.instance, request);
      }),
  };
}

/** Service-worker syntax sees bindings as globals (https://developers.cloudflare.com/workers/reference/migrate-to-module-workers/). */
function defineEnvGlobals(): void {
  for (const [k, v] of Object.entries(env)) (globalThis as any)[k] = v;
}

let loadOptions: LoadOptions = { compatibilityFlags: [], bindings: {} };
let loadHint = 'modules';

/**
 * First half of a load, before any tenant code runs: compatibility flags, `env` (also what
 * `import { env } from 'cloudflare:workers'` sees at the top level), and for service-worker
 * syntax the bindings as globals.
 */
export function beginLoad(
  envData: Record<string, unknown>,
  hint: string,
  options: LoadOptions = { compatibilityFlags: [], bindings: {} },
  /** False for the pool's rehearsal of the load path (index.ts, linkRuntime): no tenant code follows. */
  tenant = true,
): void {
  allowCodegen(true); // the top level may evaluate strings (codegen.ts)
  setCompatibilityFlags(options.compatibilityFlags, options.compatibilityDate ?? null, envData);
  env = { ...envData, ...makeBindings(options.bindings) };
  // The parts this isolate needs load now or never (parts.ts): the worker's code runs next.
  if (options.durableObject) part('durable');
  if (tenant) closeParts();
  setWorkerEnv(env);
  loadOptions = options;
  loadHint = hint;
  if (hint === 'service-worker') defineEnvGlobals();
}

/**
 * Second half, once the top level has run: find the handler among the module's exports (an
 * object with exports, or a module namespace), or the service-worker listeners.
 */
export function finishLoad(exported: Record<string, any>): string {
  allowCodegen(false); // startup is over
  const options = loadOptions;
  if (Object.keys(exported).length > 0) {
    format_ = 'modules';
    exportsObject = exported;
    if (options.durableObject) {
      loadObject(options.durableObject, exported);
      return format_;
    }
    const def = exported.default;
    if (isEntrypointClass(def)) {
      // `export default class extends WorkerEntrypoint`: one instance per request, fetch(request).
      moduleHandler = {
        self: {},
        fetch: (request, e, ctx) => new (def as any)(ctx, e).fetch(request),
      };
      return format_;
    }
    if (!def && Object.values(exported).some(isWorkflowClass)) {
      // Only Workflow classes (their runs come as events): a request gets a clear error.
      moduleHandler = {
        self: {},
        fetch: () => {
          throw new TypeError('This worker has no fetch() handler: it exports only Workflow classes.');
        },
      };
      return format_;
    }
    if (
      !def ||
      (typeof def.fetch !== 'function' && !EVENT_HANDLERS.some((h) => typeof def[h] === 'function'))
    ) {
      throw new TypeError(
        'Handler does not export a fetch() function: the default export must be an object with a fetch(request, env, ctx) method (or another handler: scheduled, queue, tail), or a class extending WorkerEntrypoint.',
      );
    }
    // A worker with only event handlers (a Tail Worker) answers a request with a clear error.
    const fetch =
      typeof def.fetch === 'function'
        ? def.fetch
        : () => {
            throw new TypeError(
              `This worker has no fetch() handler: its default export has only ${EVENT_HANDLERS.filter((h) => typeof def[h] === 'function').join(', ')}().`,
            );
          };
    moduleHandler = { fetch, self: def };
    return format_;
  }
  format_ = 'service-worker';
  if (loadHint !== 'service-worker') defineEnvGlobals();
  if (swListeners.length === 0 && swScheduled.length === 0) {
    throw new TypeError(
      'No fetch handler: the module exports nothing and registered no addEventListener("fetch", ...) listener.',
    );
  }
  return format_;
}

/** Load a service-worker script: CommonJS wrapped in a function (src/runtime/instance.ts). */
export function load(
  factory: (
    module: object,
    exports: object,
    require: (id: string) => unknown,
    frames: typeof __outpostFrames,
  ) => void,
  envData: Record<string, unknown>,
  hint: string,
  options: LoadOptions = { compatibilityFlags: [], bindings: {} },
): string {
  beginLoad(envData, hint, options);
  const module = { exports: {} as Record<string, any> };
  factory.call(undefined, module, module.exports, requireModule, __outpostFrames);
  return finishLoad(module.exports);
}

let lastCf: Readonly<Record<string, unknown>> = Object.freeze({});

function serializeError(err: unknown): { name: string; message: string; stack: string } {
  if (err instanceof Error)
    return {
      name: err.name,
      message: err.message,
      stack: String(err.stack ?? `${err.name}: ${err.message}`),
    };
  const text = `Uncaught ${format([err])}`;
  return { name: 'Error', message: text, stack: text };
}

/**
 * Run one request, in a context of its own (context.ts): `id` is the invocation id the host
 * charges its work to. `cf` is null when it is the same as the previous request's (the host
 * sends it only when it changes); `rawBody` is null, the whole body, or the id of a host stream.
 */
export function dispatch(...args: Parameters<typeof runRequest>): Promise<object> {
  return enter(frameFor(args[0]), () => runRequest(...args));
}

async function runRequest(
  id: number,
  method: string,
  url: string,
  headers: string[],
  cf: Record<string, unknown> | null,
  rawBody: null | ArrayBuffer | number,
): Promise<object> {
  // Taken now: after this function's native awaits no frame is current.
  const frame = currentFrame();
  // KV reads may answer from the isolate's copies until the response goes (kv-cache.ts).
  openKvNotes(id);
  const body =
    rawBody === null ? null : typeof rawBody === 'number' ? new HostBody(rawBody) : new Uint8Array(rawBody);
  const request = makeRequest({
    method,
    url,
    headers: Headers.fromFlat(headers, 'immutable'),
    body: newState(body),
    cf: cf === null ? lastCf : (lastCf = Object.freeze(cf)),
  });
  const waits = trackWaits(id);
  let passThrough = false;
  const ctx = {
    waitUntil(p: unknown) {
      waits.push(catchInFrame(p, (err) => (globalThis as any).reportError(err)));
    },
    passThroughOnException() {
      passThrough = true;
    },
    props: {},
    cache,
    tracing,
  };
  let response: unknown;
  try {
    if (format_ === 'modules')
      response = await moduleHandler!.fetch.call(moduleHandler!.self, request, env, ctx);
    else {
      const event = new FetchEvent(request, ctx);
      for (const l of swListeners) l(event);
      if (!event.response) throw new Error('No response: no fetch listener called event.respondWith().');
      response = await event.response;
    }
    if (!(response instanceof Response)) {
      throw new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
    }
    if (response.type === 'error') throw new TypeError('The worker returned Response.error().');
    if (waits.length === 0) waitUntils.delete(id); // late waitUntil() calls still run, unawaited
    return serializeResponse(response, waits.length, frame, id);
  } catch (err) {
    if (waits.length === 0) waitUntils.delete(id);
    return { error: serializeError(err), passThrough, waitUntil: waits.length, kvHits: takeKvNotes(id) };
  }
}

/**
 * Longer texts are encoded in the isolate: the host's encoding is work on its main thread that
 * no tenant's CPU limit sees (cheap per byte, but a worker could send tens of MB a request).
 */
const TEXT_MAX = 64 * 1024;

function serializeResponse(r: Response, waitUntil: number, frame: Frame | undefined, id: number): unknown[] {
  const state = r[kBody];
  if (isUsed(state)) throw new TypeError('The response body has already been used and cannot be sent.');
  const src = state.source;
  let kind: 'none' | 'text' | 'bytes' | 'host' | 'stream' = 'none';
  let body: string | ArrayBuffer | number | null = null;
  if (typeof src === 'string' && src.length <= TEXT_MAX) {
    // Text crosses as text: the host encodes it (Buffer.from), natively.
    kind = 'text';
    body = src;
  } else if (typeof src === 'string') {
    // A large text is encoded here, on the tenant's CPU, not on the host's main thread.
    kind = 'bytes';
    body = bytesBuffer(utf8Encode(src));
  } else if (src instanceof Uint8Array) {
    kind = 'bytes';
    body = bytesBuffer(src);
  } else if (src instanceof HostBody) {
    // A subrequest's body returned as is: the host pipes it without crossing into the isolate.
    kind = 'host';
    body = Number(src.id);
  } else if (src !== null) {
    kind = 'stream';
    body = nextStreamId++;
    outStreams.set(body, { reader: src.getReader(), frame, pending: null, done: false });
  }
  state.used = true;
  const headers = flattenHeaders(r.headers);
  // A 101 with a WebSocket: the PoP upgrades the connection and bridges it to this end's peer.
  const ws = r.status === 101 && r.webSocket instanceof WebSocket ? internals.handOff(r.webSocket) : null;
  const fixed = kind === 'stream' ? declaredLength.get(src) : undefined;
  // A list with no prototype (flattenHeaders): added to by index.
  if (fixed !== undefined && !r.headers.has('content-length')) {
    headers[headers.length] = 'content-length';
    headers[headers.length] = String(fixed);
  }
  // A tuple, not an object: an object's key names would be serialized on every response.
  // Order: see DispatchResult in src/runtime/instance.ts. In an object's isolate the outbox
  // makes a fresh copy of it when it is reported (outbox.ts, `own`).
  return [r.status, r.statusText, headers, kind, body, waitUntil, ws, takeKvNotes(id)];
}

/**
 * Run one synthetic request through the whole path with a built-in handler, so V8 compiles the
 * prelude's functions now (in the warm pool) instead of on a tenant's first request: the code
 * cache only holds what was compiled eagerly, and lazy compilation cost ~1.5 ms per isolate.
 *
 * The isolate that makes the prelude's code cache (`forCache`) also parses a URL and its query,
 * as most routers do, so the cache holds that code too. The others only run the request path:
 * what they would compile is in the cache already, and every request they run leaves garbage
 * an idle isolate keeps (its young generation is never collected). Code only some workers run
 * (TextEncoder/TextDecoder, Response.json) is not warmed at all: every isolate deserializes the
 * whole cache, so each function in it costs every tenant memory (~11 KB per tenant for those,
 * measured), while compiling them on first use costs that tenant a few tens of microseconds.
 */
export async function warmup(forCache?: boolean): Promise<void> {
  moduleHandler = {
    self: {},
    fetch: async (request: Request) => {
      void request.headers.get('accept');
      if (forCache) void new URL(request.url).searchParams.get('q');
      return new Response('warm', { headers: { 'content-type': 'text/plain' } });
    },
  };
  try {
    await dispatch(0, 'GET', 'http://warmup.invalid/?q=1', ['accept', '*/*'], {}, null);
  } finally {
    moduleHandler = null;
    waitUntils.delete(0);
  }
}

const NOT_YET = Symbol('not yet');
/** Most bytes one pull gathers from chunks that are already there. */
const PULL_GATHER_MAX = 256 * 1024;

function chunkCopy(entry: OutStream, id: number, value: unknown): Uint8Array {
  if (!(value instanceof ArrayBuffer || ArrayBuffer.isView(value))) {
    outStreams.delete(id);
    catchInFrame(entry.reader.cancel(), () => {});
    throw new TypeError('This ReadableStream did not return bytes.');
  }
  // Copy now: the outcome is serialized at the next flush, and by then the stream's next pull()
  // may have refilled a buffer the worker reuses.
  return toBytes(value, 'chunk').slice();
}

/**
 * Next bytes of a streamed response body, or null at its end. Waits for one chunk, then takes
 * along the chunks that are already queued (each crossing costs 25–55 µs of isolate CPU), but
 * never waits for more: a slow producer's chunk goes out as soon as it is written.
 */
export function pull(id: number): Promise<ArrayBuffer | null> {
  const entry = outStreams.get(id);
  if (!entry || entry.done) {
    outStreams.delete(id);
    return resolvedIntrinsic(null);
  }
  // The producer's callbacks (a TransformStream's writer, a pull() source) run for its request.
  return enter(entry.frame, () => pullFrom(entry, id));
}

async function pullFrom(entry: OutStream, id: number): Promise<ArrayBuffer | null> {
  const first = await (entry.pending ?? entry.reader.read());
  entry.pending = null;
  // A Durable Object's writes made while producing the body commit before its bytes (or its
  // end) leave: the host's output gate then holds them until the writes are confirmed.
  commitForBody();
  if (first.done) {
    outStreams.delete(id);
    return null;
  }
  const parts = [chunkCopy(entry, id, first.value)];
  let total = parts[0].byteLength;
  while (total < PULL_GATHER_MAX) {
    // After a native await: the producer's callbacks run for its request again.
    const next = enter(entry.frame, () => entry.reader.read());
    const r = await raceInFrame<{ done: boolean; value: unknown } | typeof NOT_YET>([next, NOT_YET]);
    if (r === NOT_YET) {
      entry.pending = next;
      break;
    }
    if (r.done) {
      entry.done = true;
      break;
    }
    const c = chunkCopy(entry, id, r.value);
    parts.push(c);
    total += c.byteLength;
  }
  commitForBody();
  return bytesBuffer(concat(parts));
}

/** A commit that fails ends the body (its bytes must not leave) and is reported, as at a task's end. */
function commitForBody(): void {
  try {
    loadedPart('durable')?.commitWrites();
  } catch (err) {
    (globalThis as any).reportError(err);
    throw err;
  }
}

/** The client went away: cancel the body stream (the producer sees its cancel()). */
export function cancel(id: number, reason: string): void {
  const entry = outStreams.get(id);
  outStreams.delete(id);
  if (entry) enter(entry.frame, () => catchInFrame(entry.reader.cancel(reason), () => {}));
}

/** The ctx.waitUntil() list of invocation `id`. */
function trackWaits(id: number): Promise<unknown>[] {
  const waits: Promise<unknown>[] = [];
  waitUntils.set(id, waits);
  return waits;
}
// waitUntil from cloudflare:workers: extends the invocation the calling code runs for.
hooks.waitUntil = (p) => {
  const waits = waitUntils.get(currentId());
  const tracked = catchInFrame(p, (err) => (globalThis as any).reportError(err));
  waits?.push(tracked);
};

/**
 * An RPC call from a service binding: `method` of a new instance of the export named
 * `entrypoint` (a WorkerEntrypoint class), with structured-cloned arguments. The result is
 * structured-cloned back by the host.
 */
export function rpc(id: number, entrypoint: string | null, method: string, args: unknown[]): Promise<object> {
  return enter(frameFor(id), () =>
    object ? objectRpc(id, entrypoint, method, args) : workerRpc(id, entrypoint, method, args),
  );
}

async function workerRpc(
  id: number,
  entrypoint: string | null,
  method: string,
  args: unknown[],
): Promise<object> {
  const name = entrypoint ?? 'default';
  const target = exportsObject[name];
  if (!isEntrypointClass(target))
    throw new TypeError(
      `Cannot call "${method}" over RPC: the export "${name}" is not a class extending WorkerEntrypoint from cloudflare:workers.`,
    );
  const waits = trackWaits(id);
  const ctx = executionContext(waits);
  try {
    const instance = new target(ctx, env);
    const fn = NOT_CALLABLE.has(method) ? undefined : instance[method];
    if (typeof fn !== 'function' || Object.hasOwn(Object.prototype, method))
      throw new TypeError(`The RPC receiver does not implement the method "${method}".`);
    const value = await fn.apply(instance, args);
    return { value, waitUntil: waits.length };
  } finally {
    if (waits.length === 0) waitUntils.delete(id);
  }
}

/** The `ctx` of an RPC call or handler event: its waitUntil() list (no passThroughOnException effect). */
function executionContext(waits: Promise<unknown>[]) {
  return {
    waitUntil(p: unknown) {
      waits.push(catchInFrame(p, (err) => (globalThis as any).reportError(err)));
    },
    passThroughOnException() {},
    props: {},
    cache,
    tracing,
  };
}

/** Handlers other than fetch() a module's default export may have (the host calls them by `event`). */
const EVENT_HANDLERS = ['tail', 'scheduled', 'queue'];

/**
 * The ScheduledController a `scheduled(controller, env, ctx)` handler gets
 * (https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/): when the
 * trigger was due and which cron it was; `noRetry()` is accepted (Outpost does not retry a
 * failed scheduled event, so it changes nothing).
 */
function scheduledController(arg: unknown): object {
  const a = (arg ?? {}) as { scheduledTime?: unknown; cron?: unknown };
  const controller = {
    scheduledTime: typeof a.scheduledTime === 'number' ? a.scheduledTime : Date.now(),
    cron: typeof a.cron === 'string' ? a.cron : '',
    type: 'scheduled',
    noRetry() {},
  };
  return Object.freeze(controller);
}

/**
 * A handler event for this worker (`tail(events, env, ctx)`; on a WorkerEntrypoint class,
 * `tail(events)` of a new instance), its arguments structured-cloned from the host.
 */
export function event(id: number, handler: string, args: unknown[]): Promise<object> {
  return enter(frameFor(id), async () => {
    const waits = trackWaits(id);
    const ctx = executionContext(waits);
    try {
      if (handler === 'workflow') {
        // A Workflow instance's run (workflows/run.ts): its outcome goes back to the engine.
        if (format_ !== 'modules') throw new TypeError('Workflows need an ES module worker.');
        // Its code is the Workflows part, which a worker with a [[workflows]] binding loaded.
        const run = loadedPart('workflow')?.runWorkflow;
        if (!run)
          throw new TypeError(
            'This worker has no [[workflows]] binding: a Workflow runs in the worker whose config defines it.',
          );
        const value = await run(exportsObject, env, ctx, args[0] as WorkflowRunArgs);
        return { value, waitUntil: waits.length };
      }
      if (!EVENT_HANDLERS.includes(handler)) throw new TypeError(`Unknown handler event "${handler}".`);
      if (format_ === 'service-worker' && handler === 'scheduled') {
        // addEventListener('scheduled', (event) => event.waitUntil(...)): the controller's
        // fields on the event, with waitUntil.
        if (swScheduled.length === 0)
          throw new TypeError('The worker registered no addEventListener("scheduled", ...) listener.');
        const event = Object.freeze({ ...scheduledController(args[0]), waitUntil: ctx.waitUntil });
        for (const l of swScheduled) l(event);
        return { value: undefined, waitUntil: waits.length };
      }
      const def = exportsObject.default;
      const self = isEntrypointClass(def) ? new (def as any)(ctx, env) : def;
      const fn = self?.[handler];
      if (typeof fn !== 'function')
        throw new TypeError(
          `The worker has no ${handler}() handler: its default export does not define one.`,
        );
      if (handler === 'queue') {
        // queue(batch, env, ctx): the decisions go back even when it throws (the rest retried).
        const a = (args[0] ?? {}) as { queue?: unknown; messages?: unknown };
        const { batch, settle } = messageBatch(
          String(a.queue ?? ''),
          Array.isArray(a.messages) ? (a.messages as DeliveredMessage[]) : [],
        );
        try {
          await (isEntrypointClass(def) ? fn.call(self, batch) : fn.call(self, batch, env, ctx));
        } catch (err) {
          const e = err as Error;
          return {
            value: { ...settle(true), error: `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}` },
            waitUntil: waits.length,
          };
        }
        return { value: settle(false), waitUntil: waits.length };
      }
      const given = handler === 'scheduled' ? [scheduledController(args[0])] : args;
      await (isEntrypointClass(def) ? fn.apply(self, given) : fn.call(self, ...given, env, ctx));
      return { value: undefined, waitUntil: waits.length };
    } finally {
      if (waits.length === 0) waitUntils.delete(id);
    }
  });
}

const NOT_CALLABLE = new Set(['constructor', 'fetch', 'ctx', 'env', ...EVENT_HANDLERS]);
const NOT_RPC_ON_OBJECTS = new Set([
  ...NOT_CALLABLE,
  'alarm',
  'webSocketMessage',
  'webSocketClose',
  'webSocketError',
]);

/** An RPC call (kind "rpc") or the alarm (kind "alarm", args[0] its info) delivered to this isolate's object. */
async function objectRpc(id: number, kind: string | null, method: string, args: unknown[]): Promise<object> {
  const waits = trackWaits(id);
  try {
    const value = await objectEvent((o) => {
      const inst = o.instance;
      if (kind === 'ws') {
        // A hibernatable WebSocket's event, for the object's handler.
        const ws = internals.hibernationEvent(args[0] as number, method, args[1]);
        if (!ws) return undefined;
        if (method === 'message') return inst.webSocketMessage?.(ws, args[1]);
        if (method === 'close') return inst.webSocketClose?.(ws, args[1], args[2], args[1] !== 1006);
        return inst.webSocketError?.(ws, new Error(String(args[1])));
      }
      if (kind === 'alarm') {
        if (typeof inst.alarm !== 'function')
          throw new TypeError('The Durable Object class has no alarm() method.');
        return inst.alarm(args[0]);
      }
      const fn = NOT_RPC_ON_OBJECTS.has(method) ? undefined : inst[method];
      if (typeof fn !== 'function' || Object.hasOwn(Object.prototype, method))
        throw new TypeError(`The RPC receiver does not implement the method "${method}".`);
      return fn.apply(inst, args);
    });
    return { value, waitUntil: waits.length };
  } finally {
    if (waits.length === 0) waitUntils.delete(id);
  }
}

/** Resolves when every ctx.waitUntil() promise of the request has settled (including late ones). */
export async function settle(id: number): Promise<void> {
  const waits = waitUntils.get(id);
  if (!waits) return;
  let done = 0;
  while (done < waits.length) {
    const upTo = waits.length;
    await allSettledInFrame(waits, done, upTo);
    done = upTo;
  }
  waitUntils.delete(id);
}

/** Forget a request's waitUntil list without waiting (the host gave up on it). */
export function forget(id: number): void {
  waitUntils.delete(id);
}

export function reportError(err: unknown): void {
  host.log('error', `Uncaught ${err instanceof Error ? err.stack || String(err) : format([err])}`);
}
