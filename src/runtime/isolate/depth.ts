/**
 * How deeply a value sent to the host may nest.
 *
 * isolated-vm copies a posted call's arguments (bridge.ts callHost) and an entry call's outcome
 * (index.ts flush) on the isolate's thread, and the host takes them apart on its main thread,
 * whose stack is smaller: measured on Node 20, a value nested about 1,900 objects (3,200 arrays)
 * deep leaves the isolate, fails to deserialize on the host, and an ignored callback drops that
 * failure — the call would never be answered and its caller would wait for ever. So the prelude
 * refuses, before anything is sent, a value nested deeper than MAX_DEPTH, with a RangeError the
 * caller sees at once. 1,000 leaves room for the host's own frames; values from real apps come
 * nowhere near it (JSON parsers in common use stop at a few hundred).
 *
 * The walk follows what V8's serializer copies: own enumerable string-keyed data properties (an
 * array's named ones too), own array elements, the entries of anything with a Map's or a Set's internal slots (subclasses
 * too), an Error's cause. It calls no getter of an object: the serializer will, and a getter
 * that returns a deeper value to the copy than to this check still loses what travels with it
 * (its call's arguments; or the results its isolate sends in the same batch). A Proxy, or
 * anything else that makes one object's part of the walk throw, is left to the serializer,
 * which refuses it itself. It uses intrinsics captured before tenant code runs (the CPU it
 * spends is the tenant's). Cost: nothing for primitives and bytes; ~0.2 µs for a call's usual
 * arguments; one descriptor read per property of a plain structure, one read per element of
 * an array (a key list only for sparse or huge ones).
 */

export const MAX_DEPTH = 1000;

const objectKeys = Object.keys;
const hasOwn = Object.hasOwn;
const protoOf = Object.prototype.isPrototypeOf;
const NativeWeakSet = WeakSet;
const weakHas = WeakSet.prototype.has;
const weakAdd = WeakSet.prototype.add;
const describe = Object.getOwnPropertyDescriptor;
const isView = ArrayBuffer.isView;
const apply = Reflect.apply;
const mapForEach = Map.prototype.forEach;
const setForEach = Set.prototype.forEach;
const getPrototypeOf = Object.getPrototypeOf;
const NativeError = Error;
const ErrorProto = Error.prototype;
const ObjectProto = Object.prototype;
const ArrayBufferProto = ArrayBuffer.prototype;
const NativeRangeError = RangeError;

const isArray = Array.isArray;
const floor = Math.floor;

class TooDeep {}
const TOO_DEEP = new TooDeep();
/** The first pass gave up (too many objects or levels to walk without a set of those seen). */
const GIVE_UP = new TooDeep();

/** Objects the first pass may visit, and how deep it may go, before the walk that keeps a set. */
const QUICK_VISITS = 256;
const QUICK_DEPTH = 32;
let visits = 0;

/**
 * The common case, without allocating: small structures (a header list, an RPC's few
 * arguments). Cycles and shared parts are not tracked, so it gives up past a bound.
 */
function quick(v: object, depth: number): void {
  if (++visits > QUICK_VISITS || depth > QUICK_DEPTH) throw GIVE_UP;
  if (isArray(v) && v.length <= QUICK_VISITS) {
    for (let i = 0; i < v.length; i++) {
      if (!hasOwn(v, i)) continue; // a hole: nothing the copy takes
      const e = v[i];
      if (typeof e === 'object' && e !== null && !isView(e)) quick(e, depth + 1);
    }
    // Named properties of an array are copied too: the full walk reads them.
    if (hasNamedKeys(v)) throw GIVE_UP;
    return;
  }
  const proto = getPrototypeOf(v);
  if (proto === ArrayBufferProto && hasSlots(bufferLength, v)) return; // bytes: see isBuffer
  if (proto !== ObjectProto) throw GIVE_UP; // Maps, Sets, errors, class instances: the full walk
  const keys = objectKeys(v);
  for (let i = 0; i < keys.length; i++) {
    const d = describe(v, keys[i]);
    if (d === undefined || !hasOwn(d, 'value')) continue;
    const e = d.value;
    if (typeof e === 'object' && e !== null && !isView(e)) quick(e, depth + 1);
  }
}

/**
 * Whether `v` has the internal slots `getter` reads (a Map's, a Set's, an ArrayBuffer's):
 * subclasses and odd prototypes included. JavaScript has no other exact test than calling it,
 * and a miss throws a TypeError whose stack trace V8 builds from the frames above — from
 * optimized code 10–15 µs each (perf: TranslatedState), ~50 µs of every Durable Object
 * stub.fetch() answer. So the intrinsic Error's stackTraceLimit is 0 meanwhile (~2.5 µs), when it
 * is a plain writable data property: setting anything else could run tenant code mid-walk.
 */
