/**
 * Headers (https://fetch.spec.whatwg.org/#headers-class). Names are stored lower-cased;
 * iteration is sorted and combines values with ", " except Set-Cookie, which `getSetCookie()`
 * and iteration return one by one, as in Workers.
 */
export const kList = Symbol('list');
export const kGuard = Symbol('guard');

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Invalid header name: "${name}"`);
  return name.toLowerCase();
}
function normalizeValue(value: unknown): string {
  const v = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(v)) throw new TypeError(`Invalid header value: "${v}"`);
  return v;
}

export type Guard = 'none' | 'immutable';

/** Fields (names and values) up to which #sorted() sorts by insertion. */
const SORT_IN_PLACE = 64;

/**
 * The fields are one flat list, name then value (`[name, value, name, value, ...]`), the form
 * the host sends and takes: a request's headers become a Headers with one copy, and every
 * operation is a plain loop over it, with no array per field, no destructuring iterator and no
 * callback, so a request's header work leaves little garbage in the isolate.
 */
export class Headers {
  [kList]: string[] = [];
  [kGuard]: Guard = 'none';
  constructor(init?: unknown) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      this[kList] = init[kList].slice();
    } else if (typeof init === 'object' && typeof (init as any)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<unknown>) {
        const p = typeof pair === 'string' ? [pair] : [...(pair as Iterable<unknown>)];
        if (p.length !== 2)
          throw new TypeError(
            "Failed to construct 'Headers': Each header pair must be an iterable [name, value] tuple",
          );
        this.append(String(p[0]), p[1] as string);
      }
    } else if (typeof init === 'object') {
      const keys = Object.keys(init);
      for (let i = 0; i < keys.length; i++) this.append(keys[i], (init as any)[keys[i]]);
    } else
      throw new TypeError(
        "Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.",
      );
  }
  /** Trusted fast path for headers the host already validated: a flat [name, value, ...] list. */
  static fromFlat(flat: string[], guard: Guard = 'none'): Headers {
    const h = new Headers();
    h[kList] = flat.slice();
    h[kGuard] = guard;
    return h;
  }
  #mutable() {
    if (this[kGuard] === 'immutable') throw new TypeError("Can't modify immutable headers.");
  }
  append(name: string, value: string) {
    this.#mutable();
    this[kList].push(checkName(String(name)), normalizeValue(value));
  }
  delete(name: string) {
    this.#mutable();
    const n = checkName(String(name));
    const list = this[kList];
    let to = 0;
    for (let i = 0; i < list.length; i += 2)
      if (list[i] !== n) {
        list[to++] = list[i];
        list[to++] = list[i + 1];
      }
    list.length = to;
  }
  get(name: string): string | null {
    const n = checkName(String(name));
    const list = this[kList];
    let out: string | null = null;
    for (let i = 0; i < list.length; i += 2)
      if (list[i] === n) out = out === null ? list[i + 1] : `${out}, ${list[i + 1]}`;
    return out;
  }
  getAll(name: string): string[] {
    const n = checkName(String(name));
    if (n !== 'set-cookie')
      throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
    return this.getSetCookie();
  }
  getSetCookie(): string[] {
    const list = this[kList];
    const out: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] === 'set-cookie') out.push(list[i + 1]);
    return out;
  }
  has(name: string): boolean {
    const n = checkName(String(name));
    const list = this[kList];
    for (let i = 0; i < list.length; i += 2) if (list[i] === n) return true;
    return false;
  }
  set(name: string, value: string) {
    this.#mutable();
    const n = checkName(String(name));
    const v = normalizeValue(value);
    const list = this[kList];
    let first = -1;
    let to = 0;
    // The first field of that name takes the value where it stands; later ones go.
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === n) {
        if (first >= 0) continue;
        first = to;
      }
      list[to++] = list[i];
      list[to++] = list[i + 1];
    }
    list.length = to;
    if (first < 0) list.push(n, v);
    else list[first + 1] = v;
  }
  /** Sorted by name (a stable sort keeps each name's values in order), repeats combined. */
  #sorted(): [string, string][] {
    const flat = this[kList];
    const out: [string, string][] = [];
    // Positions of the names in order. A request's few dozen fields are sorted in place by
    // insertion (no pair per field before combining, no comparator call); longer lists by the
    // builtin sort, whose cost does not grow with the square of their length.
    const order: number[] = [];
    if (flat.length <= SORT_IN_PLACE) {
      for (let i = 0; i < flat.length; i += 2) {
        const k = flat[i];
        let j = order.length;
        // Strictly greater moves: a name's values keep their order.
        while (j > 0 && flat[order[j - 1]] > k) {
          order[j] = order[j - 1];
          j--;
        }
        order[j] = i;
      }
    } else {
      for (let i = 0; i < flat.length; i += 2) order.push(i);
      order.sort((a, b) => (flat[a] < flat[b] ? -1 : flat[a] > flat[b] ? 1 : a - b));
    }
    for (let x = 0; x < order.length; x++) {
      const i = order[x];
      const k = flat[i];
      const last = out.length > 0 ? out[out.length - 1] : null;
      if (last !== null && last[0] === k && k !== 'set-cookie') last[1] = `${last[1]}, ${flat[i + 1]}`;
      else out.push([k, flat[i + 1]]);
    }
    return out;
  }
  forEach(cb: (value: string, key: string, self: Headers) => void, thisArg?: unknown) {
    for (const [k, v] of this.#sorted()) cb.call(thisArg, v, k, this);
  }
  entries(): IterableIterator<[string, string]> {
    return this.#sorted().values();
  }
  keys(): IterableIterator<string> {
    return this.#sorted()
      .map(([k]) => k)
      .values();
  }
  values(): IterableIterator<string> {
    return this.#sorted()
      .map(([, v]) => v)
      .values();
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return 'Headers';
  }
}

const setPrototypeOf = Object.setPrototypeOf;

/**
 * Flatten for the host: [name, value, name, value, ...] in insertion order, a copy no tenant
 * code can reach or change once made: no prototype (so no species constructor, index setter
 * or `then` of the tenant's sees it), filled by index, strings only. Such a list may wait to cross with
 * other calls (bridge.ts, `unsharedPrimitives`).
 */
export function flattenHeaders(h: Headers): string[] {
  const list = h[kList];
  const n = list.length;
  const out: string[] = setPrototypeOf([], null);
  for (let i = 0; i < n; i++) {
    // Strings already, unless tenant code forged the list: then made strings here, once.
    const v = list[i];
    out[i] = typeof v === 'string' ? v : String(v);
  }
  return out;
}
