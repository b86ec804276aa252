/**
 * Array methods the CPU limit can always stop (see array-generic.ts for why V8's cannot be).
 *
 * Each method V8 runs as an uninterruptible loop over `length` is replaced by a function of the
 * same name and length that picks, per call:
 *  - V8's builtin, when the cost of its loop is bounded: the receiver is an ordinary array (not a
 *    Proxy), whose prototype chain is Array.prototype → Object.prototype → null as the platform
 *    made it, with at most DIRECT_MAX elements, or a plain object with Object.prototype as its
 *    prototype and its own `length` a number no larger (`arguments`, `{ length: 3 }`). That
 *    `length` is a data property, so reading it here and again in the builtin shows nothing to
 *    tenant code. Nearly every call a worker makes takes this path.
 *  - the specification's algorithm in JavaScript (array-generic.ts) for anything else: other
 *    array-likes (strings, typed arrays, class instances), Proxies, longer ones, arrays whose
 *    prototype chain was changed (a long chain makes each lookup slow), and `flat`/`flatMap`
 *    always (they walk nested arrays the length of the outer one does not bound).
 *
 * Every builtin reads `length` once, first, except concat() (each argument's, after looking up
 * its Symbol.isConcatSpreadable, which a getter could answer after lengthening it) and
 * Array.from() (after Symbol.iterator): those two have tests of their own.
 *
 * Proxies cannot be told from their targets by JavaScript, so the prelude replaces `Proxy` before
 * any tenant code runs with a stand-in that records each proxy it makes in a WeakSet; the
 * stand-in is itself a proxy of the real constructor, so `new Proxy`, `Proxy.revocable`, its
 * name, length, missing `prototype` and errors are V8's own.
 *
 * Known difference: `Function.prototype.toString` of these methods shows their source rather
 * than `[native code]`.
 */
import * as generic from './array-generic.ts';

const { apply, construct, defineProperty, get: reflectGet, getOwnPropertyDescriptor } = Reflect;
const { ArrayPrototype, ObjectPrototype, getPrototypeOf, isArray } = generic.intrinsics;
const RealProxy = Proxy;
const realRevocable = Proxy.revocable;
const objectKeys = Object.keys;
const iteratorSymbol = Symbol.iterator;
const hasOwn = Object.hasOwn;
const ArrayCtor = Array;

/**
 * A data property's value, or undefined for an accessor. Asked of the descriptor's own keys:
 * `'value' in d` would find a `value` a tenant put on Object.prototype.
 */
function dataValue(d: PropertyDescriptor | undefined): unknown {
  return d !== undefined && hasOwn(d, 'value') ? d.value : undefined;
}
const RealWeakSet = WeakSet;
const weakSetAdd = WeakSet.prototype.add;
const weakSetHas = WeakSet.prototype.has;

/**
 * The largest array V8's builtin is given. Its loop may then run this many steps without a check
 * for interrupts: each a hash lookup in a sparse array at worst (tens of nanoseconds), so well
 * under a tenth of a second past the CPU limit.
 */
export const DIRECT_MAX = 2 ** 21;

const proxies = new RealWeakSet<object>();
let proxyCount = 0;

/** Whether `o` is a proxy tenant code made (no trap runs): the prelude's promise plumbing asks. */
export function isTenantProxy(o: object): boolean {
  return proxyCount > 0 && apply(weakSetHas, proxies, [o]) === true;
}

function track<T extends object>(p: T): T {
  proxyCount++;
  apply(weakSetAdd, proxies, [p]);
  return p;
}

/** Whether V8's builtin may run on this receiver (see the top of the file). */
function direct(o: unknown): boolean {
  if (isArray(o))
    return (
      (proxyCount === 0 || !apply(weakSetHas, proxies, [o])) &&
      getPrototypeOf(o as object) === ArrayPrototype &&
      getPrototypeOf(ArrayPrototype) === ObjectPrototype &&
      (o as unknown[]).length <= DIRECT_MAX
    );
  return plainArrayLike(o);
}

