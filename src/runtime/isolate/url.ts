/**
 * URL and URLSearchParams (https://url.spec.whatwg.org/). Parsing and setters are delegated to
 * the host's WHATWG-conformant parser through a synchronous syscall: a hand-written parser (or
 * whatwg-url's 400 KB of tables) in every isolate would cost far more than a ~5 µs call. The
 * common URLs whose parse is their own text are parsed here (url-fast.ts): the call's CPU is
 * small, but it stops this thread until the host's main thread takes it up.
 */
import { host } from './bridge.ts';
import { bytesView, utf8Decode, utf8Encode } from './encoding.ts';
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

/** A hex digit's value, or -1 (also for a byte past the end). */
function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * application/x-www-form-urlencoded's percent-decoding of a name or value, `+` as a space. A
 * string with no `%`, `+` or surrogate (most of them) is its own decoding and is returned as it
 * is; otherwise its UTF-8 bytes are decoded.
 */
function formDecode(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c === 0x2b || (c >= 0xd800 && c <= 0xdfff)) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = utf8Encode(s);
  const out = new Uint8Array(bytes.length);
  let p = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x2b) {
      out[p++] = 0x20;
      continue;
    }
    if (b === 0x25) {
      const hi = hexValue(bytes[i + 1]);
      const lo = hexValue(bytes[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[p++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[p++] = b;
  }
  return utf8Decode(p === out.length ? out : bytesView(out, 0, p), false);
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
  // Loops, not callbacks with destructured pairs: each destructuring is an iterator, and a
  // request that reads its query goes through here.
  get(name: string) {
    const n = String(name);
    const list = this[kList];
    for (let i = 0; i < list.length; i++) if (list[i][0] === n) return list[i][1];
    return null;
  }
  getAll(name: string) {
    const n = String(name);
    const list = this[kList];
    const out: string[] = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] === n) out.push(list[i][1]);
    return out;
  }
  has(name: string, value?: string) {
    const n = String(name);
    const v = value === undefined ? undefined : String(value);
    const list = this[kList];
    for (let i = 0; i < list.length; i++)
      if (list[i][0] === n && (v === undefined || list[i][1] === v)) return true;
    return false;
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
