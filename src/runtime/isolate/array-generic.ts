/**
 * Array.prototype's generic algorithms, written out in JavaScript step by step from the
 * specification (ECMA-262, §23.1.3), for the receivers V8's own builtins cannot be stopped on.
 *
 * V8 runs these methods in C++ or CSA loops that never check for interrupts. On an object whose
 * `length` is huge and whose indices are mostly absent (`{ length: 2 ** 40 }`, an array with its
 * length set to 2 ** 32 - 1, a Proxy with no `has` trap), each step is a lookup that calls no
 * JavaScript, so the loop runs for hours and `TerminateExecution` — how the CPU limit stops an
 * isolate — waits for it. The isolate's thread spins after its request has failed, one more per
 * request (array-guard.ts decides which receivers come here).
 *
 * The same loops in JavaScript are interrupted like any other code. Each function takes the
 * receiver and the arguments as the builtin does and follows the specification's order of
 * observable steps (HasProperty before Get, `length` read once, ArraySpeciesCreate, Set with
 * throw), so a Proxy sees the same traps; array-generic.test.ts checks that against V8.
 *
 * Everything used here is captured when the prelude loads, before tenant code could replace it.
 */

const { apply, construct, defineProperty, deleteProperty, getPrototypeOf, set, setPrototypeOf } = Reflect;
const ObjectCtor = Object;
const StringCtor = String;
const isArray = Array.isArray;
const ArrayCtor = Array;
const ArrayPrototype = Array.prototype;
const { floor, max, min, trunc } = Math;
const numberIsNaN = Number.isNaN;
const RealProxy = Proxy;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const nativeSort = ArrayPrototype.sort;
const speciesSymbol = Symbol.species;
const spreadableSymbol = Symbol.isConcatSpreadable;
const iteratorSymbol = Symbol.iterator;

const MAX_SAFE = 2 ** 53 - 1;
const MAX_ARRAY_LENGTH = 2 ** 32 - 1;

/** §7.1.18 ToObject, with V8's message. */
function toObject(value: unknown, method: string): any {
  if (value === null || value === undefined)
    throw new TypeErrorCtor(`Array.prototype.${method} called on null or undefined`);
  return ObjectCtor(value);
}

/** §7.1.5 ToIntegerOrInfinity (`+` throws on Symbols and BigInts, as ToNumber does). */
function toIntegerOrInfinity(value: unknown): number {
  const n = +(value as number);
  if (numberIsNaN(n)) return 0;
  return trunc(n) + 0;
}

/** §7.3.18 LengthOfArrayLike. */
export function lengthOf(o: any): number {
  const len = toIntegerOrInfinity(o.length);
  return len <= 0 ? 0 : min(len, MAX_SAFE);
}

/** A relative index (start, end, target) clamped to [0, len]. */
function relative(value: number, len: number): number {
  return value < 0 ? max(len + value, 0) : min(value, len);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return StringCtor(value);
  return typeof value === 'function' ? 'function' : '#<Object>';
}

function callable(fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeErrorCtor(`${describe(fn)} is not a function`);
}

const NOT_CONSTRUCTOR_PROBE = { construct: () => ({}) };

/** §7.2.4 IsConstructor, without touching the value (a Proxy over it has no other trap called). */
function isConstructor(value: unknown): boolean {
  if (typeof value !== 'function') return false;
  try {
    construct(new RealProxy(value, NOT_CONSTRUCTOR_PROBE), []);
    return true;
  } catch {
    return false;
  }
}

/** §10.4.2.2 ArrayCreate. */
function arrayCreate(length: number): any[] {
  if (length > MAX_ARRAY_LENGTH) throw new RangeErrorCtor('Invalid array length');
  const a = new ArrayCtor(length);
  return a;
}

/** §10.4.2.3 ArraySpeciesCreate. */
function speciesCreate(original: any, length: number): any {
  if (!isArray(original)) return arrayCreate(length);
  let C: any = original.constructor;
  if (C !== null && (typeof C === 'object' || typeof C === 'function')) {
    C = C[speciesSymbol];
    if (C === null) C = undefined;
  }
  if (C === undefined) return arrayCreate(length);
  if (!isConstructor(C)) throw new TypeErrorCtor('object.constructor[Symbol.species] is not a constructor');
  return new C(length);
}

