/**
 * The host's syscalls as seen from inside the isolate. The host hands them to `__outpost_init`
 * once; they live only in this module's closure, never on a global, so tenant code cannot
 * reach them. Every value that crosses is copied (Callbacks) or promise-copied (References).
 */
import type { BindingKind, OpsOf } from '../bindings/protocol.ts';
import { tick } from './clock.ts';
import { currentId, currentSpan, resolvedIntrinsic, thenIntrinsic } from './context.ts';
import { checkDepth } from './depth.ts';
import { DOMExceptionRef } from './encoding.ts';
import { IdSlots } from './id-slots.ts';

export interface HostBridge {
  ivm: any;
  /** (level, text) — ignored-mode callback, never blocks. */
  log(level: string, text: string): void;
  /** WHATWG URL parsing done by the host's URL implementation. */
  urlParse(input: string, base: string | undefined): string[] | null;
  urlSet(href: string, prop: string, value: string): string[];
  random(n: number): ArrayBuffer;
  /** Report a limit breach the isolate detected itself (e.g. WebAssembly memory). */
  limit(name: string, detail: string): void;
  /**
   * Start asynchronous host calls (ignored-mode callback: no promise, no stack captured): a flat
   * list of `call id, invocation, which, args, custom span` (callHost); the host answers each
   * through hostDone. The custom span (context.ts Frame.span) is where what the call records nests.
   */
  post(calls: unknown[]): void;
  /** Synchronous syscalls by name (see createSyscalls' syncCalls). */
  sys(name: string, ...args: unknown[]): any;
  cancelBody(id: number): void;
  abortFetch(id: number): void;
  /** Limits and settings the prelude needs (copied plain data). */
  settings: { memoryLimitMb: number; workerName: string };
}

export const host = {} as HostBridge;

/** The longest console line that crosses to the host (the host cuts at the same length). */
const LOG_LINE_MAX = 16384;

/**
 * Install the syscalls. Every crossing carries the invocation it is made for (context.ts): the
 * raw log and sync calls take it first, and callHost puts it before an async call's arguments.
 */
export function installBridge(
  b: Omit<HostBridge, 'log' | 'sys'> & {
    log(ctx: number, level: string, text: string): void;
    sys(ctx: number, name: string, ...args: unknown[]): any;
  },
): void {
  Object.assign(host, b);
  // Whatever a synchronous host call throws is made again here (see fromHost).
  host.urlParse = guarded(b.urlParse);
  host.urlSet = guarded(b.urlSet);
  host.random = guarded(b.random);
  const { log } = b;
  const sys = guarded(b.sys);
  // Cut here, not on the host: the whole string would be copied across first (a 300 MB line).
  host.log = (level, text) => {
    if (outgoing.length !== 0) sendPosted();
    log(
      currentId(),
      level,
      text.length > LOG_LINE_MAX ? `${text.slice(0, LOG_LINE_MAX)}… (truncated)` : text,
    );
  };
  host.sys = (name, ...args) => {
    beforeCrossing();
    return apply(sys, undefined, listOf([currentId(), name], args));
  };
  // What refers to a posted call (a fetch's abort, a body's cancel) must not overtake it.
  const { cancelBody, abortFetch, limit } = b;
  host.cancelBody = (id) => {
    beforeCrossing();
    cancelBody(id);
  };
  host.abortFetch = (id) => {
    beforeCrossing();
    abortFetch(id);
  };
  host.limit = (name, detail) => {
    beforeCrossing();
    limit(name, detail);
  };
}

/** What an asynchronous host call starts (src/runtime/bridge/syscalls.ts, POSTED, same order). */
export const TIMER = 0;
export const FETCH = 1;
export const READ = 2;
/** A syscall by name (createSyscalls' asyncCalls). */
export const ASYNC = 3;

