/**
 * Promise's methods as the prelude set them up, put back while an extension loads.
 *
 * An extension is evaluated the first time a worker uses it, after tenant code has run, and
 * third-party code in it captures builtins as it loads: the Web Streams polyfill keeps
 * `Promise.prototype.then`, `Promise.resolve` and `Promise.reject` for every stream operation
 * after. Captured from a tenant's replacements, they would hand the polyfill's callbacks to
 * tenant code for good. So for the length of a load these properties are what they were before
 * any tenant code ran (the frame-carrying `then` and `resolve` of context.ts), and the tenant's
 * values are put back after. Free uses of `Promise`, `queueMicrotask` and the timers in an
 * extension are the prelude's own anyway (extensions.ts passes them in).
 *
 * A tenant that made one of them unchangeable (non-configurable) gets an error from the load
 * instead of an extension built on its replacement.
 */
const { defineProperty, deleteProperty, getOwnPropertyDescriptor, apply } = Reflect;
const hasOwn = Object.hasOwn;

type Saved = [target: object, key: PropertyKey, descriptor: PropertyDescriptor | undefined];

const PROTOTYPE_KEYS = ['then', 'catch', 'finally'] as const;
const STATIC_KEYS = ['resolve', 'reject', 'all', 'allSettled', 'any', 'race', 'withResolvers'] as const;

let pristine: Saved[] | null = null;

/** Record the properties as they are now: called once by the prelude, before any tenant code. */
export function recordPristine(): void {
  if (pristine !== null) return;
  const list: Saved[] = [];
  for (const k of PROTOTYPE_KEYS)
    list.push([Promise.prototype, k, getOwnPropertyDescriptor(Promise.prototype, k)]);
  for (const k of STATIC_KEYS) list.push([Promise, k, getOwnPropertyDescriptor(Promise, k)]);
  pristine = list;
}

function same(a: PropertyDescriptor | undefined, b: PropertyDescriptor | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  // Own keys of descriptors Reflect made: no getter of Object.prototype is consulted.
  return (
    a.value === b.value &&
    a.get === b.get &&
    a.set === b.set &&
    a.writable === b.writable &&
    a.enumerable === b.enumerable &&
    a.configurable === b.configurable
  );
}

/** Define `d` on `o` (or remove `k` when undefined); false when `o` refuses. */
function put(o: object, k: PropertyKey, d: PropertyDescriptor | undefined): boolean {
  if (d === undefined) return deleteProperty(o, k);
  const copy: PropertyDescriptor = { __proto__: null } as PropertyDescriptor;
  if (hasOwn(d, 'value')) copy.value = d.value;
  if (hasOwn(d, 'writable')) copy.writable = d.writable;
  if (hasOwn(d, 'get')) copy.get = d.get;
  if (hasOwn(d, 'set')) copy.set = d.set;
  copy.enumerable = d.enumerable;
  copy.configurable = d.configurable;
  return defineProperty(o, k, copy);
}

/** Run `load` with Promise's methods as recorded, the current ones put back after. */
export function withPristinePromise<T>(what: string, load: () => T): T {
  const swapped: Saved[] = [];
  const restore = () => {
    for (let i = swapped.length - 1; i >= 0; i--) put(swapped[i][0], swapped[i][1], swapped[i][2]);
  };
  // Index loops and element reads: an array iterator or a destructuring would run code tenant
  // code can replace (%ArrayIteratorPrototype%.next).
  const list = pristine ?? [];
  for (let i = 0; i < list.length; i++) {
    const o = list[i][0];
    const k = list[i][1];
    const d = list[i][2];
    const now = getOwnPropertyDescriptor(o, k);
    if (same(now, d)) continue;
    if (!put(o, k, d)) {
      restore();
      const owner = o === Promise ? 'Promise' : 'Promise.prototype';
      throw new TypeError(
        `${what} cannot load: the worker made ${owner}.${String(k)} unchangeable, and it would capture the worker's version`,
      );
    }
    swapped[swapped.length] = [o, k, now];
  }
  try {
    return apply(load, undefined, []);
  } finally {
    restore();
  }
}
