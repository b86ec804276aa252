/**
 * What a cache answered, for the dashboard's Cache view: lookups by cache status since start,
 * and — only while someone reads them — the URLs asked most. Counting a lookup is one property
 * increment; the URL counts cost a Map update per lookup for WATCH_MS after a read, then stop.
 *
 * The URL counts are approximate past MAX_KEYS distinct URLs: when full, the least asked are
 * forgotten down to KEEP_KEYS (a URL asked often keeps its count; a long tail of one-offs does not
 * fill memory, and a new URL always gets in). Counting starts afresh each time someone starts
 * reading after nobody did for WATCH_MS.
 */

/** Statuses of an answer served from the cache (Cloudflare counts these as hits). */
export const HIT_STATUSES = new Set(['HIT', 'STALE', 'UPDATING', 'REVALIDATED']);

const WATCH_MS = 30_000;
const MAX_KEYS = 1000;
const KEEP_KEYS = 750;
/** A URL is counted by its first this many characters (a bound on the map's memory). */
const MAX_URL = 512;

/**
 * Until when the URLs asked are counted (performance.now(); 0: not now). One clock for every
 * cache of the process: a read turns counting on in caches made after it too (a PoP's cache is
 * made with its first request).
 */
let watchedUntil = 0;
/** Which reading period counts are for: a cache's counts from an earlier one are dropped. */
let period = 0;

export interface CacheFigures {
  entries: number;
  bytes: number;
  /** Lookups by cache status since start. */
  lookups: Record<string, number>;
  /** Served from the cache, of all lookups; null: none yet. */
  hitRatio: number | null;
  /** The URLs asked most since the counts started (a read starts them), with their lookups. */
  topKeys: [string, number][];
  /** The tags with the most entries. */
  tags: [string, number][];
}

export class LookupCounts {
  readonly byStatus: Record<string, number> = {};
  #top: Map<string, number> | null = null;
  #period = -1;

  record(url: string, status: string): void {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    if (watchedUntil === 0) return;
    if (performance.now() > watchedUntil) {
      watchedUntil = 0;
      return;
    }
    if (this.#period !== period || this.#top === null) {
      this.#top = new Map();
      this.#period = period;
    }
    const top = this.#top;
    const key = url.length > MAX_URL ? `${url.slice(0, MAX_URL)}…` : url;
    const n = (top.get(key) ?? 0) + 1;
    if (n === 1 && top.size >= MAX_KEYS) {
      // Full: the least asked go (the newest URL then comes in).
      const kept = [...top].sort((a, b) => b[1] - a[1]).slice(0, KEEP_KEYS);
      top.clear();
      for (const [k, c] of kept) top.set(k, c);
    }
    top.set(key, n);
  }

  /**
   * The URLs asked most since counting started (counting from now if nobody read them lately);
   * keeps every cache counting for WATCH_MS.
   */
  top(limit: number): [string, number][] {
    const now = performance.now();
    if (watchedUntil === 0 || now > watchedUntil) period++; // nobody was reading: start afresh
    watchedUntil = now + WATCH_MS;
    if (this.#period !== period) return [];
    return [...(this.#top ?? [])].sort((a, b) => b[1] - a[1]).slice(0, limit);
  }

  /** Served from the cache, of every lookup; null before the first. */
  get hitRatio(): number | null {
    let all = 0;
    let hits = 0;
    for (const [s, n] of Object.entries(this.byStatus)) {
      all += n;
      if (HIT_STATUSES.has(s)) hits += n;
    }
    return all === 0 ? null : hits / all;
  }
}