/**
 * Host calls in flight, by call id. A call is posted to the host through an ignored callback,
 * which costs no promise and no captured stack (isolated-vm captures a 10-frame stack for
 * every async `apply`, which perf showed as the largest single cost of a Durable Object stub
 * call inside the caller's isolate). The host answers each call in a task of its own
 * (hostDone), so one I/O's continuation runs with its microtasks to the end before the next's.
 */
// Intrinsics only (captured before tenant code runs): a tenant that replaces Map.prototype.set,
// Promise or Object.prototype.e must not see, forge or hang other invocations' calls. Not a
// Map, nor an object keyed by id (id-slots.ts).
const waiting = new IdSlots<{ resolve(v: unknown): void; reject(e: unknown): void; sealed: boolean }>();
let nextCall = 1;
const NativePromise = Promise;
const isArray = Array.isArray;
const hasOwn = Object.hasOwn;
const defineProperty = Reflect.defineProperty;
const apply = Reflect.apply;
const setPrototypeOf = Object.setPrototypeOf;
const sliceIntrinsic = Array.prototype.slice;

/**
 * Runs before a call that leaves the isolate (a subrequest, a binding's call, the Cache API…;
 * not crypto, timers or body reads). In a Durable Object's isolate it commits the object's
 * staged writes (durable.ts sets it): the host's output gate then holds the call until they are
 * confirmed, and a commit that fails rejects the call, nothing sent, having cleared what the
 * storage cache learnt from those writes.
 */
let beforeLeaving: (() => void) | null = null;
export function onBeforeLeaving(f: () => void): void {
  beforeLeaving = f;
}

/** Call an async host syscall; arguments and result are copied across. The host answers
 * `{ v }` or `{ e }`; errors are rethrown here as their type when it is named. */
export function callHost(which: number, args: unknown[], sealed = false): Promise<any> {
  const id = nextCall++;
  return new NativePromise((resolve, reject) => {
    // A value the host cannot take apart would be dropped on the way, unanswered (depth.ts).
    checkDepth(args, 'A value passed to this call');
    // A call that leaves the isolate: a Durable Object's staged writes commit first.
    if (beforeLeaving !== null && (which === FETCH || (which === ASYNC && args[0] !== 'subtle')))
      beforeLeaving();
    if (needsCopy(args)) {
      // An object tenant code could change before the list leaves: sent now, alone, its
      // arguments copied by the crossing itself (after the calls waiting, to keep their order).
      // Arguments that cannot be copied throw here: nothing is sent.
      beforeCrossing();
      waiting.set(id, { resolve, reject, sealed });
      try {
        host.post([id, currentId(), which, args, currentSpan()]);
      } catch (err) {
        waiting.delete(id);
        throw err;
      }
      return;
    }
    waiting.set(id, { resolve, reject, sealed });
    const at = outgoing.length;
    outgoing[at] = id;
    outgoing[at + 1] = currentId();
    outgoing[at + 2] = which;
    outgoing[at + 3] = args;
    outgoing[at + 4] = currentSpan();
    if (!postQueued) {
      postQueued = true;
      thenIntrinsic(resolvedIntrinsic(), sendPosted);
    }
  });
}

/**
 * Host calls made close together leave together (a crossing per call was a thread switch per
 * call on one core): flat [id, invocation, which, args, span, ...], sent by a microtask queued
 * with the first of them, so the calls made by the microtasks before it go too. Only calls
 * whose arguments are primitives (or an unshared list of them) wait here; any other crosses at
 * once (callHost). Anything else that crosses to the host first sends what is waiting here
 * (`sendPosted` below), so the host sees the isolate's calls in the order it made them: a body
 * read before its cancel, a timer before its clear, a call before the span it was made in
 * ends, before the outcome of the request that made it.
 */
let outgoing: unknown[] = setPrototypeOf([], null);
let postQueued = false;

/**
 * Lists the prelude made for one host call, which no tenant code can reach (`unsharedPrimitives`).
 * A WeakSet, not a private field stamped on the list (a base class's constructor returning it):
 * stamping gave each list a new map, and V8 recompiled the functions that saw them without end
 * (~90 TurboFan compiles of the stamp's class in 5 s of Durable Object fetches, a third of
 * their requests/s; `--trace-opt`).
 */