/**
 * An object whose prototype is Object.prototype (whose own is always null), not a Proxy, with
 * its own `length` a number of at most DIRECT_MAX: `arguments`, `{ length: n, 0: a }`. Reading
 * the descriptor runs no code, and V8 reads the same value.
 */
function plainArrayLike(o: unknown): boolean {
  if (o === null || typeof o !== 'object') return false;
  if (proxyCount > 0 && apply(weakSetHas, proxies, [o])) return false;
  if (getPrototypeOf(o) !== ObjectPrototype) return false;
  const length = dataValue(getOwnPropertyDescriptor(o, 'length'));
  return typeof length === 'number' && length <= DIRECT_MAX;
}

type Generic = (self: unknown, args: unknown[]) => unknown;

/** The methods V8 cannot be interrupted in (measured: each ran on after TerminateExecution). */
const GUARDED: Record<string, Generic> = {
  copyWithin: generic.copyWithin,
  every: generic.every,
  fill: generic.fill,
  filter: generic.filter,
  find: generic.find,
  findIndex: generic.findIndex,
  findLast: generic.findLast,
  findLastIndex: generic.findLastIndex,
  forEach: generic.forEach,
  includes: generic.includes,
  indexOf: generic.indexOf,
  join: generic.join,
  lastIndexOf: generic.lastIndexOf,
  map: generic.map,
  reduce: generic.reduce,
  reduceRight: generic.reduceRight,
  reverse: generic.reverse,
  shift: generic.shift,
  slice: generic.slice,
  some: generic.some,
  sort: generic.sort,
  splice: generic.splice,
  toLocaleString: generic.toLocaleString,
  toReversed: generic.toReversed,
  toSorted: generic.toSorted,
  toSpliced: generic.toSpliced,
  unshift: generic.unshift,
  with: generic.with,
};
/**
 * Whether Array.from() may go to V8. It may when V8 will iterate (it can be interrupted there):
 * a string, or an object (an array included), not a Proxy, with a method for
 * Symbol.iterator as a data property (found without running a getter). With no such method V8
 * loops over `length`, which it may do only for a plain object (`{ length: n }`, the common
 * `Array.from({ length: n }, fn)`) with its own `length` a number of at most DIRECT_MAX, read
 * here and by V8 with no code between. Anything else goes through array-generic.ts.
 */
function directFrom(items: unknown): boolean {
  if (typeof items === 'string' || items === null || items === undefined) return true;
  if (typeof items !== 'object' && typeof items !== 'function') return true;
  // Arrays too: V8 reads Symbol.iterator before `length`, so a getter there could lengthen one.
  for (let o: object | null = items as object; o !== null; o = getPrototypeOf(o)) {
    if (proxyCount > 0 && apply(weakSetHas, proxies, [o])) return false;
    const d = getOwnPropertyDescriptor(o, iteratorSymbol);
    if (d) return typeof dataValue(d) === 'function';
  }
  return plainArrayLike(items);
}

/** Always in JavaScript: the nested arrays they walk are not bounded by the receiver's length. */
const ALWAYS_GENERIC: Record<string, Generic> = { flat: generic.flat, flatMap: generic.flatMap };
/** Its own test of what V8 may get (directConcat). */
const CONCAT: Record<string, Generic> = { concat: generic.concat };

const spreadableSymbol = Symbol.isConcatSpreadable;

/** A plain array (direct) whose Symbol.isConcatSpreadable no code can answer. */
function concatSafe(o: unknown): boolean {
  return isArray(o) && direct(o) && getOwnPropertyDescriptor(o as object, spreadableSymbol) === undefined;
}

/**
 * concat() loops over each argument it spreads as well, reading its `length` after its
 * Symbol.isConcatSpreadable: V8 gets the call only when the receiver and every argument are
 * primitives or plain arrays, nothing on the way defines Symbol.isConcatSpreadable, and all of
 * them together are no longer than DIRECT_MAX.
 */
