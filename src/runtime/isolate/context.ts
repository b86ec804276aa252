/**
 * The request context inside the isolate: which invocation (a request, an RPC call, an object's
 * event) the code running now works for. Many invocations overlap in one isolate; everything one
 * causes — its subrequests and their limit, Server-Timing hops, console lines, waitUntil — must
 * land on it, not on whichever arrived last. Workers keeps an I/O context per request for this.
 *
 * V8 gives an embedder no promise hooks through isolated-vm, so the context travels with the
 * callbacks (as zone.js does): `Promise.prototype.then` captures the frame current when a
 * callback is registered and restores it while the callback runs; timers, queueMicrotask, stream
 * callbacks and event listeners are all built on `then` or re-entered explicitly (WebSocket
 * events, response body pulls). A native `await` does not call `then`, so the prelude and its
 * extensions are compiled with async functions lowered to generators (esbuild's
 * `supported: { 'async-await': false }`), whose awaits go through `then`; a tenant bundle keeps
 * its async functions native, each rewritten to carry its frame across its awaits
 * (src/runtime/bundle-awaits.ts, await-frames.ts).
 *
 * Tenant code may replace `Promise.prototype.then` and everything else a promise's plumbing
 * reads. The prelude's own awaits and thens therefore never read them: they go through
 * thenInFrame / resolveInFrame below, which reach the intrinsics captured
 * when this module loaded (before any tenant code) with `Reflect.apply`, not `.call`; the
 * prelude's and its extensions' lowered async functions run on async.ts's helper, built on them.
 *
 * Every crossing into the host carries the current frame's invocation id (bridge.ts); the host
 * charges the call to that invocation and refuses I/O for one that has ended. node:async_hooks'
 * AsyncLocalStorage keeps its stores in the same frames (ext/node-async_hooks.ts).
 *
 * Which invocation runs now is also written where the host's CPU watchdog reads it (a
 * SharedArrayBuffer: cpu-meter.ts): an interval in which only one invocation ran is charged to
 * it alone, so a loop that spins while other invocations wait meets its own CPU limit.
 *
 * Cost: one closure per callback passed to `then` while a frame is current (none outside one);
 * two stores to shared memory when the invocation changes.
 */

import { isTenantProxy } from './array-guard.ts';

/** One invocation's context; frames are immutable (AsyncLocalStorage.run derives a new one). */
export interface Frame {
  /** The invocation id the host gave the entry call (0: none, e.g. module top level). */
  readonly id: number;
  /** AsyncLocalStorage stores (node:async_hooks), or null. */
  readonly stores: ReadonlyMap<unknown, unknown> | null;
  /**
   * The host's id of the recorded custom span active here (tracing.ts), which every posted
   * host call carries so that what it records nests under it (bridge.ts); 0: none. Kept here,
   * not read from the stores: a crossing reads nothing tenant code can replace.
   */
  readonly span: number;
  /**
   * The Durable Object storage transaction the code here runs inside (durable.ts): its
   * `ctx.storage` calls are made in it; 0: none.
   */
  readonly txn: number;
}

let current: Frame | undefined;

/**
 * Shared with the host (set once by the prelude's init; tenant code never sees them): the
 * invocation id running now (0: none; a float, as ids pass 2 ** 31 in a long-lived process),
 * and a count of changes of the id, 0 included: time in no invocation between two stretches of
 * one may be another's work (a response serialized after its handler's native await).
 */
let runningId: Float64Array | null = null;
let switches: Int32Array | null = null;
let lastId = 0;

/** Share with the host's watchdog which invocation runs (see the top): 16 bytes, id then count. */
export function shareRunning(buffer: SharedArrayBuffer): void {
  runningId = new Float64Array(buffer, 0, 1);
  switches = new Int32Array(buffer, 8, 1);
}

/** Make `frame` current: every assignment of `current` goes through here. */
function use(frame: Frame | undefined): void {
  current = frame;
  if (runningId === null || switches === null) return;
  const id = frame === undefined ? 0 : frame.id;
  if (id !== lastId) {
    lastId = id;
    runningId[0] = id;
    switches[0] = (switches[0] + 1) | 0;
  }
}

/** The frame code runs in now (undefined outside any invocation). */
export function currentFrame(): Frame | undefined {
  return current;
}