/** §7.3.7 CreateDataPropertyOrThrow (a null-prototype descriptor: nothing inherited is read). */
function createData(o: any, key: number | string, value: unknown): void {
  const desc = { __proto__: null, value, writable: true, enumerable: true, configurable: true };
  if (!defineProperty(o, key, desc as PropertyDescriptor))
    throw new TypeErrorCtor(`Cannot add property ${StringCtor(key)}, object is not extensible`);
}

/** §7.3.4 Set(O, P, V, true). */
function put(o: any, key: number | string, value: unknown): void {
  if (!set(o, key, value))
    throw new TypeErrorCtor(`Cannot assign to read only property '${StringCtor(key)}' of object`);
}

/** §7.3.10 DeletePropertyOrThrow. */
function remove(o: any, key: number): void {
  if (!deleteProperty(o, key)) throw new TypeErrorCtor(`Cannot delete property '${key}' of object`);
}

export function indexOf(self: unknown, args: unknown[]): number {
  const o = toObject(self, 'indexOf');
  const len = lengthOf(o);
  if (len === 0) return -1;
  const n = toIntegerOrInfinity(args[1]);
  if (n === Infinity) return -1;
  for (let k = n >= 0 ? n : max(len + n, 0); k < len; k++) if (k in o && o[k] === args[0]) return k;
  return -1;
}

export function lastIndexOf(self: unknown, args: unknown[]): number {
  const o = toObject(self, 'lastIndexOf');
  const len = lengthOf(o);
  if (len === 0) return -1;
  const n = args.length > 1 ? toIntegerOrInfinity(args[1]) : len - 1;
  if (n === -Infinity) return -1;
  for (let k = n >= 0 ? min(n, len - 1) : len + n; k >= 0; k--) if (k in o && o[k] === args[0]) return k;
  return -1;
}

export function includes(self: unknown, args: unknown[]): boolean {
  const o = toObject(self, 'includes');
  const len = lengthOf(o);
  if (len === 0) return false;
  const n = toIntegerOrInfinity(args[1]);
  if (n === Infinity) return false;
  const search = args[0];
  for (let k = n >= 0 ? n : max(len + n, 0); k < len; k++) {
    const e = o[k];
    if (e === search || (numberIsNaN(e) && numberIsNaN(search))) return true;
  }
  return false;
}

export function fill(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'fill');
  const len = lengthOf(o);
  let k = relative(toIntegerOrInfinity(args[1]), len);
  const end = args[2] === undefined ? len : relative(toIntegerOrInfinity(args[2]), len);
  for (; k < end; k++) put(o, k, args[0]);
  return o;
}

export function copyWithin(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'copyWithin');
  const len = lengthOf(o);
  let to = relative(toIntegerOrInfinity(args[0]), len);
  let from = relative(toIntegerOrInfinity(args[1]), len);
  const end = args[2] === undefined ? len : relative(toIntegerOrInfinity(args[2]), len);
  let count = min(end - from, len - to);
  let step = 1;
  if (from < to && to < from + count) {
    step = -1;
    from += count - 1;
    to += count - 1;
  }
  for (; count > 0; count--, from += step, to += step) {
    if (from in o) put(o, to, o[from]);
    else remove(o, to);
  }
  return o;
}

export function forEach(self: unknown, args: unknown[]): undefined {
  const o = toObject(self, 'forEach');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  for (let k = 0; k < len; k++) if (k in o) apply(fn, args[1], [o[k], k, o]);
  return undefined;
}

export function map(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'map');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  const a = speciesCreate(o, len);
  for (let k = 0; k < len; k++) if (k in o) createData(a, k, apply(fn, args[1], [o[k], k, o]));
  return a;
}

export function filter(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'filter');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  const a = speciesCreate(o, 0);
  let to = 0;
  for (let k = 0; k < len; k++) {
    if (!(k in o)) continue;
    const v = o[k];
    if (apply(fn, args[1], [v, k, o])) createData(a, to++, v);
  }
  return a;
}