function directConcat(self: unknown, args: unknown[]): boolean {
  if (
    getOwnPropertyDescriptor(ArrayPrototype, spreadableSymbol) !== undefined ||
    getOwnPropertyDescriptor(ObjectPrototype, spreadableSymbol) !== undefined ||
    !concatSafe(self)
  )
    return false;
  let total = (self as unknown[]).length;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === null || (typeof a !== 'object' && typeof a !== 'function')) {
      total++;
      continue;
    }
    if (!concatSafe(a)) return false;
    total += (a as unknown[]).length;
    if (total > DIRECT_MAX) return false;
  }
  return true;
}

const nativeSlice = ArrayPrototype.slice;
const setPrototypeOf = Reflect.setPrototypeOf;

/** A call's arguments as a list with no prototype: a missing one is not looked up on Array.prototype. */
function argList(args: IArguments): unknown[] {
  const list = apply(nativeSlice, args, []) as unknown[];
  setPrototypeOf(list, null);
  return list;
}
const never = () => false;
/** Inside a join() in JavaScript, nested ones stay there: its cycle check is its own stack. */
const directJoin = (self: unknown) => direct(self) && !generic.joinInProgress();

/**
 * The method that stands in for `native`. The builtin gets exactly the arguments the caller gave
 * (lastIndexOf(x) and lastIndexOf(x, undefined) differ).
 */
function guarded(
  name: string,
  native: Function,
  slow: Generic,
  mayGoDirect: (self: unknown) => boolean,
): Function {
  if (name === 'concat')
    return {
      concat(this: unknown, ...args: unknown[]) {
        return directConcat(this, args) ? apply(native, this, args) : slow(this, args);
      },
    }.concat;
  return {
    [name](this: unknown) {
      // Reflect.apply with `arguments` is forwarded by V8 without making an array (the count
      // included, which a rest parameter would also give, at the cost of an array).
      if (mayGoDirect(this)) return apply(native, this, arguments);
      return slow(this, argList(arguments));
    },
  }[name];
}

/** Replace Proxy and the Array methods (before any tenant code runs). */
export function installArrayGuard(g: Record<string, unknown>): void {
  const revocable = (target: object, handler: ProxyHandler<object>) => {
    const r = realRevocable(target, handler);
    track(r.proxy);
    return r;
  };
  defineProperty(revocable, 'name', { value: 'revocable', configurable: true });
  // A handler with no prototype: a trap a tenant adds to Object.prototype is never looked up.
  const ProxyStandIn = new RealProxy(RealProxy, {
    __proto__: null,
    construct(target, args) {
      return track(construct(target, args));
    },
    get(target, key, receiver) {
      return key === 'revocable' ? revocable : reflectGet(target, key, receiver);
    },
    getOwnPropertyDescriptor(target, key) {
      const d = getOwnPropertyDescriptor(target, key);
      if (key === 'revocable' && d) d.value = revocable;
      return d;
    },
  } as ProxyHandler<ProxyConstructor>);
  defineProperty(g, 'Proxy', { value: ProxyStandIn, writable: true, configurable: true, enumerable: false });
  const nativeFrom = Array.from;
  const from = {
    from(this: unknown, items?: unknown) {
      // `arguments` is forwarded as is, the count included. Another `this` is a constructor V8 calls between the check and its loop.
      return this === ArrayCtor && directFrom(items)
        ? apply(nativeFrom, this, arguments)
        : generic.from(this, argList(arguments));
    },
  }.from;
  defineProperty(from, 'length', { value: nativeFrom.length, configurable: true });
  defineProperty(Array, 'from', { value: from, writable: true, configurable: true, enumerable: false });
  for (const [table, always] of [
    [GUARDED, false],
    [ALWAYS_GENERIC, true],
    [CONCAT, false],
  ] as const) {
    for (const name of objectKeys(table)) {
      const d = getOwnPropertyDescriptor(ArrayPrototype, name);
      if (!d || typeof d.value !== 'function') continue;
      const test = always ? never : name === 'join' || name === 'toLocaleString' ? directJoin : direct;
      const fn = guarded(name, d.value, table[name], test);
      defineProperty(fn, 'length', { value: d.value.length, configurable: true });
      defineProperty(ArrayPrototype, name, { ...d, value: fn });
    }
  }
}
