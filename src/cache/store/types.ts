/**
 * The `CacheStore` interface: where cached responses live. Semantics (what to store, for how
 * long, what matches) are decided in src/cache/semantics/; a store only keeps entries, finds
 * them by key, evicts under its byte budget and purges. Every implementation passes the one
 * conformance suite (conformance.ts).
 */

export interface EntryMeta {
  /** Primary cache key (method and URL, see cacheKey). */
  key: string;
  /** Serialized secondary key from Vary ('' when the response has no Vary). */
  variant: string;
  url: string;
  status: number;
  statusText: string;
  /** Flat [name, value, ...], names lower-case. */
  headers: string[];
  /** The request's headers the Vary named (to match later requests). */
  vary: Record<string, string | null>;
  /** When the request that produced it was sent / its response received (ms, RFC 9111 §4.2.3). */
  requestTime: number;
  responseTime: number;
  /** Purge tags (Cache-Tag, Surrogate-Key). */
  tags: string[];
  /** A cache policy's overrides of the headers' freshness (src/cache/policy.ts), if any. */
  edge?: EdgeOverride;
}

/** Edge TTL and stale windows (seconds) a policy fixed when the entry was stored. */
export interface EdgeOverride {
  ttl?: number;
  swr?: number;
  sie?: number;
}

export interface StoredEntry extends EntryMeta {
  body: Uint8Array;
}

export interface CacheStore {
  /** Every stored variant for a primary key (most recently stored first). */
  get(key: string): Promise<StoredEntry[]>;
  /** Store (or replace) one variant; false when it does not fit the budget. */
  put(meta: EntryMeta, body: Uint8Array): Promise<boolean>;
  /** Replace a stored variant's headers and times after a 304 (RFC 9111 §4.3.4). */
  update(
    key: string,
    variant: string,
    changes: Pick<EntryMeta, 'headers' | 'requestTime' | 'responseTime'>,
  ): Promise<boolean>;
  /** Remove every variant of a key; true when something was removed. */
  delete(key: string): Promise<boolean>;
  /** Purge by URL prefix, by tag, or everything; returns how many entries went. */
  purgePrefix(urlPrefix: string): Promise<number>;
  purgeTag(tag: string): Promise<number>;
  /** Purge the entries whose URL starts with `urlPrefix` and passes `test` (e.g. a path prefix on any host). */
  purgeMatching(urlPrefix: string, test: (url: string) => boolean): Promise<number>;
  clear(): Promise<number>;
  /** Bytes held (bodies and headers) and entry count. */
  stats(): Promise<{ bytes: number; entries: number }>;
  /** The `limit` tags with the most entries, with their counts (most first). */
  topTags(limit: number): Promise<[string, number][]>;
  close(): Promise<void>;
}

/**
 * Separates a namespace from the URL or tag it scopes (HttpCache stores a worker's entries
 * under `<namespace>NS<url>`). A control character: URLs never hold one and SQLite's string
 * functions handle it (they stop at NUL).
 */
export const NS = '\u001f';

/** Primary key of a request (RFC 9111 §2: method and target URI; HEAD is served from GET). */
export function cacheKey(method: string, url: string): string {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return `${m} ${url}`;
}

export function entrySize(meta: EntryMeta, body: Uint8Array): number {
  let n = body.byteLength + 256;
  for (const h of meta.headers) n += h.length;
  return n;
}

/** Validate a budget option, naming it. */
export function checkBudget(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RangeError(`${name} must be a positive integer, received ${value}`);
  return v;
}
