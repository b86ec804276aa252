/**
 * The helper the prelude's and its extensions' async functions run on. They are lowered to
 * generators so that their awaits carry the request context (context.ts says why); esbuild's
 * own helper (`__async`) reads `Promise`, `Promise.resolve`, `.then`, the generator's `next`
 * and `throw`, and `Function.prototype.apply` from globals each time it runs. An extension is
 * evaluated after tenant code, and every prelude async function runs while tenant code may
 * have replaced any of those: a replaced `then` would receive the helper's step callbacks and
 * could resume prelude code with values of its choosing. This helper uses only what it captured
 * when the prelude loaded, before any tenant code (DESIGN: the prelude trusts no mutable global).
 *
 * The prelude's bundle imports it instead of esbuild's helper (prelude.ts, lowerAsync); the
 * extensions' minified copies are replaced by it when they are built (extensions.ts).
 *
 * Its closures' names are unique in the prelude: one esbuild had to rename would be named on
 * every call by a keepNames `__name` (a property define per closure; perf: ~6 µs of a request
 * that awaits one KV read). src/runtime/prelude.test.ts checks the built helper has none.
 */
import { isIntrinsicPromise, resolveInFrame, thenInFrame, thenIntrinsic } from './context.ts';

const NativePromise = Promise;
const applyIntrinsic = Reflect.apply;
/** %GeneratorPrototype%: `next` and `throw` of every generator. */
const generatorPrototype = Reflect.getPrototypeOf(function* () {}.prototype) as Generator;
const generatorNext = generatorPrototype.next;
const generatorThrow = generatorPrototype.throw;
/** Arguments for a body that reads none (esbuild passes null): empty, so nothing to tamper with. */
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/**
 * Run `body` (a generator function lowered from an async function's body, called on `self` with
 * `args`) to completion: each `yield` is an `await`. Same contract as esbuild's helper, but for
 * one tick: a body that returns an intrinsic promise settles one microtask sooner (chained, not
 * resolved with it).
 */
export function __async<T>(
  self: unknown,
  args: ArrayLike<unknown> | null,
  body: (...a: unknown[]) => Generator<unknown, T, unknown>,
): Promise<T> {
  return new NativePromise<T>((resolve, reject) => {
    let gen: Generator<unknown, T, unknown>;
    const step = (result: IteratorResult<unknown, T>) => {
      const value = result.value;
      // `await value`: an intrinsic promise chained (resolving it again would read its `then`),
      // anything else adopted in this frame, as Promise.resolve would.
      if (!result.done) return void thenAnyInFrame(value, resumeNext, resumeThrow);
      // Resolving with an intrinsic promise would read its `then` (tenant code may have
      // replaced it): chain it with the intrinsic one instead.
      if (isIntrinsicPromise(value)) thenIntrinsic(value as Promise<T>, resolve, reject);
      else resolve(value as T);
    };
    const resumeNext = (value: unknown) => {
      try {
        step(applyIntrinsic(generatorNext, gen, [value]));
      } catch (err) {
        reject(err);
      }
    };
    const resumeThrow = (reason: unknown) => {
      try {
        step(applyIntrinsic(generatorThrow, gen, [reason]));
      } catch (err) {
        reject(err);
      }
    };
    gen = applyIntrinsic(body, self, args ?? NO_ARGS);
    step(applyIntrinsic(generatorNext, gen, NO_ARGS));
  });
}

const nativeReject = Promise.reject;

/** `Promise.reject(reason)` without reading `Promise.reject` (tenant code may have replaced it). */
export function rejectedIntrinsic(reason: unknown): Promise<never> {
  return applyIntrinsic(nativeReject, NativePromise, [reason]) as Promise<never>;
}

/**
 * `Promise.resolve(value).then(onFulfilled, onRejected)` through intrinsics, each callback in
 * the current frame: for the extensions (`outpost.promises.thenOf`), whose promises may come from
 * anywhere.
 */
export function thenAnyInFrame(
  value: unknown,
  onFulfilled?: ((v: any) => unknown) | null,
  onRejected?: ((e: any) => unknown) | null,
): Promise<unknown> {
  return thenInFrame(asIntrinsic(value), onFulfilled, onRejected);
}

/** Each value as an intrinsic promise (a thenable adopted in the current frame). */
export function asIntrinsic(value: unknown): Promise<unknown> {
  return isIntrinsicPromise(value) ? value : resolveInFrame(value);
}

/**
 * `Promise.race(values)` for the prelude: the intrinsic one reads `Promise.resolve` and each
 * promise's `then` while it runs, and iterates with the array iterator, all replaceable by
 * tenant code. `values` is the prelude's own array, read by index.
 */
export function raceInFrame<T>(values: readonly unknown[]): Promise<T> {
  return new NativePromise<T>((resolve, reject) => {
    for (let i = 0; i < values.length; i++)
      thenInFrame(asIntrinsic(values[i]), resolve as (v: unknown) => void, reject);
  });
}

/** `Promise.allSettled(values.slice(from, to))` for the prelude, when only the settling matters (as raceInFrame). */
export function allSettledInFrame(values: readonly unknown[], from = 0, to = values.length): Promise<void> {
  return new NativePromise<void>((resolve) => {
    let left = to - from;
    if (left <= 0) return resolve();
    const one = () => {
      if (--left === 0) resolve();
    };
    for (let i = from; i < to; i++) thenInFrame(asIntrinsic(values[i]), one, one);
  });
}
