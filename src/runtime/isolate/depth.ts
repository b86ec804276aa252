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
 * The walk follows what V8's serializer copies: own enumerable string-keyed data properties, own
 * array elements, the entries of anything with a Map's or a Set's internal slots (subclasses
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
const ErrorProto = Error.prototype;
const ObjectProto = Object.prototype;
const NativeRangeError = RangeError;

const isArray = Array.isArray;

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
    return;
  }
  const proto = getPrototypeOf(v);
  if (proto !== ObjectProto) throw GIVE_UP; // Maps, Sets, errors, class instances: the full walk
  const keys = objectKeys(v);
  for (let i = 0; i < keys.length; i++) {
    const d = describe(v, keys[i]);
    if (d === undefined || !hasOwn(d, 'value')) continue;
    const e = d.value;
    if (typeof e === 'object' && e !== null && !isView(e)) quick(e, depth + 1);
  }
}

/** Whether `v` has a Map's (or a Set's) internal slots: subclasses and odd prototypes included. */
const mapSize = (Object.getOwnPropertyDescriptor(Map.prototype, 'size') as PropertyDescriptor)
  .get as () => number;
const setSize = (Object.getOwnPropertyDescriptor(Set.prototype, 'size') as PropertyDescriptor)
  .get as () => number;
function hasSlots(size: () => number, v: object): boolean {
  try {
    apply(size, v, []);
    return true;
  } catch {
    return false;
  }
}

/** Arrays up to this length are walked by index, without a key list; longer (or sparse) by keys. */
const INDEXED = 1 << 20;

/**
 * The walk that keeps a set of what it saw. Whatever throws in one object (a Proxy's trap, a
 * revoked Proxy) ends only that object's part of the walk; the copy will judge it.
 */
function walk(v: unknown, depth: number, seen: WeakSet<object>): void {
  if (typeof v !== 'object' || v === null || isView(v) || apply(weakHas, seen, [v])) return;
  if (depth >= MAX_DEPTH) throw TOO_DEEP; // the (MAX_DEPTH + 1)th container on one path
  apply(weakAdd, seen, [v]);
  try {
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
    if (isArray(v) && v.length <= INDEXED) {
      // Own elements only, as the copy takes them; no key list for a big dense array.
      for (let i = 0; i < v.length; i++) {
        if (!hasOwn(v, i)) continue; // a hole: read through the prototype, never copied
        const e = v[i];
        if (typeof e === 'object' && e !== null) walk(e, depth + 1, seen);
      }
      return;
    }
    const keys = objectKeys(v);
    for (let i = 0; i < keys.length; i++) {
      const d = describe(v, keys[i]);
      if (d !== undefined && hasOwn(d, 'value')) walk(d.value, depth + 1, seen);
    }
  } catch (err) {
    if (err === TOO_DEEP) throw err;
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
