/**
 * node:util (nodejs_compat): the commonly used part. Deliberately not here: util.inspect's
 * options (it formats like console.log), MIMEType, parseArgs, styleText.
 */
const kCustom = Symbol.for('nodejs.util.promisify.custom');

export function promisify(fn: any): any {
  if (typeof fn !== 'function') throw new TypeError('The "original" argument must be of type function');
  if (fn[kCustom]) return fn[kCustom];
  return function (this: unknown, ...args: unknown[]) {
    return new Promise((resolve, reject) => {
      fn.call(this, ...args, (err: unknown, value: unknown) => (err ? reject(err) : resolve(value)));
    });
  };
}
promisify.custom = kCustom;

export function callbackify(fn: (...a: any[]) => Promise<unknown>) {
  return function (this: unknown, ...args: any[]) {
    const cb = args.pop();
    fn.apply(this, args).then(
      (v) => queueMicrotask(() => cb(null, v)),
      (e) => queueMicrotask(() => cb(e ?? new Error('Promise was rejected with a falsy value'))),
    );
  };
}

export function inherits(ctor: any, superCtor: any) {
  Object.defineProperty(ctor, 'super_', { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

export function format(...args: unknown[]): string {
  return outpost.format(args);
}
export const inspect = Object.assign((v: unknown) => outpost.format([v]), {
  custom: Symbol.for('nodejs.util.inspect.custom'),
});

export function deprecate<F extends (...a: any[]) => any>(fn: F, message: string): F {
  let warned = false;
  return function (this: unknown, ...args: any[]) {
    if (!warned) {
      warned = true;
      console.warn(`DeprecationWarning: ${message}`);
    }
    return fn.apply(this, args);
  } as F;
}

export function debuglog() {
  return Object.assign(() => {}, { enabled: false });
}

export function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(
      (b as ArrayBufferView).buffer,
      (b as ArrayBufferView).byteOffset,
      (b as ArrayBufferView).byteLength,
    );
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map || a instanceof Set) {
    if (a.size !== (b as Map<unknown, unknown>).size) return false;
    for (const [k, v] of a.entries()) {
      if (!(b as Map<unknown, unknown>).has(k) || !isDeepStrictEqual(v, (b as Map<unknown, unknown>).get(k)))
        return false;
    }
    return true;
  }
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && isDeepStrictEqual((a as any)[k], (b as any)[k]));
}

const tag = (v: unknown) => Object.prototype.toString.call(v).slice(8, -1);
export const types = {
  isPromise: (v: unknown) => v instanceof Promise,
  isDate: (v: unknown) => v instanceof Date,
  isRegExp: (v: unknown) => v instanceof RegExp,
  isMap: (v: unknown) => v instanceof Map,
  isSet: (v: unknown) => v instanceof Set,
  isArrayBuffer: (v: unknown) => v instanceof ArrayBuffer,
  isAnyArrayBuffer: (v: unknown) => v instanceof ArrayBuffer || v instanceof SharedArrayBuffer,
  isArrayBufferView: (v: unknown) => ArrayBuffer.isView(v),
  isTypedArray: (v: unknown) => ArrayBuffer.isView(v) && !(v instanceof DataView),
  isUint8Array: (v: unknown) => v instanceof Uint8Array,
  isAsyncFunction: (v: unknown) => tag(v) === 'AsyncFunction',
  isGeneratorFunction: (v: unknown) => tag(v) === 'GeneratorFunction' || tag(v) === 'AsyncGeneratorFunction',
  isNativeError: (v: unknown) => v instanceof Error,
  isBoxedPrimitive: (v: unknown) =>
    v instanceof Number ||
    v instanceof String ||
    v instanceof Boolean ||
    v instanceof BigInt ||
    v instanceof Symbol,
};

export const TextEncoder = (globalThis as any).TextEncoder;
export const TextDecoder = (globalThis as any).TextDecoder;

export default {
  promisify,
  callbackify,
  inherits,
  format,
  inspect,
  deprecate,
  debuglog,
  isDeepStrictEqual,
  types,
  TextEncoder,
  TextDecoder,
};