/** find, findIndex (from the start) and findLast, findLastIndex (from the end): holes are read. */
function finder(method: string, fromEnd: boolean, wantIndex: boolean) {
  return (self: unknown, args: unknown[]): unknown => {
    const o = toObject(self, method);
    const len = lengthOf(o);
    const fn = args[0] as Function;
    callable(fn);
    for (let i = 0; i < len; i++) {
      const k = fromEnd ? len - 1 - i : i;
      const v = o[k];
      if (apply(fn, args[1], [v, k, o])) return wantIndex ? k : v;
    }
    return wantIndex ? -1 : undefined;
  };
}
export const find = finder('find', false, false);
export const findIndex = finder('findIndex', false, true);
export const findLast = finder('findLast', true, false);
export const findLastIndex = finder('findLastIndex', true, true);

export function some(self: unknown, args: unknown[]): boolean {
  const o = toObject(self, 'some');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  for (let k = 0; k < len; k++) if (k in o && apply(fn, args[1], [o[k], k, o])) return true;
  return false;
}

export function every(self: unknown, args: unknown[]): boolean {
  const o = toObject(self, 'every');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  for (let k = 0; k < len; k++) if (k in o && !apply(fn, args[1], [o[k], k, o])) return false;
  return true;
}

const NO_INITIAL = 'Reduce of empty array with no initial value';

export function reduce(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'reduce');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  if (len === 0 && args.length < 2) throw new TypeErrorCtor(NO_INITIAL);
  let k = 0;
  let acc: unknown;
  if (args.length >= 2) acc = args[1];
  else {
    let present = false;
    for (; !present && k < len; k++) {
      present = k in o;
      if (present) acc = o[k];
    }
    if (!present) throw new TypeErrorCtor(NO_INITIAL);
  }
  for (; k < len; k++) if (k in o) acc = apply(fn, undefined, [acc, o[k], k, o]);
  return acc;
}

export function reduceRight(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'reduceRight');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  if (len === 0 && args.length < 2) throw new TypeErrorCtor(NO_INITIAL);
  let k = len - 1;
  let acc: unknown;
  if (args.length >= 2) acc = args[1];
  else {
    let present = false;
    for (; !present && k >= 0; k--) {
      present = k in o;
      if (present) acc = o[k];
    }
    if (!present) throw new TypeErrorCtor(NO_INITIAL);
  }
  for (; k >= 0; k--) if (k in o) acc = apply(fn, undefined, [acc, o[k], k, o]);
  return acc;
}

/** §23.1.3.13.1 FlattenIntoArray. */
function flattenInto(
  target: any,
  source: any,
  sourceLen: number,
  start: number,
  depth: number,
  mapper?: Function,
  thisArg?: unknown,
): number {
  let to = start;
  for (let k = 0; k < sourceLen; k++) {
    if (!(k in source)) continue;
    let element = source[k];
    if (mapper) element = apply(mapper, thisArg, [element, k, source]);
    if (depth > 0 && isArray(element)) {
      to = flattenInto(target, element, lengthOf(element), to, depth - 1);
    } else {
      if (to >= MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
      createData(target, to++, element);
    }
  }
  return to;
}

export function flat(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'flat');
  const len = lengthOf(o);
  let depth = 1;
  if (args[0] !== undefined) {
    depth = toIntegerOrInfinity(args[0]);
    if (depth < 0) depth = 0;
  }
  const a = speciesCreate(o, 0);
  flattenInto(a, o, len, 0, depth);
  return a;
}

export function flatMap(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'flatMap');
  const len = lengthOf(o);
  const fn = args[0] as Function;
  callable(fn);
  const a = speciesCreate(o, 0);
  flattenInto(a, o, len, 0, 1, fn, args[1]);
  return a;
}