const mapSize = describe(Map.prototype, 'size')?.get as () => number;
const setSize = describe(Set.prototype, 'size')?.get as () => number;
const bufferLength = describe(ArrayBuffer.prototype, 'byteLength')?.get as () => number;
function hasSlots(getter: () => number, v: object): boolean {
  const limit = describe(NativeError, 'stackTraceLimit');
  const quiet = limit !== undefined && hasOwn(limit, 'value') && limit.writable === true;
  if (quiet) (NativeError as unknown as { stackTraceLimit: unknown }).stackTraceLimit = 0;
  try {
    apply(getter, v, []);
    return true;
  } catch {
    return false;
  } finally {
    if (quiet) (NativeError as unknown as { stackTraceLimit: unknown }).stackTraceLimit = limit.value;
  }
}

/**
 * A body's bytes, a leaf like a typed array: an ArrayBuffer (its slots, so it has no Map's or
 * Set's) that looks like one, the common case checked without a throw. One with another
 * prototype is walked as an object (its depth counted: a refusal errs on the safe side).
 */
function isBuffer(v: object): boolean {
  try {
    return getPrototypeOf(v) === ArrayBufferProto && hasSlots(bufferLength, v);
  } catch {
    return false; // a Proxy's trap: left to the copy
  }
}

/** Arrays up to this length are walked by index, without a key list; longer (or sparse) by keys. */
const INDEXED = 1 << 20;

/**
 * The walk that keeps a set of what it saw. Whatever throws in one object (a Proxy's trap, a
 * revoked Proxy) ends only that object's part of the walk; the copy will judge it.
 */
function walk(v: unknown, depth: number, seen: WeakSet<object>): void {
  if (typeof v !== 'object' || v === null || isView(v) || apply(weakHas, seen, [v]) || isBuffer(v)) return;
  if (depth >= MAX_DEPTH) throw TOO_DEEP; // the (MAX_DEPTH + 1)th container on one path
  apply(weakAdd, seen, [v]);
  try {
    // An array has no Map's or Set's slots.
    if (isArray(v)) {
      walkElements(v, depth, seen);
      return;
    }
    if (hasSlots(mapSize, v)) {
      apply(mapForEach, v, [
        (value: unknown, key: unknown) => {
          walk(key, depth + 1, seen);
          walk(value, depth + 1, seen);
        },
      ]);
    } else if (hasSlots(setSize, v)) {
      apply(setForEach, v, [(value: unknown) => walk(value, depth + 1, seen)]);
    } else if (apply(protoOf, ErrorProto, [v])) {
      const cause = describe(v, 'cause');
      if (cause !== undefined && hasOwn(cause, 'value')) walk(cause.value, depth + 1, seen);
    }
    walkKeys(v, depth, seen);
  } catch (err) {
    if (err === TOO_DEEP) throw err;
  }
}

function walkElements(v: unknown[], depth: number, seen: WeakSet<object>): void {
  if (v.length > INDEXED) {
    walkKeys(v, depth, seen);
    return;
  }
  // Own elements, as the copy takes them, by index: a key list only if there is more to copy.
  for (let i = 0; i < v.length; i++) {
    if (!hasOwn(v, i)) continue; // a hole: read through the prototype, never copied
    const e = v[i];
    if (typeof e === 'object' && e !== null) walk(e, depth + 1, seen);
  }
  // Named properties (`a.x = …`): the copy takes them as well.
  if (hasNamedKeys(v)) walkKeys(v, depth, seen);
}

/**
 * Whether array `v` has own enumerable properties that are not elements. V8 lists an array's
 * element indices first, then its other keys: the last key tells. (Counting keys against
 * elements would not: a non-enumerable element hides one named key from the count.)
 */
function hasNamedKeys(v: unknown[]): boolean {
  const keys = objectKeys(v);
  return keys.length > 0 && !isIndex(keys[keys.length - 1]);
}

/** An array index: the canonical form of an integer from 0 to 2³² − 2. */
function isIndex(key: string): boolean {
  const n = +key;
  return n >= 0 && n <= 4294967294 && floor(n) === n && `${n}` === key;
}

/** Own enumerable data properties (a sparse or huge array's elements among them). */
function walkKeys(v: object, depth: number, seen: WeakSet<object>): void {
  const keys = objectKeys(v);
  for (let i = 0; i < keys.length; i++) {
    const d = describe(v, keys[i]);
    if (d !== undefined && hasOwn(d, 'value')) walk(d.value, depth + 1, seen);
  }
}

/**
 * Throw a RangeError naming `what` if `value` nests deeper than the host can take (see the top).
 * Errors other than that one (a revoked Proxy, a throwing trap) are left to the copy itself.
 */
export function checkDepth(value: unknown, what: string): void {
  if (typeof value !== 'object' || value === null || isView(value)) return;
  try {
    visits = 0;
    try {
      quick(value, 0);
      return;
    } catch {
      // Too big for the quick pass, or something in it threw (a trap, a getter on a hole's
      // prototype): the full walk, which reads own data only, decides.
    }
    walk(value, 0, new NativeWeakSet());
  } catch (err) {
    if (err === TOO_DEEP)
      throw new NativeRangeError(
        `${what} nests more than ${MAX_DEPTH} levels deep: Outpost cannot copy it out of the isolate`,
      );
  }
}