/** The invocation id every host crossing carries. */
export function currentId(): number {
  return current === undefined ? 0 : current.id;
}

/** The custom span every posted host call carries (Frame.span). */
export function currentSpan(): number {
  return current === undefined ? 0 : current.span;
}

export function frameFor(id: number): Frame {
  return { id, stores: null, span: 0, txn: 0 };
}

/** A frame like `base` with other AsyncLocalStorage stores (and, given, another active custom span). */
export function withStores(
  base: Frame | undefined,
  stores: ReadonlyMap<unknown, unknown> | null,
  span: number = base === undefined ? 0 : base.span,
): Frame {
  return { id: base === undefined ? 0 : base.id, stores, span, txn: base === undefined ? 0 : base.txn };
}

/** A frame like `base` inside storage transaction `txn`. */
export function withTxn(base: Frame | undefined, txn: number): Frame {
  return base === undefined ? { id: 0, stores: null, span: 0, txn } : { ...base, txn };
}

/** Run `fn` in `frame`, restoring the previous frame after (also when it throws). */
export function enter<T>(frame: Frame | undefined, fn: () => T): T {
  const prev = current;
  use(frame);
  try {
    return fn();
  } finally {
    use(prev);
  }
}

/** Switch to `frame` until the callback running now returns (AsyncLocalStorage.enterWith). */
export function replace(frame: Frame | undefined): void {
  use(frame);
}

/** `fn` bound to `frame` (default: the current one): it runs in that frame whenever called. */
export function bind<F extends (...args: any[]) => any>(fn: F, frame: Frame | undefined = current): F {
  if (typeof fn !== 'function' || frame === undefined) return fn;
  return function (this: unknown, ...args: any[]) {
    const prev = current;
    use(frame);
    try {
      return applyIntrinsic(fn, this, args);
    } finally {
      use(prev);
    }
  } as F;
}

/** A promise reaction bound to `frame`: called with one argument and no receiver (cheaper than bind). */
function reaction(fn: (value: unknown) => unknown, frame: Frame): (value: unknown) => unknown {
  return (value) => {
    const prev = current;
    use(frame);
    try {
      // A thenable returned here would have its `then` called by V8 from a job in no frame.
      return adopt(fn(value), frame);
    } finally {
      use(prev);
    }
  };
}

// Captured when the prelude loads, before any tenant code: what tenant code can replace later
// (`Promise.prototype.then`, `Function.prototype.call`, `Symbol.hasInstance` on `Promise`) is
// never read again on the prelude's own paths.
const NativePromise = Promise;
const PromisePrototype = Promise.prototype;
const nativeResolve = Promise.resolve;
const nativeThen = Promise.prototype.then;
const applyIntrinsic = Reflect.apply;
const getPrototypeOfIntrinsic = Reflect.getPrototypeOf;

/**
 * A thenable that is not a native promise (a query builder whose `then` does the I/O) is
 * resolved by V8 calling its `then` from a job that runs in no frame. Adopted here instead: its
 * `then` (read now, as the spec reads it) is called from a microtask that runs in `frame`.
 */
function adopt(value: unknown, frame: Frame): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (isIntrinsicPromise(value)) return value;
  let then: unknown;
  try {
    then = (value as { then?: unknown }).then;
  } catch (err) {
    return applyIntrinsic(nativeThen, resolvedIntrinsic(), [
      () => {
        throw err;
      },
    ]);
  }
  if (typeof then !== 'function') return value;
  return new NativePromise((resolve, reject) => {
    applyIntrinsic(nativeThen, resolvedIntrinsic(), [
      () => {
        const prev = current;
        use(frame);
        try {
          applyIntrinsic(then, value, [resolve, reject]);
        } catch (err) {
          reject(err);
        } finally {
          use(prev);
        }
      },
    ]);
  });
}

/**
 * `p.then(onFulfilled, onRejected)` with the intrinsic `then`, and a resolved promise from the
 * intrinsic `Promise.resolve`: for the prelude's own plumbing (entry calls, outcome reports),
 * which must not run through anything tenant code can replace.
 */
