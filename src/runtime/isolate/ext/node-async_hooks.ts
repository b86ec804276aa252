/**
 * node:async_hooks' AsyncLocalStorage (nodejs_compat), without engine support.
 *
 * V8 gives an embedder no promise hooks through isolated-vm, so the context travels with the
 * callbacks instead: while this module is loaded, Promise.prototype.then, queueMicrotask and the
 * timers capture the current context when a callback is registered and restore it when the
 * callback runs. `await` on a native promise does not call `then`, so Outpost bundles a worker
 * that imports node:async_hooks with async functions lowered to generators (esbuild does this;
 * see src/runtime/bundle.ts), whose awaits go through `then`.
 *
 * Gap (docs/runtime.md): an `await` inside a dependency that was not bundled with the worker
 * (none exist today) or inside the runtime's own prelude does not propagate — the worker's
 * continuation after it does, which is what stores are read from.
 */
type Frame = Map<AsyncLocalStorage<unknown>, unknown> | undefined;

let current: Frame;

function bind<F extends (...args: any[]) => any>(fn: F, frame: Frame): F {
  if (typeof fn !== 'function' || frame === undefined) return fn;
  return function (this: unknown, ...args: any[]) {
    const prev = current;
    current = frame;
    try {
      return fn.apply(this, args);
    } finally {
      current = prev;
    }
  } as F;
}

let installed = false;
function install() {
  if (installed) return;
  installed = true;
  const g = globalThis as any;
  const then = Promise.prototype.then;
  Object.defineProperty(Promise.prototype, 'then', {
    value: function (this: Promise<unknown>, onFulfilled?: any, onRejected?: any) {
      const frame = current;
      return then.call(this, bind(onFulfilled, frame), bind(onRejected, frame));
    },
    writable: true,
    configurable: true,
  });
  for (const name of ['setTimeout', 'setInterval', 'queueMicrotask']) {
    const original = g[name];
    Object.defineProperty(g, name, {
      value: (fn: any, ...rest: any[]) => original(bind(fn, current), ...rest),
      writable: true,
      configurable: true,
    });
  }
}

export class AsyncLocalStorage<T> {
  #enabled = true;
  constructor() {
    install();
  }
  static bind<F extends (...args: any[]) => any>(fn: F): F {
    return bind(fn, current);
  }
  static snapshot() {
    const frame = current;
    return (fn: (...args: any[]) => any, ...args: any[]) => bind(fn, frame)(...args);
  }
  getStore(): T | undefined {
    return this.#enabled ? (current?.get(this) as T | undefined) : undefined;
  }
  run<R>(store: T, fn: (...args: any[]) => R, ...args: any[]): R {
    this.#enabled = true;
    const frame = new Map(current ?? []);
    frame.set(this, store);
    return bind(fn, frame)(...args);
  }
  exit<R>(fn: (...args: any[]) => R, ...args: any[]): R {
    const frame = new Map(current ?? []);
    frame.delete(this);
    return bind(fn, frame.size ? frame : undefined)(...args);
  }
  enterWith(store: T): void {
    const frame = new Map(current ?? []);
    frame.set(this, store);
    current = frame;
  }
  disable(): void {
    this.#enabled = false;
  }
}

export class AsyncResource {
  #frame: Frame = current;
  constructor(readonly type: string) {}
  runInAsyncScope<R>(fn: (...args: any[]) => R, thisArg?: unknown, ...args: any[]): R {
    return bind(fn, this.#frame).apply(thisArg, args);
  }
  bind<F extends (...args: any[]) => any>(fn: F): F {
    return bind(fn, this.#frame);
  }
  static bind<F extends (...args: any[]) => any>(fn: F): F {
    return bind(fn, current);
  }
}

export default { AsyncLocalStorage, AsyncResource };
