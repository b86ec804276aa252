/**
 * URL and URLSearchParams (https://url.spec.whatwg.org/). Parsing and setters are delegated to
 * the host's WHATWG-conformant parser through a synchronous syscall: a hand-written parser (or
 * whatwg-url's 400 KB of tables) in every isolate would cost far more than a ~5 µs call. The
 * common URLs whose parse is their own text are parsed here (url-fast.ts): the call's CPU is
 * small, but it stops this thread until the host's main thread takes it up.
 */
import { host } from './bridge.ts';
import { utf8Decode, utf8Encode } from './encoding.ts';
import { fastParse } from './url-fast.ts';

/** Parsed components, or null for an invalid URL. */
function parse(url: unknown, base: unknown): string[] | null {
  const u = String(url);
  const b = base === undefined ? undefined : String(base);
  return fastParse(u, b) ?? host.urlParse(u, b);
}

// Order of the component tuple returned by the host (see src/runtime/bridge/syscalls.ts).
const HREF = 0,
  ORIGIN = 1,
  PROTOCOL = 2,
  USERNAME = 3,
  PASSWORD = 4,
  HOST = 5,
  HOSTNAME = 6,
  PORT = 7,
  PATHNAME = 8,
  SEARCH = 9,
  HASH = 10;

const kUpdate = Symbol('update');
const kParts = Symbol('parts');

export class URL {
  [kParts]: string[];
  #params: URLSearchParams | null = null;
  constructor(url: unknown, base?: unknown) {
    if (arguments.length === 0)
      throw new TypeError("Failed to construct 'URL': 1 argument required, but only 0 present.");
    const parts = parse(url, base);
    if (!parts) throw new TypeError(`Invalid URL: ${String(url)}`);
    this[kParts] = parts;
  }
  static canParse(url: unknown, base?: unknown): boolean {
    return parse(url, base) !== null;
  }
  static parse(url: unknown, base?: unknown): URL | null {
    return URL.canParse(url, base) ? new URL(url, base) : null;
  }
  #set(prop: string, value: unknown) {
    this[kParts] = host.urlSet(this[kParts][HREF], prop, String(value));
    if (prop === 'search' || prop === 'href') this.#params?.[kUpdate](this[kParts][SEARCH]);
  }
  get href() {
    return this[kParts][HREF];
  }
  set href(v) {
    this.#set('href', v);
  }
  get origin() {
    return this[kParts][ORIGIN];
  }
  get protocol() {
    return this[kParts][PROTOCOL];
  }
  set protocol(v) {
    this.#set('protocol', v);
  }
  get username() {
    return this[kParts][USERNAME];
  }
  set username(v) {
    this.#set('username', v);
  }
  get password() {
    return this[kParts][PASSWORD];
  }
  set password(v) {
    this.#set('password', v);
  }
  get host() {
    return this[kParts][HOST];
  }
  set host(v) {
    this.#set('host', v);
  }
  get hostname() {
    return this[kParts][HOSTNAME];
  }
  set hostname(v) {
    this.#set('hostname', v);
  }
  get port() {
    return this[kParts][PORT];
  }
  set port(v) {
    this.#set('port', v);
  }
  get pathname() {
    return this[kParts][PATHNAME];
  }
  set pathname(v) {
    this.#set('pathname', v);
  }
  get search() {
    return this[kParts][SEARCH];
  }
  set search(v) {
    this.#set('search', v);
  }
  get hash() {
    return this[kParts][HASH];
  }
  set hash(v) {
    this.#set('hash', v);
  }
  get searchParams(): URLSearchParams {
    if (!this.#params) {
      this.#params = new URLSearchParams(this.search);
      this.#params[kOwner] = (query: string) => {
        this[kParts] = host.urlSet(this[kParts][HREF], 'search', query);
      };
    }
    return this.#params;
  }
  toString() {
    return this.href;
  }
  toJSON() {
    return this.href;
  }
  get [Symbol.toStringTag]() {
    return 'URL';
  }
}

const kOwner = Symbol('owner');
const kList = Symbol('list');

function formDecode(s: string): string {
  const bytes = utf8Encode(s.replace(/\+/g, ' '));
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (bytes[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(bytes[i]);
  }
  return utf8Decode(new Uint8Array(out), false);
}

function formEncode(s: string): string {
  let out = '';
  for (const b of utf8Encode(s)) {
    if (b === 0x20) out += '+';
    else if (
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x2a ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x5f
    ) {
      out += String.fromCharCode(b);
    } else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export class URLSearchParams {
  [kList]: [string, string][] = [];
  [kOwner]: ((q: string) => void) | null = null;
  constructor(init: unknown = '') {
    if (typeof init === 'object' && init !== null) {
      if (init instanceof URLSearchParams) this[kList] = init[kList].map(([k, v]) => [k, v]);
      else if (typeof (init as any)[Symbol.iterator] === 'function') {
        for (const pair of init as Iterable<unknown>) {
          const p = [...(pair as Iterable<unknown>)];
          if (p.length !== 2)
            throw new TypeError(
              "Failed to construct 'URLSearchParams': Each query pair must be an iterable [name, value] tuple",
            );
          this[kList].push([String(p[0]), String(p[1])]);
        }
      } else for (const [k, v] of Object.entries(init)) this[kList].push([k, String(v)]);
    } else this[kUpdate](String(init));
  }
  [kUpdate](query: string) {
    const s = query.startsWith('?') ? query.slice(1) : query;
    this[kList] = [];
    for (const part of s.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      this[kList].push(
        eq < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))],
      );
    }
  }
  #changed() {
    this[kOwner]?.(this.toString());
  }
  get size() {
    return this[kList].length;
  }
  append(name: string, value: string) {
    this[kList].push([String(name), String(value)]);
    this.#changed();
  }
  delete(name: string, value?: string) {
    this[kList] = this[kList].filter(
      ([k, v]) => k !== String(name) || (value !== undefined && v !== String(value)),
    );
    this.#changed();
  }
  get(name: string) {
    return this[kList].find(([k]) => k === String(name))?.[1] ?? null;
  }
  getAll(name: string) {
    return this[kList].filter(([k]) => k === String(name)).map(([, v]) => v);
  }
  has(name: string, value?: string) {
    return this[kList].some(([k, v]) => k === String(name) && (value === undefined || v === String(value)));
  }
  set(name: string, value: string) {
    const n = String(name);
    const i = this[kList].findIndex(([k]) => k === n);
    if (i < 0) this[kList].push([n, String(value)]);
    else {
      this[kList][i] = [n, String(value)];
      this[kList] = this[kList].filter(([k], j) => k !== n || j <= i);
    }
    this.#changed();
  }
  sort() {
    this[kList].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#changed();
  }
  forEach(cb: (value: string, key: string, self: URLSearchParams) => void, thisArg?: unknown) {
    for (const [k, v] of this[kList]) cb.call(thisArg, v, k, this);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const [k, v] of this[kList]) yield [k, v];
  }
  *keys() {
    for (const [k] of this[kList]) yield k;
  }
  *values() {
    for (const [, v] of this[kList]) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return this[kList].map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
  }
  get [Symbol.toStringTag]() {
    return 'URLSearchParams';
  }
}