const unsharedValues = new WeakSet<object>();
const weakSetAdd = WeakSet.prototype.add;
const weakSetHas = WeakSet.prototype.has;

/**
 * `list`, made by the prelude for one host call and never reachable by tenant code (an RPC
 * call's rest arguments), when it holds primitives alone: then it may wait in `outgoing` as it
 * is. Anything else (values made by methods tenant code may have replaced, or reached through
 * a promise it may hook) is not marked: its call leaves at once, copied by the crossing.
 */
export function unsharedPrimitives<T extends unknown[]>(list: T): T {
  for (let i = 0; i < list.length; i++) if (!primitive(list[i])) return list;
  apply(weakSetAdd, unsharedValues, [list]);
  return list;
}

function primitive(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint';
}

/**
 * Whether a call's arguments must be copied now, not when they leave: tenant code running
 * before then could change an object among them (a primitive, or an unshared list, cannot).
 */
function needsCopy(args: unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    if (primitive(v)) continue;
    if (typeof v === 'object' && apply(weakSetHas, unsharedValues, [v])) continue;
    return true;
  }
  return false;
}

/**
 * In a Durable Object's isolate, what must reach the host before anything else the isolate
 * sends from now on: the outcomes it holds (outbox.ts), so that the host sees an answer before
 * any commit made after it (a held answer would otherwise wait at the output gate for a later
 * event's writes, and be withheld if they failed). Null elsewhere.
 */
let heldFirst: (() => void) | null = null;
export function onBeforeCrossing(f: () => void): void {
  heldFirst = f;
}

/** Before a crossing of its own: what is held, then the calls waiting, leave first. */
function beforeCrossing(): void {
  if (heldFirst !== null) heldFirst();
  if (outgoing.length !== 0) sendPosted();
}

/** Calls one crossing carries at most (a task may make any number). */
const POST_BATCH = 4096;

/** Send the calls waiting to leave (see `outgoing`). */
export function sendPosted(): void {
  postQueued = false;
  if (outgoing.length === 0) return;
  if (heldFirst !== null) heldFirst();
  const all = outgoing;
  outgoing = setPrototypeOf([], null);
  for (let from = 0; from < all.length; from += POST_BATCH * 5) {
    const batch =
      from === 0 && all.length <= POST_BATCH * 5
        ? all
        : apply(sliceIntrinsic, all, [from, from + POST_BATCH * 5]);
    try {
      host.post(batch);
    } catch (err) {
      // Only primitives and unshared lists of them are in the list: the isolate is going away.
      // Fail those calls, never leave them waiting.
      for (let i = 0; i < batch.length; i += 5) {
        const w = waiting.get(batch[i] as number);
        if (!w) continue;
        waiting.delete(batch[i] as number);
        w.reject(err);
      }
    }
  }
}

/** The host's answers to posted calls: [[id, { v } | { e, n? }], ...] (one per task today). */
export function hostDone(list: unknown): void {
  tick(); // I/O completed: the clock moves on (clock.ts)
  if (!isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const w = waiting.get(item[0]);
    if (!w) continue;
    waiting.delete(item[0]);
    const r = item[1];
    if (r && typeof r === 'object' && hasOwn(r, 'e'))
      w.reject(typeof r.n === 'string' ? namedError(r.n, String(r.e)) : new Error(String(r.e)));
    // Resolving with an object reads its `then` (a getter tenant code put on Object.prototype
    // would be handed it), and a tenant that gets hold of the promise (a getter on
    // Promise.prototype.constructor, which `then` consults) can read what it resolves to: what
    // tenant code must not read (a key's material) comes sealed.
    else w.resolve(w.sealed ? seal(r?.v) : r?.v);
  }
}

