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

const byName = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export class Headers {
  [kList]: [string, string][] = [];
  [kGuard]: Guard = 'none';
  constructor(init?: unknown) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      this[kList] = init[kList].map(([k, v]) => [k, v]);
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
      for (const k of Object.keys(init)) this.append(k, (init as any)[k]);
    } else
      throw new TypeError(
        "Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.",
      );
  }
  /** Trusted fast path for headers the host already validated: a flat [name, value, ...] list. */
  static fromFlat(flat: string[], guard: Guard = 'none'): Headers {
    const h = new Headers();
    for (let i = 0; i < flat.length; i += 2) h[kList].push([flat[i], flat[i + 1]]);
    h[kGuard] = guard;
    return h;
  }
  #mutable() {
    if (this[kGuard] === 'immutable') throw new TypeError("Can't modify immutable headers.");
  }
  append(name: string, value: string) {
    this.#mutable();
    this[kList].push([checkName(String(name)), normalizeValue(value)]);
  }
  delete(name: string) {
    this.#mutable();
    const n = checkName(String(name));
    this[kList] = this[kList].filter(([k]) => k !== n);
  }
  get(name: string): string | null {
    const n = checkName(String(name));
    let out: string | null = null;
    for (const [k, v] of this[kList]) if (k === n) out = out === null ? v : `${out}, ${v}`;
    return out;
  }
  getAll(name: string): string[] {
    const n = checkName(String(name));
    if (n !== 'set-cookie')
      throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
    return this.getSetCookie();
  }
  getSetCookie(): string[] {
    return this[kList].filter(([k]) => k === 'set-cookie').map(([, v]) => v);
  }
  has(name: string): boolean {
    const n = checkName(String(name));
    return this[kList].some(([k]) => k === n);
  }
  set(name: string, value: string) {
    this.#mutable();
    const n = checkName(String(name));
    const v = normalizeValue(value);
    const i = this[kList].findIndex(([k]) => k === n);
    if (i < 0) this[kList].push([n, v]);
    else {
      this[kList][i] = [n, v];
      this[kList] = this[kList].filter(([k], j) => k !== n || j <= i);
    }
  }
  /** Sorted by name (a stable sort keeps each name's values in order), repeats combined. */
  #sorted(): [string, string][] {
    const list = this[kList].slice().sort(byName);
    const out: [string, string][] = [];
    for (let i = 0; i < list.length; i++) {
      const [k, v] = list[i];
      const last = out.length > 0 ? out[out.length - 1] : null;
      if (last !== null && last[0] === k && k !== 'set-cookie') last[1] = `${last[1]}, ${v}`;
      else out.push([k, v]);
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

/** Flatten for the host: [name, value, name, value, ...] in insertion order. */
export function flattenHeaders(h: Headers): string[] {
  const out: string[] = [];
  for (const [k, v] of h[kList]) out.push(k, v);
  return out;
}