export function thenIntrinsic<T>(
  p: Promise<T>,
  onFulfilled?: (value: T) => unknown,
  onRejected?: (reason: unknown) => unknown,
): Promise<unknown> {
  return applyIntrinsic(nativeThen, p, [onFulfilled, onRejected]) as Promise<unknown>;
}
/**
 * Whether `v` is a promise of the intrinsic Promise (not a subclass or a thenable). Not
 * `instanceof`: that reads `Promise[Symbol.hasInstance]`, which tenant code can define. A proxy
 * (the array guard's record of the proxies tenant code made: their traps do not run here) is
 * not one, and is resolved like any thenable.
 */
export function isIntrinsicPromise(v: unknown): v is Promise<unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !isTenantProxy(v) &&
    getPrototypeOfIntrinsic(v) === PromisePrototype
  );
}
export function resolvedIntrinsic<T>(value?: T): Promise<T> {
  return applyIntrinsic(nativeResolve, NativePromise, [value]) as Promise<T>;
}

/**
 * `p.then(onFulfilled, onRejected)` as the patched `then` does it (each callback runs in the
 * frame current now), through intrinsics only: the prelude's own `then`s call this, since
 * tenant code may have replaced `Promise.prototype.then` (it receives their callbacks).
 */
export function thenInFrame<T>(
  p: Promise<T>,
  onFulfilled?: ((value: T) => unknown) | null,
  onRejected?: ((reason: any) => unknown) | null,
): Promise<any> {
  const frame = current;
  if (frame === undefined)
    return applyIntrinsic(nativeThen, p, [onFulfilled, onRejected]) as Promise<unknown>;
  return applyIntrinsic(nativeThen, p, [
    typeof onFulfilled === 'function' ? reaction(onFulfilled as (v: unknown) => unknown, frame) : onFulfilled,
    typeof onRejected === 'function' ? reaction(onRejected, frame) : onRejected,
  ]) as Promise<unknown>;
}

/** `Promise.resolve(p).catch(onRejected)` through intrinsics (as thenInFrame): `p` may be any value. */
export function catchInFrame(p: unknown, onRejected: (reason: any) => unknown): Promise<unknown> {
  return thenInFrame(isIntrinsicPromise(p) ? p : resolveInFrame(p), undefined, onRejected);
}

/**
 * `value` as an `await` or a `return` in a native async function should see it
 * (await-frames.ts): a thenable that is not a native promise becomes a native promise whose
 * adoption calls its `then` in the current frame; anything else is returned as is.
 */
export function adoptInFrame(value: unknown): unknown {
  return current === undefined ? value : adopt(value, current);
}

/** `Promise.resolve(value)` as the patched one does it (a thenable's `then` called in this frame), through intrinsics. */
export function resolveInFrame<T>(value?: T): Promise<Awaited<T>> {
  const frame = current;
  return applyIntrinsic(nativeResolve, NativePromise, [
    frame === undefined ? value : adopt(value, frame),
  ]) as Promise<Awaited<T>>;
}

let installed = false;

/**
 * Make `then` (and `Promise.resolve`) carry the frame, for tenant code. Installed once by the
 * prelude, before any tenant code runs. The originals were captured when this module loaded, and
 * the prelude calls thenInFrame and resolveInFrame directly, so a tenant that replaces
 * `Promise.prototype.then` only loses propagation for its own callbacks (the host then refuses
 * I/O it cannot attribute) and is handed none of the prelude's.
 */
export function installContextPropagation(): void {
  if (installed) return;
  installed = true;
  // A method, so it is named `then` and is not a constructor, like the original.
  const patched = {
    // biome-ignore lint/suspicious/noThenProperty: this is Promise.prototype.then itself, replaced
    then(this: Promise<unknown>, onFulfilled?: any, onRejected?: any) {
      return thenInFrame(this, onFulfilled, onRejected);
    },
  }.then;
  Object.defineProperty(Promise.prototype, 'then', {
    value: patched,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  // Promise.resolve(thenable): what a lowered `await`, Promise.all/race/any/allSettled and
  // adopted returns go through.
  const resolveMethod = {
    resolve(this: PromiseConstructor, value?: unknown) {
      if (this !== NativePromise) return applyIntrinsic(nativeResolve, this, [value]);
      return resolveInFrame(value);
    },
  }.resolve;
  Object.defineProperty(Promise, 'resolve', {
    value: resolveMethod,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