export function reverse(self: unknown): unknown {
  const o = toObject(self, 'reverse');
  const len = lengthOf(o);
  const middle = floor(len / 2);
  for (let lower = 0; lower !== middle; lower++) {
    const upper = len - lower - 1;
    const lowerExists = lower in o;
    const lowerValue = lowerExists ? o[lower] : undefined;
    const upperExists = upper in o;
    const upperValue = upperExists ? o[upper] : undefined;
    if (lowerExists && upperExists) {
      put(o, lower, upperValue);
      put(o, upper, lowerValue);
    } else if (upperExists) {
      put(o, lower, upperValue);
      remove(o, upper);
    } else if (lowerExists) {
      remove(o, lower);
      put(o, upper, lowerValue);
    }
  }
  return o;
}

export function slice(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'slice');
  const len = lengthOf(o);
  let k = relative(toIntegerOrInfinity(args[0]), len);
  const end = args[1] === undefined ? len : relative(toIntegerOrInfinity(args[1]), len);
  const a = speciesCreate(o, max(end - k, 0));
  let n = 0;
  for (; k < end; k++, n++) if (k in o) createData(a, n, o[k]);
  put(a, 'length', n);
  return a;
}

/** The delete count of splice() and skip count of toSpliced(). */
function spliceCount(args: unknown[], len: number, start: number): number {
  if (args.length === 0) return 0;
  if (args.length === 1) return len - start;
  return min(max(toIntegerOrInfinity(args[1]), 0), len - start);
}

export function splice(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'splice');
  const len = lengthOf(o);
  const start = relative(toIntegerOrInfinity(args[0]), len);
  const items = args.length > 2 ? args.length - 2 : 0;
  const deleted = spliceCount(args, len, start);
  if (len + items - deleted > MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
  const a = speciesCreate(o, deleted);
  for (let k = 0; k < deleted; k++) if (start + k in o) createData(a, k, o[start + k]);
  put(a, 'length', deleted);
  if (items < deleted) {
    for (let k = start; k < len - deleted; k++) {
      const from = k + deleted;
      const to = k + items;
      if (from in o) put(o, to, o[from]);
      else remove(o, to);
    }
    for (let k = len; k > len - deleted + items; k--) remove(o, k - 1);
  } else if (items > deleted) {
    for (let k = len - deleted; k > start; k--) {
      const from = k + deleted - 1;
      const to = k + items - 1;
      if (from in o) put(o, to, o[from]);
      else remove(o, to);
    }
  }
  for (let i = 0; i < items; i++) put(o, start + i, args[i + 2]);
  put(o, 'length', len - deleted + items);
  return a;
}

export function shift(self: unknown): unknown {
  const o = toObject(self, 'shift');
  const len = lengthOf(o);
  if (len === 0) {
    put(o, 'length', 0);
    return undefined;
  }
  const first = o[0];
  for (let k = 1; k < len; k++) {
    if (k in o) put(o, k - 1, o[k]);
    else remove(o, k - 1);
  }
  remove(o, len - 1);
  put(o, 'length', len - 1);
  return first;
}