/**
 * `[...head, ...args]` (`head` a literal the caller made) without the array iterator (tenant code may have replaced
 * %ArrayIteratorPrototype%.next, which a spread calls with the arguments in reach) or index
 * setters on Array.prototype (defined, not assigned). An array with no prototype would do too,
 * but measured ~20 KB more RSS per idle isolate (`npm run bench -- --only memory`, noisy).
 */
function listOf(head: unknown[], args: unknown[]): unknown[] {
  const list: unknown[] = head;
  const at = head.length;
  for (let i = 0; i < args.length; i++)
    defineProperty(list, at + i, {
      __proto__: null,
      value: args[i],
      writable: true,
      enumerable: true,
      configurable: true,
    } as PropertyDescriptor);
  return list;
}

/** An async syscall by name. */
export function callAsync(name: string, ...args: unknown[]): Promise<any> {
  return callHost(ASYNC, listOf([name], args));
}

/**
 * Sealed answers: a token with no prototype (resolving a promise with it reads no getter a
 * tenant put on Object.prototype) standing for a value kept in a module-private WeakMap, so a
 * tenant that reaches the promise (a getter on Promise.prototype.constructor, which `then`
 * consults) gets a token it cannot open.
 */
type Sealed = { readonly __sealed: never };
const sealedValues = new WeakMap<object, unknown>();
const weakMapGet = WeakMap.prototype.get;
const weakMapSet = WeakMap.prototype.set;
const freeze = Object.freeze;
function seal(v: unknown): Sealed {
  const token = freeze({ __proto__: null }) as unknown as Sealed;
  apply(weakMapSet, sealedValues, [token, v]);
  return token;
}

/** What a sealed answer holds. */
export function unseal(s: Sealed): any {
  return apply(weakMapGet, sealedValues, [s]);
}

/**
 * An async syscall whose answer tenant code must not see (crypto.subtle's key descriptors hold
 * non-extractable material): it resolves to a Sealed value, opened after the await.
 */
export function callAsyncSealed(name: string, ...args: unknown[]): Promise<Sealed> {
  return callHost(ASYNC, listOf([name], args), true);
}

type Op<T extends BindingKind, K extends keyof OpsOf<T>> = OpsOf<T>[K] extends (...args: infer A) => infer R
  ? { args: A; result: R }
  : never;

/**
 * A call of binding `name` (of type `kind`): its arguments and result as the binding protocol
 * declares them (src/runtime/bindings/protocol.ts), checked where the host answers.
 */
export function callBinding<T extends BindingKind, K extends keyof OpsOf<T> & string>(
  _kind: T,
  name: string,
  op: K,
  ...args: Op<T, K>['args']
): Promise<Op<T, K>['result']> {
  return callHost(ASYNC, listOf(['binding', name, op], args));
}

/** A synchronous syscall by name; the host's `Name: message` errors come back typed. */
export function callSync(name: string, ...args: unknown[]): any {
  return apply(host.sys, undefined, listOf([name], args));
}

/** `f`, whose throws become errors made in this isolate (fromHost). */
function guarded<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return apply(f, undefined, args);
    } catch (err) {
      throw fromHost(err);
    }
  };
}

/**
 * What a synchronous host call threw, as an error made here: typed by its `Name: message`
 * text. Never the thrown value itself: the host throws strings (bridge/syscalls.ts), but an
 * object thrown across the boundary carries isolated-vm's native `stack` accessor, which
 * crashes the whole process when read through another receiver (`Object.create(err).stack`),
 * and the host's stack.
 */
function fromHost(err: unknown): Error {
  let text: string;
  try {
    text = typeof err === 'string' ? err : String((err as Error)?.message ?? err);
  } catch {
    text = 'Error: the host call failed';
  }
  const m = /^(\w+): ([\s\S]*)$/.exec(text);
  return m ? namedError(m[1], m[2]) : new Error(text);
}

const ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError, Error };

/** Rebuild an error from its name: JS error classes, else a DOMException of that name. */
export function namedError(name: string, message: string): Error {
  const E = ERRORS[name];
  if (E) return new E(message);
  return new DOMExceptionRef.ctor(message, name);
}
