/**
 * esbuild's helpers for lowered async generators, `yield*` in them and `for await`, on
 * intrinsics. Lowering them (prelude.ts, ISOLATE_SUPPORTED) keeps the request context across
 * their awaits; esbuild's own copies, which extensions.ts replaces with these in every
 * extension (node:stream's async iteration, node:url), read `Promise`, `Promise.resolve`,
 * `then`, `catch`, `Function.prototype.call`/`apply` and the generator's methods as they run,
 * long after tenant code may have replaced them, and assign to fresh objects where a setter on
 * Object.prototype would see what they hold. Same contract as esbuild's (version pinned: the
 * build compares their shapes), written against it.
 */
import { asIntrinsic, rejectedIntrinsic } from './async.ts';
import { thenInFrame } from './context.ts';

const NativePromise = Promise;
const NativeTypeError = TypeError;
const applyIntrinsic = Reflect.apply;
const defineIntrinsic = Reflect.defineProperty;
const getPrototypeOfIntrinsic = Reflect.getPrototypeOf;
const asyncIteratorSymbol = Symbol.asyncIterator;
const iteratorSymbol = Symbol.iterator;
const generatorPrototype = Reflect.getPrototypeOf(function* () {}.prototype) as Generator;
/** The generator methods by the name esbuild's helper calls them with. */
const GENERATOR_METHODS: Record<string, (v?: unknown) => IteratorResult<unknown>> = {
  __proto__: null,
  next: generatorPrototype.next,
  throw: generatorPrototype.throw,
  return: generatorPrototype.return,
} as unknown as Record<string, (v?: unknown) => IteratorResult<unknown>>;
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** A method on an object handed to tenant code: defined (no setter runs), as an assignment makes it. */
function put(o: object, key: PropertyKey, value: unknown): void {
  defineIntrinsic(o, key, {
    __proto__: null,
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  } as PropertyDescriptor);
}

/**
 * esbuild's `__await`: what an async generator awaits (`[1]` set: from a `yield*`). Its
 * prototype has no prototype, so storing into one reaches no setter.
 */
export function Await(this: { 0: unknown; 1: unknown }, promise: unknown, fromYieldStar?: unknown): void {
  this[0] = promise;
  this[1] = fromYieldStar;
}
Reflect.setPrototypeOf(Await.prototype, null);
Object.freeze(Await.prototype);

function isAwait(v: unknown): v is { 0: unknown; 1: unknown } {
  return typeof v === 'object' && v !== null && getPrototypeOfIntrinsic(v) === Await.prototype;
}

/** esbuild's `__asyncGenerator`: the async iterator a lowered `async function*` returns. */
export function asyncGenerator(
  self: unknown,
  args: ArrayLike<unknown> | null,
  body: (...a: unknown[]) => Generator,
) {
  const gen = applyIntrinsic(body, self, args ?? NO_ARGS) as Generator;
  const resume = (k: string, v: unknown, yes: (r: unknown) => void, no: (e: unknown) => void): void => {
    try {
      const x = applyIntrinsic(GENERATOR_METHODS[k], gen, [v]);
      const value = x.value;
      const awaiting = isAwait(value);
      const done = x.done;
      // `.then(step).catch(fail)`, as esbuild's: what the step throws (a getter of the
      // delegate's result) is thrown into the generator too, and in the same ticks.
      thenInFrame(
        thenInFrame(asIntrinsic(awaiting ? value[0] : value), (y: any) =>
          awaiting
            ? resume(k === 'return' ? k : 'next', value[1] ? { done: y.done, value: y.value } : y, yes, no)
            : yes({ value: y, done }),
        ),
        undefined,
        (e: unknown) => resume('throw', e, yes, no),
      );
    } catch (e) {
      no(e);
    }
  };
  const it = {};
  const method = (k: string) =>
    put(it, k, (x: unknown) => new NativePromise((yes, no) => resume(k, x, yes, no)));
  put(it, asyncIteratorSymbol, () => it);
  method('next');
  method('throw');
  method('return');
  return it;
}

/**
 * What the delegate's `k(v)` gives, as a promise the prelude made: not resolved with it (V8
 * would read its `then`, which tenant code may have replaced) but chained, or adopted in the
 * current frame when it is not a promise of the intrinsic Promise.
 */
function delegated(obj: any, k: string, v: unknown): Promise<unknown> {
  try {
    const x = obj[k](v);
    if (typeof x !== 'function' && (typeof x !== 'object' || x === null))
      return rejectedIntrinsic(new NativeTypeError('Object expected'));
    return asIntrinsic(x);
  } catch (e) {
    return rejectedIntrinsic(e);
  }
}

/** esbuild's `__yieldStar`: `yield*` of an (async) iterable inside a lowered async generator. */
export function yieldStar(value: any) {
  let obj = value[asyncIteratorSymbol];
  let awaiting = false;
  let method: (k: string) => void;
  const it = {};
  if (obj == null) {
    obj = value[iteratorSymbol]();
    method = (k) => put(it, k, (x: unknown) => obj[k](x));
  } else {
    obj = applyIntrinsic(obj, value, NO_ARGS);
    method = (k) =>
      put(it, k, (v: unknown) => {
        if (awaiting) {
          awaiting = false;
          if (k === 'throw') throw v;
          return v;
        }
        awaiting = true;
        return { done: false, value: new (Await as any)(delegated(obj, k, v), 1) };
      });
  }
  put(it, iteratorSymbol, () => it);
  method('next');
  if ('throw' in obj) method('throw');
  else
    put(it, 'throw', (x: unknown) => {
      throw x;
    });
  if ('return' in obj) method('return');
  return it;
}

/** esbuild's `__forAwait`: the async iterator a lowered `for await` walks. */
export function forAwait(obj: any) {
  const asyncMethod = obj[asyncIteratorSymbol];
  if (asyncMethod) return applyIntrinsic(asyncMethod, obj, NO_ARGS);
  const iterator = obj[iteratorSymbol]();
  const it = {};
  const method = (key: string) => {
    const fn = iterator[key];
    if (fn)
      put(
        it,
        key,
        (arg: unknown) =>
          new NativePromise((yes, no) => {
            const r = applyIntrinsic(fn, iterator, [arg]) as IteratorResult<unknown>;
            const done = r.done;
            thenInFrame(asIntrinsic(r.value), (value) => yes({ value, done }), no);
          }),
      );
  };
  method('next');
  method('return');
  return it;
}
