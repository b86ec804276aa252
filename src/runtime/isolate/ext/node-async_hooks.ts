/**
 * node:async_hooks' AsyncLocalStorage (nodejs_compat), without engine support.
 *
 * The stores live in the prelude's request-context frames (src/runtime/isolate/context.ts),
 * which already travel with every promise callback, timer and event listener of the invocation,
 * and across every await of a worker's bundle (src/runtime/bundle-awaits.ts rewrites them). `run(store, fn)` derives a frame holding one more store; the invocation id stays, so
 * the host still charges the work to the right request.
 */
type Frame = ContextFrame | undefined;

const ctx = outpost.context;

function storesWith(key: unknown, value: unknown, remove: boolean): Map<unknown, unknown> | null {
  const stores = new Map(ctx.currentFrame()?.stores ?? []);
  if (remove) stores.delete(key);
  else stores.set(key, value);
  return stores.size > 0 ? stores : null;
}

export class AsyncLocalStorage<T> {
  #enabled = true;
  static bind<F extends (...args: any[]) => any>(fn: F): F {
    return ctx.bind(fn, ctx.currentFrame());
  }
  static snapshot() {
    const frame = ctx.currentFrame();
    return (fn: (...args: any[]) => any, ...args: any[]) => ctx.enter(frame, () => fn(...args));
  }
  getStore(): T | undefined {
    return this.#enabled ? (ctx.currentFrame()?.stores?.get(this) as T | undefined) : undefined;
  }
  run<R>(store: T, fn: (...args: any[]) => R, ...args: any[]): R {
    this.#enabled = true;
    const frame = ctx.withStores(ctx.currentFrame(), storesWith(this, store, false));
    return ctx.enter(frame, () => fn(...args));
  }
  exit<R>(fn: (...args: any[]) => R, ...args: any[]): R {
    const frame = ctx.withStores(ctx.currentFrame(), storesWith(this, undefined, true));
    return ctx.enter(frame, () => fn(...args));
  }
  enterWith(store: T): void {
    ctx.replace(ctx.withStores(ctx.currentFrame(), storesWith(this, store, false)));
  }
  disable(): void {
    this.#enabled = false;
  }
}

export class AsyncResource {
  #frame: Frame = ctx.currentFrame();
  constructor(readonly type: string) {}
  runInAsyncScope<R>(fn: (...args: any[]) => R, thisArg?: unknown, ...args: any[]): R {
    return ctx.enter(this.#frame, () => fn.apply(thisArg, args));
  }
  bind<F extends (...args: any[]) => any>(fn: F): F {
    return ctx.bind(fn, this.#frame);
  }
  static bind<F extends (...args: any[]) => any>(fn: F): F {
    return ctx.bind(fn, ctx.currentFrame());
  }
}

export default { AsyncLocalStorage, AsyncResource };
