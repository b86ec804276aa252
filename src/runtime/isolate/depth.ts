/**
 * How deeply a value sent to the host may nest.
 *
 * isolated-vm copies a posted call's arguments (bridge.ts callHost) and an entry call's outcome
 * (index.ts report) on the isolate's thread, and the host takes them apart on its main thread,
 * whose stack is smaller: measured on Node 20, a value nested about 1,900 objects (3,200 arrays)
 * deep leaves the isolate, fails to deserialize on the host, and an ignored callback drops that
 * failure — the call would never be answered and its caller would wait for ever. So the prelude
 * refuses, before anything is sent, a value nested deeper than MAX_DEPTH, with a RangeError the
 * caller sees at once. 1,000 leaves room for the host's own frames; values from real apps come
 * nowhere near it (JSON parsers in common use stop at a few hundred).
 *
 * The walk follows what V8's serializer copies: own enumerable string-keyed data properties,
 * Map keys and values, Set members, an Error's cause. It calls no getter of an object (the
 * serializer will; a getter that returns a deeper value than it did here loses only its own
 * call); a small array's elements are read directly, as the serializer reads them. A Proxy
 * or anything else that makes the walk throw is left to the serializer, which refuses it itself.
 * It uses intrinsics captured before tenant code runs. Cost: nothing for primitives and bytes;
 * one descriptor read per property of a plain structure.
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
const MapProto = Map.prototype;
const SetProto = Set.prototype;
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

function walk(v: unknown, depth: number, seen: WeakSet<object>): void {
  if (typeof v !== 'object' || v === null || isView(v) || apply(weakHas, seen, [v])) return;
  if (depth >= MAX_DEPTH) throw TOO_DEEP; // the (MAX_DEPTH + 1)th container on one path
  apply(weakAdd, seen, [v]);
  const proto = getPrototypeOf(v);
  if (proto === MapProto) {
    apply(mapForEach, v, [
      (value: unknown, key: unknown) => {
        walk(key, depth + 1, seen);
        walk(value, depth + 1, seen);
      },
    ]);
  } else if (proto === SetProto) {
    apply(setForEach, v, [(value: unknown) => walk(value, depth + 1, seen)]);
  } else if (proto !== null && (proto === ErrorProto || apply(protoOf, ErrorProto, [v]))) {
    const cause = describe(v, 'cause');
    if (cause !== undefined && hasOwn(cause, 'value')) walk(cause.value, depth + 1, seen);
  }
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
    } catch (err) {
      if (err !== GIVE_UP) return;
    }
    walk(value, 0, new NativeWeakSet());
  } catch (err) {
    if (err === TOO_DEEP)
      throw new NativeRangeError(
        `${what} nests more than ${MAX_DEPTH} levels deep: Outpost cannot copy it out of the isolate`,
      );
  }
}
