/**
 * The Early Hints a PoP remembers: per key, the Link values of the last eligible final response
 * (eligibility.ts), sent as a 103 on the next request of that key before the worker or origin
 * has answered (RFC 8297 §2: the 103 carries fields the final response is expected to have).
 *
 * Keys follow Cloudflare (https://developers.cloudflare.com/cache/advanced-configuration/early-hints/):
 * "keyed by request URI and ignore query strings". `hintsKey` is the method, the origin and the
 * path (the URL parser's normalized form: no query, no fragment, default port dropped, host
 * lower-case). A route-derived key (a router's pattern instead of the path) is any other string
 * the caller passes; the cache does not read keys.
 *
 * Replacement: `remember(key, links)` replaces what the key held; an empty list forgets it, so a
 * later 200 without hints drops stale ones. Each eligible response refreshes the entry's TTL.
 *
 * Bounds (Cloudflare documents none of these):
 *   ttlMs          1 day. Hints outlive a deploy at most this long when nothing re-requests the
 *                  page; any eligible response replaces them sooner.
 *   maxEntryBytes  8 KiB of Link values per entry (values plus the ", " joining them, as
 *                  `writeEarlyHints` sends them in one field): a common per-field limit of
 *                  servers and proxies. Values past the cap are cut (the first ones are kept:
 *                  pages list their most important hints first); a single value over it is
 *                  not kept at all.
 *   maxEntries     10,000, and maxBytes 8 MiB (keys + values) for the whole cache: the least
 *                  recently used entries go first, whichever bound is passed.
 * `now` is injectable for tests.
 */

export interface EarlyHintsCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  maxEntryBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

export const EARLY_HINTS_CACHE_DEFAULTS = {
  maxEntries: 10_000,
  maxBytes: 8 * 1024 * 1024,
  maxEntryBytes: 8 * 1024,
  ttlMs: 24 * 60 * 60 * 1000,
} as const;

interface Entry {
  links: string[];
  bytes: number;
  expires: number;
}

/** Separator `writeEarlyHints` joins a list of Link values with. */
const JOIN_BYTES = 2;

/**
 * The key of a request's hints: method, origin and path; query and fragment ignored.
 * Undefined when `url` is not an absolute URL.
 */
export function hintsKey(url: string | URL, method = 'GET'): string | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  if (u.origin === 'null') return undefined;
  return `${method} ${u.origin}${u.pathname}`;
}

export class EarlyHintsCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private total = 0;

  constructor(options: EarlyHintsCacheOptions = {}) {
    const d = EARLY_HINTS_CACHE_DEFAULTS;
    this.maxEntries = positive('maxEntries', options.maxEntries ?? d.maxEntries);
    this.maxBytes = positive('maxBytes', options.maxBytes ?? d.maxBytes);
    this.maxEntryBytes = positive('maxEntryBytes', options.maxEntryBytes ?? d.maxEntryBytes);
    this.ttlMs = positive('ttlMs', options.ttlMs ?? d.ttlMs);
    this.now = options.now ?? Date.now;
  }

  /** The key of a request's hints (`hintsKey`). */
  keyOf(url: string | URL, method = 'GET'): string | undefined {
    return hintsKey(url, method);
  }

  /** Entries held (expired ones not yet noticed included). */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held: keys plus Link values. */
  get bytes(): number {
    return this.total;
  }

  /**
   * Replace the hints of `key` with `links` (duplicates dropped, cut to `maxEntryBytes`); an
   * empty list, or one of which nothing fits, forgets the key.
   */
  remember(key: string, links: readonly string[]): void {
    this.delete(key);
    const kept: string[] = [];
    let linkBytes = 0;
    for (const link of new Set(links)) {
      const b = Buffer.byteLength(link) + (kept.length > 0 ? JOIN_BYTES : 0);
      if (linkBytes + b > this.maxEntryBytes) break;
      kept.push(link);
      linkBytes += b;
    }
    if (kept.length === 0) return;
    const bytes = Buffer.byteLength(key) + linkBytes;
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { links: kept, bytes, expires: this.now() + this.ttlMs });
    this.total += bytes;
    this.evict();
  }

  /** The hints of `key` (a copy), or undefined when there are none or they have expired. */
  lookup(key: string): string[] | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      this.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return [...e.links];
  }

  delete(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    this.total -= e.bytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0))
    throw new RangeError(`EarlyHintsCache: ${name} must be a positive number`);
  return v;
}