export function unshift(self: unknown, args: unknown[]): number {
  const o = toObject(self, 'unshift');
  const len = lengthOf(o);
  const count = args.length;
  if (count > 0) {
    if (len + count > MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
    for (let k = len; k > 0; k--) {
      const from = k - 1;
      const to = k + count - 1;
      if (from in o) put(o, to, o[from]);
      else remove(o, to);
    }
    for (let j = 0; j < count; j++) put(o, j, args[j]);
  }
  put(o, 'length', len + count);
  return len + count;
}

/** §23.1.3.30.2 SortCompare, given to V8's sort of the collected values (a plain list). */
function sortCompare(comparefn: unknown): (x: unknown, y: unknown) => number {
  return (x, y) => {
    if (x === undefined) return y === undefined ? 0 : 1;
    if (y === undefined) return -1;
    if (comparefn !== undefined) {
      const v = +(apply(comparefn as Function, undefined, [x, y]) as number);
      return numberIsNaN(v) ? 0 : v;
    }
    const xs = `${x}`;
    const ys = `${y}`;
    return xs < ys ? -1 : ys < xs ? 1 : 0;
  };
}

/**
 * §23.1.3.30.1 SortIndexedProperties: the values, collected into a list with no prototype (so
 * nothing inherited runs while it fills), sorted by V8 with the specification's comparison.
 */
function sortedValues(o: any, len: number, skipHoles: boolean, comparefn: unknown): unknown[] {
  const items: unknown[] = [];
  setPrototypeOf(items, null);
  let n = 0;
  for (let k = 0; k < len; k++) {
    if (skipHoles && !(k in o)) continue;
    items[n++] = o[k];
  }
  apply(nativeSort, items, [sortCompare(comparefn)]);
  return items;
}

export function sort(self: unknown, args: unknown[]): unknown {
  const comparefn = args[0];
  if (comparefn !== undefined && typeof comparefn !== 'function')
    throw new TypeErrorCtor('The comparison function must be either a function or undefined');
  const o = toObject(self, 'sort');
  const len = lengthOf(o);
  const items = sortedValues(o, len, true, comparefn);
  const count = items.length;
  let j = 0;
  for (; j < count; j++) put(o, j, items[j]);
  for (; j < len; j++) remove(o, j);
  return o;
}

export function toSorted(self: unknown, args: unknown[]): unknown {
  const comparefn = args[0];
  if (comparefn !== undefined && typeof comparefn !== 'function')
    throw new TypeErrorCtor('The comparison function must be either a function or undefined');
  const o = toObject(self, 'toSorted');
  const len = lengthOf(o);
  const a = arrayCreate(len);
  const items = sortedValues(o, len, false, comparefn);
  for (let j = 0; j < len; j++) createData(a, j, items[j]);
  return a;
}

export function toSpliced(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'toSpliced');
  const len = lengthOf(o);
  const start = relative(toIntegerOrInfinity(args[0]), len);
  const inserted = args.length > 2 ? args.length - 2 : 0;
  const skipped = spliceCount(args, len, start);
  const newLen = len + inserted - skipped;
  if (newLen > MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
  const a = arrayCreate(newLen);
  let i = 0;
  let r = start + skipped;
  for (; i < start; i++) createData(a, i, o[i]);
  for (let j = 0; j < inserted; j++) createData(a, i++, args[j + 2]);
  for (; i < newLen; i++, r++) createData(a, i, o[r]);
  return a;
}

function withAt(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'with');
  const len = lengthOf(o);
  const rel = toIntegerOrInfinity(args[0]);
  const at = rel >= 0 ? rel : len + rel;
  if (at >= len || at < 0) throw new RangeErrorCtor('Invalid index : ' + StringCtor(rel));
  const a = arrayCreate(len);
  for (let k = 0; k < len; k++) createData(a, k, k === at ? args[1] : o[k]);
  return a;
}
export { toLocaleStringOf as toLocaleString, withAt as with };

export function toReversed(self: unknown): unknown {
  const o = toObject(self, 'toReversed');
  const len = lengthOf(o);
  const a = arrayCreate(len);
  for (let k = 0; k < len; k++) createData(a, k, o[len - k - 1]);
  return a;
}

/**
 * Receivers join() and toLocaleString() are in now: a cycle gives '' (as in every engine). No
 * prototype: a setter a tenant puts on Array.prototype must not see this list.
 */
const joining: unknown[] = [];
setPrototypeOf(joining, null);

/** §23.1.3.18 join's loop (and toLocaleString's), `each` turning an element into text. */
function joinLoop(o: any, len: number, separator: string, each: (e: any) => string): string {
  if (len === 0) return '';
  for (let i = 0; i < joining.length; i++) if (joining[i] === o) return '';
  joining[joining.length] = o;
  try {
    let r = '';
    for (let k = 0; k < len; k++) {
      if (k > 0) r += separator;
      const e = o[k];
      if (e !== undefined && e !== null) r += each(e);
    }
    return r;
  } finally {
    joining.length--;
  }
}

const toText = (e: unknown) => `${e}`;

/** Whether a join() in JavaScript is under way (its nested joins must see the same stack). */
export function joinInProgress(): boolean {
  return joining.length > 0;
}

