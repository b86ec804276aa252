/**
 * The store behind the Workers Cache API (`caches.default`, `caches.open(name)`) for now: one
 * per PoP, in memory, least-recently-used entries evicted past a byte budget. It applies
 * Cloudflare's put() rules (https://developers.cloudflare.com/workers/runtime-apis/cache/):
 * Cache-Control (no-store, private, s-maxage, max-age), Expires, Set-Cookie never cached
 * unless `private=Set-Cookie`, and the Edge TTL defaults by status when no freshness is given.
 *
 * Purges reach it through the PurgeBus (a worker's purge: its own caches; an operator's: all).
 * Deliberately not here: revalidation, stale serving, Vary, Range and disk storage — the
 * Cache API stores what a worker put, as Cloudflare's per-data-center cache does.
 */
import { parseCacheControl } from './semantics/index.ts';

export interface StoredResponse {
  status: number;
  statusText: string;
  /** Flat [name, value, ...], names lower-case. */
  headers: string[];
  body: Uint8Array;
  storedAt: number;
  expiresAt: number;
  tags: string[];
}

/** Edge TTL when a response has no Cache-Control/Expires (Cloudflare's defaults), seconds. */
const DEFAULT_TTL: Record<number, number> = {
  200: 7200,
  203: 7200,
  206: 7200,
  300: 7200,
  301: 7200,
  302: 1200,
  303: 1200,
  404: 180,
  410: 180,
};

function header(headers: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) out.push(headers[i + 1]);
  return out;
}

/** How long a response put() into the cache stays, in seconds; 0 = not stored. */
export function ttlFor(status: number, headers: string[], now: number): number {
  const cc = parseCacheControl(header(headers, 'cache-control'));
  if (cc.noStore || cc.private) return 0;
  if (header(headers, 'set-cookie').length > 0 && !cc.privateFields.includes('set-cookie')) return 0;
  if (cc.sMaxage !== undefined) return cc.sMaxage;
  if (cc.maxAge !== undefined) return cc.maxAge;
  const expires = header(headers, 'expires')[0];
  if (expires !== undefined) {
    const at = Date.parse(expires);
    return Number.isNaN(at) ? 0 : Math.max(0, Math.floor((at - now) / 1000));
  }
  return DEFAULT_TTL[status] ?? 0;
}

export interface ApiCacheStoreOptions {
  /** Bytes of bodies and headers kept before the least recently used go (default 64 MiB). */
  maxBytes?: number;
  now?: () => number;
}

export class ApiCacheStore {
  #entries = new Map<string, StoredResponse>();
  #bytes = 0;
  readonly maxBytes: number;
  #now: () => number;

  constructor(options: ApiCacheStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes <= 0)
      throw new RangeError(
        `ApiCacheStore: maxBytes must be a positive integer, received ${options.maxBytes}`,
      );
    this.#now = options.now ?? Date.now;
  }

  static key(namespace: string, url: string): string {
    return `${namespace}\0${url}`;
  }

  /** Store a response; returns false when its headers say it must not be stored. */
  put(namespace: string, url: string, r: Omit<StoredResponse, 'storedAt' | 'expiresAt' | 'tags'>): boolean {
    const now = this.#now();
    const ttl = ttlFor(r.status, r.headers, now);
    const key = ApiCacheStore.key(namespace, url);
    this.#remove(key);
    if (ttl <= 0) return false;
    const size = sizeOf(r);
    if (size > this.maxBytes) return false;
    const tags = header(r.headers, 'cache-tag')
      .flatMap((v) => v.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    this.#entries.set(key, { ...r, storedAt: now, expiresAt: now + ttl * 1000, tags });
    this.#bytes += size;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#bytes -= sizeOf(e);
      this.#entries.delete(k);
    }
    return true;
  }

  match(namespace: string, url: string): StoredResponse | undefined {
    const key = ApiCacheStore.key(namespace, url);
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.#now()) {
      this.#remove(key);
      return undefined;
    }
    // Most recently used last (Map keeps insertion order).
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  delete(namespace: string, url: string): boolean {
    return this.#remove(ApiCacheStore.key(namespace, url));
  }

  /**
   * Purge (src/cache/purge.ts): a namespace prefix limits it to one tenant's caches; then
   * everything, or entries whose URL starts with a prefix, whose path starts with a path prefix
   * or that carry a tag. Returns how many went.
   */
  purge(sel: {
    namespace?: string;
    everything?: boolean;
    urls?: string[];
    prefixes?: string[];
    paths?: string[];
    tags?: string[];
  }): number {
    const scope = sel.namespace ? `${sel.namespace}\0` : '';
    let n = 0;
    for (const [key, e] of [...this.#entries]) {
      if (!key.startsWith(scope)) continue;
      const url = key.slice(key.lastIndexOf('\0') + 1);
      const hit =
        sel.everything ||
        sel.urls?.includes(url) ||
        sel.prefixes?.some((p) => url.startsWith(p)) ||
        sel.paths?.some((p) => pathname(url).startsWith(p)) ||
        sel.tags?.some((t) => e.tags.includes(t));
      if (hit && this.#remove(key)) n++;
    }
    return n;
  }

  get bytes(): number {
    return this.#bytes;
  }
  get size(): number {
    return this.#entries.size;
  }

  #remove(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e) return false;
    this.#bytes -= sizeOf(e);
    this.#entries.delete(key);
    return true;
  }
}

function pathname(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

function sizeOf(r: { headers: string[]; body: Uint8Array }): number {
  let n = r.body.byteLength + 64;
  for (const h of r.headers) n += h.length;
  return n;
}
