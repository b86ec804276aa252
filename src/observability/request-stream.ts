/**
 * Every request a server answered, as it ends — worker or not (a cache hit of the site, a static
 * asset, a refused request) — with its PoP, worker, status, cache status, time and size: the
 * dashboard's Requests view reads it when it filters by cache status, which the live tail (worker
 * invocations) cannot do. Nothing is made for a request while nobody listens (`listening`).
 */

export interface RequestRecord {
  /** When it ended (epoch ms). */
  at: number;
  ray: string;
  pop: string;
  /** The worker that answered ('' for none: the site through the cache, an asset, a refusal). */
  worker: string;
  method: string;
  /** Its path (without the query string), at most 200 characters. */
  path: string;
  status: number;
  /** HIT, MISS, EXPIRED, STALE, UPDATING, REVALIDATED, BYPASS, DYNAMIC, or none. */
  cache: string;
  ms: number;
  bytes: number;
}

export interface RequestFilter {
  cache?: string[];
  worker?: string;
}

const CACHE_STATUSES = new Set([
  'HIT',
  'MISS',
  'EXPIRED',
  'STALE',
  'UPDATING',
  'REVALIDATED',
  'BYPASS',
  'DYNAMIC',
  'none',
]);

/** The filter a query asks for, or what is wrong with it. */
export function parseRequestFilter(q: URLSearchParams): RequestFilter | string {
  const f: RequestFilter = {};
  const cache = q
    .getAll('cache')
    .flatMap((c) => c.split(','))
    .filter(Boolean);
  for (const c of cache)
    if (!CACHE_STATUSES.has(c))
      return `cache must be one of ${[...CACHE_STATUSES].join(', ')}, received "${c.slice(0, 40)}"`;
  if (cache.length) f.cache = cache;
  const worker = q.get('worker');
  if (worker) f.worker = worker;
  return f;
}

interface Listener {
  filter: RequestFilter;
  send(r: RequestRecord): void;
}

export class RequestStream {
  readonly #listeners = new Set<Listener>();

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Hears each request that matches `filter`; the returned function stops it. */
  listen(filter: RequestFilter, send: (r: RequestRecord) => void): () => void {
    const l: Listener = { filter, send };
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  emit(r: RequestRecord): void {
    for (const l of this.#listeners) {
      const f = l.filter;
      if (f.cache && !f.cache.includes(r.cache)) continue;
      if (f.worker !== undefined && f.worker !== r.worker) continue;
      l.send(r);
    }
  }
}