export function join(self: unknown, args: unknown[]): string {
  const o = toObject(self, 'join');
  const len = lengthOf(o);
  return joinLoop(o, len, args[0] === undefined ? ',' : `${args[0]}`, toText);
}

function toLocaleStringOf(self: unknown, args: unknown[]): string {
  const o = toObject(self, 'toLocaleString');
  // ECMA-402 §19.5.1: each element's toLocaleString(locales, options).
  const locales = args[0];
  const options = args[1];
  return joinLoop(o, lengthOf(o), ',', (e) => {
    const f = e.toLocaleString;
    callable(f);
    return `${apply(f, e, [locales, options])}`;
  });
}

/** §7.2.2 IsConcatSpreadable. */
function spreadable(o: unknown): boolean {
  if (o === null || (typeof o !== 'object' && typeof o !== 'function')) return false;
  const s = (o as any)[spreadableSymbol];
  return s !== undefined ? !!s : isArray(o);
}

export function concat(self: unknown, args: unknown[]): unknown {
  const o = toObject(self, 'concat');
  const a = speciesCreate(o, 0);
  let n = 0;
  for (let i = -1; i < args.length; i++) {
    const e = i < 0 ? o : args[i];
    if (spreadable(e)) {
      const len = lengthOf(e);
      if (n + len > MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
      for (let k = 0; k < len; k++, n++) if (k in (e as object)) createData(a, n, (e as any)[k]);
    } else {
      if (n >= MAX_SAFE) throw new TypeErrorCtor('Invalid array length');
      createData(a, n++, e);
    }
  }
  put(a, 'length', n);
  return a;
}

/** §7.4.11 IteratorClose after an abrupt completion: the first error wins. */
function closeIterator(iterator: any): void {
  try {
    const ret = iterator.return;
    if (ret !== undefined && ret !== null) apply(ret, iterator, []);
  } catch {}
}

/** §23.1.2.1 Array.from, `this` the constructor it was called on. */
export function from(self: unknown, args: unknown[]): unknown {
  // By index: destructuring would go through Array.prototype[Symbol.iterator].
  const items = args[0];
  const mapfn = args[1];
  const thisArg = args[2];
  const mapping = mapfn !== undefined;
  if (mapping) callable(mapfn);
  const usingIterator = items === null || items === undefined ? undefined : (items as any)[iteratorSymbol];
  if (usingIterator !== undefined && usingIterator !== null) {
    callable(usingIterator);
    const a: any = isConstructor(self) ? new (self as any)() : arrayCreate(0);
    const iterator = apply(usingIterator, items, []) as any;
    if (iterator === null || (typeof iterator !== 'object' && typeof iterator !== 'function'))
      throw new TypeErrorCtor('Result of the Symbol.iterator method is not an object');
    const next = iterator.next;
    for (let k = 0; ; k++) {
      if (k >= MAX_SAFE) {
        closeIterator(iterator);
        throw new TypeErrorCtor('Invalid array length');
      }
      const step = apply(next, iterator, []) as any;
      if (step === null || (typeof step !== 'object' && typeof step !== 'function'))
        throw new TypeErrorCtor(`Iterator result ${describe(step)} is not an object`);
      if (step.done) {
        put(a, 'length', k);
        return a;
      }
      let v = step.value;
      try {
        if (mapping) v = apply(mapfn as Function, thisArg, [v, k]);
        createData(a, k, v);
      } catch (err) {
        closeIterator(iterator);
        throw err;
      }
    }
  }
  const o = toObject(items, 'from');
  const len = lengthOf(o);
  const a: any = isConstructor(self) ? new (self as any)(len) : arrayCreate(len);
  for (let k = 0; k < len; k++)
    createData(a, k, mapping ? apply(mapfn as Function, thisArg, [o[k], k]) : o[k]);
  put(a, 'length', len);
  return a;
}

/** The prototype an ordinary array has when nothing was changed (array-guard.ts checks it). */
export const intrinsics = { ArrayPrototype, ObjectPrototype: ObjectCtor.prototype, getPrototypeOf, isArray };
