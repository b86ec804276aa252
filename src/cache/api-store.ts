/**
 * The store behind the Workers Cache API (`caches.default`, `caches.open(name)`) for now: one
 * per PoP, in memory, shared by its tenants, each with a byte budget and an LRU of its own
 * (a tenant's writes evict only its own least recently used entries). It applies
 * Cloudflare's put() rules (https://developers.cloudflare.com/workers/runtime-apis/cache/):
 * Cache-Control (no-store, private, s-maxage, max-age), Expires, Set-Cookie never cached
 * unless `private=Set-Cookie`, and the Edge TTL defaults by status when no freshness is given.
 *
 * Purges reach it through the PurgeBus (a worker's purge: its own caches; an operator's: all).
 * Deliberately not here: revalidation, stale serving, Vary, Range and disk storage — the
 * Cache API stores what a worker put, as Cloudflare's per-data-center cache does.
 */

import { type CacheFigures, LookupCounts } from './lookup-counts.ts';
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
  /**
   * Bytes of bodies and headers one tenant keeps (default 32 MiB): past it, that tenant's least
   * recently used entries go. Tenants never evict each other's entries: each has a budget and an
   * LRU of its own, so the store holds at most (tenants at this PoP) × tenantMaxBytes.
   */
  tenantMaxBytes?: number;
  now?: () => number;
}

/** One tenant's share of the store: its entries, least recently used first, and their bytes. */
interface Partition {
  entries: Map<string, StoredResponse>;
  bytes: number;
}

/**
 * The tenant a namespace belongs to: the part before its first NUL. The runtime names Cache API
 * namespaces `<tenant>\0<cache name>` (src/runtime/bridge/cache.ts), so `caches.open()` with any
 * name stays inside its tenant's budget.
 */
export function tenantOf(namespace: string): string {
  const i = namespace.indexOf('\0');
  return i < 0 ? namespace : namespace.slice(0, i);
}

export class ApiCacheStore {
  readonly #tenants = new Map<string, Partition>();
  /** How `match` answered (the dashboard's Cache view). */
  readonly lookups = new LookupCounts();
  #bytes = 0;
  #count = 0;
  readonly tenantMaxBytes: number;
  #now: () => number;

  constructor(options: ApiCacheStoreOptions = {}) {
    this.tenantMaxBytes = options.tenantMaxBytes ?? 32 * 1024 * 1024;
    if (!Number.isSafeInteger(this.tenantMaxBytes) || this.tenantMaxBytes <= 0)
      throw new RangeError(
        `ApiCacheStore: tenantMaxBytes must be a positive integer, received ${options.tenantMaxBytes}`,
      );
    this.#now = options.now ?? Date.now;
  }

  static key(namespace: string, url: string): string {
    return `${namespace}\0${url}`;
  }

  /**
   * Store a response; returns false when its headers say it must not be stored, or when it is
   * larger than a tenant's whole budget. Room is made by evicting the writer's own least
   * recently used entries, never another tenant's.
   */
  put(namespace: string, url: string, r: Omit<StoredResponse, 'storedAt' | 'expiresAt' | 'tags'>): boolean {
    const now = this.#now();
    const ttl = ttlFor(r.status, r.headers, now);
    const key = ApiCacheStore.key(namespace, url);
    const tenant = tenantOf(namespace);
    this.#remove(tenant, key);
    if (ttl <= 0) return false;
    const size = sizeOf(r);
    if (size > this.tenantMaxBytes) return false;
    const tags = header(r.headers, 'cache-tag')
      .flatMap((v) => v.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    let p = this.#tenants.get(tenant);
    if (!p) this.#tenants.set(tenant, (p = { entries: new Map(), bytes: 0 }));
    for (const k of p.entries.keys()) {
      if (p.bytes + size <= this.tenantMaxBytes) break;
      this.#remove(tenant, k);
    }
    p.entries.set(key, { ...r, storedAt: now, expiresAt: now + ttl * 1000, tags });
    p.bytes += size;
    this.#bytes += size;
    this.#count++;
    // A partition emptied by its own evictions was dropped; the write makes it again.
    if (!this.#tenants.has(tenant)) this.#tenants.set(tenant, p);
    return true;
  }

  match(namespace: string, url: string): StoredResponse | undefined {
    const key = ApiCacheStore.key(namespace, url);
    const tenant = tenantOf(namespace);
    const p = this.#tenants.get(tenant);
    const e = p?.entries.get(key);
    if (!p || !e) {
      this.lookups.record(url, 'MISS');
      return undefined;
    }
    if (e.expiresAt <= this.#now()) {
      this.#remove(tenant, key);
      this.lookups.record(url, 'EXPIRED');
      return undefined;
    }
    this.lookups.record(url, 'HIT');
    // Most recently used last (Map keeps insertion order).
    p.entries.delete(key);
    p.entries.set(key, e);
    return e;
  }

  delete(namespace: string, url: string): boolean {
    return this.#remove(tenantOf(namespace), ApiCacheStore.key(namespace, url));
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
    const tenants = sel.namespace ? [tenantOf(sel.namespace)] : [...this.#tenants.keys()];
    let n = 0;
    for (const tenant of tenants) {
      const p = this.#tenants.get(tenant);
      if (!p) continue;
      for (const [key, e] of [...p.entries]) {
        if (!key.startsWith(scope)) continue;
        const url = key.slice(key.lastIndexOf('\0') + 1);
        const hit =
          sel.everything ||
          sel.urls?.includes(url) ||
          sel.prefixes?.some((pre) => url.startsWith(pre)) ||
          sel.paths?.some((pre) => pathname(url).startsWith(pre)) ||
          sel.tags?.some((t) => e.tags.includes(t));
        if (hit && this.#remove(tenant, key)) n++;
      }
    }
    return n;
  }

  /** What it holds and how `match` answered (the dashboard's Cache view). */
  async cacheStats(limit = 10): Promise<CacheFigures> {
    const tags = new Map<string, number>();
    for (const p of this.#tenants.values())
      for (const e of p.entries.values())
        for (const t of new Set(e.tags)) tags.set(t, (tags.get(t) ?? 0) + 1);
    return {
      entries: this.#count,
      bytes: this.#bytes,
      lookups: { ...this.lookups.byStatus },
      hitRatio: this.lookups.hitRatio,
      topKeys: this.lookups.top(limit),
      tags: [...tags].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit),
    };
  }

  /** Bytes held by every tenant together. */
  get bytes(): number {
    return this.#bytes;
  }
  /** Bytes one tenant holds (at most tenantMaxBytes). */
  bytesOf(tenant: string): number {
    return this.#tenants.get(tenant)?.bytes ?? 0;
  }
  get size(): number {
    return this.#count;
  }

  #remove(tenant: string, key: string): boolean {
    const p = this.#tenants.get(tenant);
    const e = p?.entries.get(key);
    if (!p || !e) return false;
    const size = sizeOf(e);
    p.bytes -= size;
    this.#bytes -= size;
    this.#count--;
    p.entries.delete(key);
    if (p.entries.size === 0) this.#tenants.delete(tenant);
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
