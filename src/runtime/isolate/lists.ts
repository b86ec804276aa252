/**
 * Lists V8 walks in C++ without checking for interrupts, outside Array.prototype (array-guard.ts
 * has the why): the property list of `JSON.stringify(value, replacerArray)` and the locale lists
 * of `Intl` (its constructors, `supportedLocalesOf`, `getCanonicalLocales`, and the
 * `toLocale*String` and `localeCompare` methods that take one). `Intl.getCanonicalLocales({
 * length: 2 ** 40 })` kept an isolate's thread for hours after its request failed.
 *
 * Each such argument that is an object is read here first, in JavaScript, with the
 * specification's steps in its order (CanonicalizeLocaleList, ECMA-402 §9.2.1; SerializeJSONProperty's
 * PropertyList, ECMA-262 §25.5.2 step 4.b), and V8 is given what came out: a plain array of
 * strings (and Intl.Locale objects), on which what it does next runs no tenant code.
 *
 * Outpost's own bound: a locale list of more than MAX_LOCALES entries is refused with a
 * RangeError (V8 canonicalizes each in ICU, uninterruptibly; no real list comes near).
 */

import { lengthOf } from './array-generic.ts';

const { apply, defineProperty, getOwnPropertyDescriptor, setPrototypeOf } = Reflect;
const isArray = Array.isArray;
const ArrayPrototype = Array.prototype;
const ObjectCtor = Object;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const stringValueOf = String.prototype.valueOf;
const numberValueOf = Number.prototype.valueOf;

export const MAX_LOCALES = 1000;

/** Whether `v` has the internal slot `valueOf` checks (a String or Number wrapper object). */
function hasSlot(probe: Function, v: object): boolean {
  try {
    apply(probe, v, []);
    return true;
  } catch {
    return false;
  }
}

/** What JSON.stringify gets for a replacer array: its PropertyList, as a plain array. */
export function replacerList(replacer: object): string[] {
  const list: string[] = [];
  setPrototypeOf(list, null);
  const seen: Record<string, true> = { __proto__: null } as unknown as Record<string, true>;
  const len = lengthOf(replacer);
  for (let k = 0; k < len; k++) {
    const v = (replacer as any)[k];
    let item: string | undefined;
    if (typeof v === 'string') item = v;
    else if (typeof v === 'number') item = `${v}`;
    else if (v !== null && typeof v === 'object' && (hasSlot(stringValueOf, v) || hasSlot(numberValueOf, v)))
      item = `${v}`;
    if (item !== undefined && seen[item] !== true) {
      seen[item] = true;
      list[list.length] = item;
    }
  }
  setPrototypeOf(list, ArrayPrototype);
  return list;
}

/** Intl.Locale's toString, to tell a Locale by its internal slot (captured before tenant code). */
const localeToString: Function | undefined = (Intl as any).Locale?.prototype.toString;

/** A locale list argument as V8 should get it (strings and Intl.Locale objects, at most MAX_LOCALES). */
export function localeList(locales: unknown): unknown {
  if (locales === undefined || locales === null || typeof locales !== 'object') return locales;
  // A single Intl.Locale stands for itself.
  if (localeToString && hasSlot(localeToString, locales)) return locales;
  const o = ObjectCtor(locales);
  const len = lengthOf(o);
  const list: unknown[] = [];
  setPrototypeOf(list, null);
  for (let k = 0; k < len; k++) {
    if (!(k in o)) continue;
    const v = o[k];
    if (typeof v !== 'string' && (v === null || typeof v !== 'object'))
      throw new TypeErrorCtor('Language ID should be string or object.');
    if (list.length >= MAX_LOCALES)
      throw new RangeErrorCtor(`Too many locales: Outpost accepts at most ${MAX_LOCALES} in one list`);
    list[list.length] = typeof v === 'string' || (localeToString && hasSlot(localeToString, v)) ? v : `${v}`;
  }
  setPrototypeOf(list, ArrayPrototype);
  return list;
}

/** Replace `owner[key]` (a function) with one that passes argument `at` through `fix` first. */
function fixArgument(owner: object, key: string, at: number, fix: (v: unknown) => unknown): void {
  const d = getOwnPropertyDescriptor(owner, key);
  if (!d || typeof d.value !== 'function') return;
  const original = d.value as Function;
  const wrapped = {
    [key](this: unknown, ...args: unknown[]) {
      if (args.length > at) args[at] = fix(args[at]);
      return apply(original, this, args);
    },
  }[key];
  defineProperty(wrapped, 'length', { value: original.length, configurable: true });
  defineProperty(owner, key, { ...d, value: wrapped });
}

/** Install the list guards (before tenant code; intl.ts passes its constructors' lists here). */
export function installListGuards(): void {
  fixArgument(JSON, 'stringify', 1, (r) =>
    r !== null && typeof r === 'object' && isArray(r) ? replacerList(r) : r,
  );
  const intl = Intl as unknown as Record<string, any>;
  fixArgument(intl, 'getCanonicalLocales', 0, localeList);
  for (const name of Object.getOwnPropertyNames(intl)) {
    const C = intl[name];
    if (typeof C === 'function' && C.prototype) fixArgument(C, 'supportedLocalesOf', 0, localeList);
  }
  fixArgument(String.prototype, 'localeCompare', 1, localeList);
  fixArgument(String.prototype, 'toLocaleLowerCase', 0, localeList);
  fixArgument(String.prototype, 'toLocaleUpperCase', 0, localeList);
  for (const proto of [Number.prototype, BigInt.prototype, Date.prototype])
    fixArgument(proto, 'toLocaleString', 0, localeList);
  fixArgument(Date.prototype, 'toLocaleDateString', 0, localeList);
  fixArgument(Date.prototype, 'toLocaleTimeString', 0, localeList);
  fixArgument(Object.getPrototypeOf(Int8Array.prototype), 'toLocaleString', 0, localeList);
}
