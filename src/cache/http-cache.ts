/**
 * The HTTP cache layer: answers a request from a CacheStore when RFC 9111 allows it, else
 * from the origin (coalesced), storing what may be stored. It reports Cloudflare's
 * cf-cache-status values (https://developers.cloudflare.com/cache/concepts/cache-responses/):
 *   HIT          fresh from the cache
 *   MISS         not in the cache; fetched (and stored when allowed)
 *   EXPIRED      in the cache but stale; fetched again
 *   REVALIDATED  stale, and the origin answered 304: the stored body served, headers freshened
 *   UPDATING     stale within stale-while-revalidate: served while one background revalidation runs
 *   STALE        stale, served because the origin failed within stale-if-error (or max-stale allowed it)
 *   BYPASS       the request asked not to use the cache (no-store) or the response may not be stored
 *   DYNAMIC      not a cacheable method
 *
 * Wiring (CDN proxy mode, fetch() subrequests, the Cache API) lives in later layers; this file
 * knows no HTTP server.
 */
import { Coalescer } from './coalesce.ts';
import {
  all,
  clientNotModified,
  conditionalHeaders,
  currentAge,
  EDGE_ONLY_HEADERS,
  edgeDirectives,
  first,
  freshen,
  freshnessLifetime,
  invalidatedUrls,
  list,
  notModifiedMatches,
  parseCacheControl,
  requestAcceptsStale,
  storable,
  usability,
  varyKey,
  varyMatches,
} from './semantics/index.ts';
import { type CacheStore, cacheKey, type EntryMeta, type StoredEntry } from './store/types.ts';

export interface CacheRequest {
  method: string;
  url: string;
  /** Flat, lower-case names. */
  headers: string[];
}

export interface OriginResponse {
  status: number;
  statusText: string;
  headers: string[];
  body: AsyncIterable<Uint8Array> | null;
}

export type Origin = (request: CacheRequest) => Promise<OriginResponse>;

export type CacheStatus =
  | 'HIT'
  | 'MISS'
  | 'EXPIRED'
  | 'REVALIDATED'
  | 'UPDATING'
  | 'STALE'
  | 'BYPASS'
  | 'DYNAMIC';

export interface CacheAnswer extends OriginResponse {
  cacheStatus: CacheStatus;
}

export interface HttpCacheOptions {
  store: CacheStore;
  now?: () => number;
  /** Background revalidation failures and store errors (default: ignored). */
  onError?: (err: Error) => void;
}

interface Flight {
  status: number;
  statusText: string;
  headers: string[];
  /** The headers of the request that went to the origin (for Vary checks by waiters). */
  requestHeaders: string[];
}

const GETLIKE = new Set(['GET', 'HEAD']);

function single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return (async function* () {
    if (bytes.byteLength) yield bytes;
  })();
}

/** Response headers for the client: edge-only fields removed, Age and the status added. */
function downstream(headers: readonly string[], status: CacheStatus, age?: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i];
    if (
      (EDGE_ONLY_HEADERS as readonly string[]).includes(n) ||
      n === 'cf-cache-status' ||
      (age !== undefined && n === 'age')
    )
      continue;
    out.push(n, headers[i + 1]);
  }
  if (age !== undefined) out.push('age', String(Math.floor(age)));
  out.push('cf-cache-status', status);
  return out;
}

export class HttpCache {
  readonly store: CacheStore;
  readonly #now: () => number;
  readonly #onError: (err: Error) => void;
  readonly #fills = new Coalescer<Flight>();
  readonly #revalidating = new Set<string>();

  constructor(options: HttpCacheOptions) {
    this.store = options.store;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
  }

  /** Origin requests started through the cache (coalesced misses count once). */
  get originFetches(): number {
    return this.#fills.started;
  }

  async handle(req: CacheRequest, origin: Origin): Promise<CacheAnswer> {
    const method = req.method.toUpperCase();
    if (!GETLIKE.has(method)) {
      const res = await origin(req);
      // RFC 9111 §4.4: a non-error answer to an unsafe method invalidates what it names.
      for (const url of invalidatedUrls(method, req.url, res.status, res.headers))
        await this.store.delete(cacheKey('GET', url)).catch((e) => this.#onError(e));
      return { ...res, headers: downstream(res.headers, 'DYNAMIC'), cacheStatus: 'DYNAMIC' };
    }
    const reqCc = parseCacheControl(all(req.headers, 'cache-control'));
    if (reqCc.noStore) {
      const res = await origin(req);
      return { ...res, headers: downstream(res.headers, 'BYPASS'), cacheStatus: 'BYPASS' };
    }
    const key = cacheKey(method, req.url);
    const entry = (await this.#lookup(key)).find((e) => varyMatches(e.vary, req.headers));
    if (!entry) {
      if (reqCc.onlyIfCached) return this.#gatewayTimeout();
      return this.#fill(req, origin, 'MISS', undefined);
    }
    const now = this.#now();
    const d = edgeDirectives(entry.headers).directives;
    const lifetime = freshnessLifetime(entry.status, entry.headers, d, entry.responseTime).seconds;
    const age = currentAge(entry.headers, entry.requestTime, entry.responseTime, now);
    const use = usability(lifetime, age, d, reqCc);
    if (use.fresh && !reqCc.noCache) return this.#serve(req, entry, 'HIT', age);
    if (!use.fresh && !reqCc.noCache && requestAcceptsStale(use.staleness, d, reqCc))
      return this.#serve(req, entry, 'STALE', age);
    if (reqCc.onlyIfCached) return this.#gatewayTimeout();
    if (use.withinStaleWhileRevalidate && !reqCc.noCache) {
      this.#revalidateInBackground(req, origin, entry);
      return this.#serve(req, entry, 'UPDATING', age);
    }
    try {
      return await this.#fill(req, origin, 'EXPIRED', entry);
    } catch (err) {
      // RFC 5861 §4: within stale-if-error, an error (5xx or no answer) serves the stale copy.
      if (use.withinStaleIfError) return this.#serve(req, entry, 'STALE', age);
      if (err instanceof OriginError)
        return {
          ...err.response,
          headers: downstream(err.response.headers, 'EXPIRED'),
          cacheStatus: 'EXPIRED',
        };
      throw err;
    }
  }

  /** Stored variants of a key; a store that fails to read is treated as a miss (and reported). */
  async #lookup(key: string): Promise<StoredEntry[]> {
    try {
      return await this.store.get(key);
    } catch (err) {
      this.#onError(err as Error);
      return [];
    }
  }

  #gatewayTimeout(): CacheAnswer {
    // RFC 9111 §5.2.1.7: only-if-cached with nothing usable answers 504.
    return {
      status: 504,
      statusText: 'Gateway Timeout',
      headers: downstream([], 'MISS'),
      body: null,
      cacheStatus: 'MISS',
    };
  }

  #serve(req: CacheRequest, e: StoredEntry, status: CacheStatus, age: number): CacheAnswer {
    if (clientNotModified(req.headers, e.headers))
      return {
        status: 304,
        statusText: 'Not Modified',
        headers: downstream(e.headers, status, age),
        body: null,
        cacheStatus: status,
      };
    const head = req.method.toUpperCase() === 'HEAD';
    return {
      status: e.status,
      statusText: e.statusText,
      headers: downstream(e.headers, status, age),
      body: head ? null : single(e.body),
      cacheStatus: status,
    };
  }

  #revalidateInBackground(req: CacheRequest, origin: Origin, entry: StoredEntry): void {
    // One background revalidation per key at a time (RFC 5861 §3).
    if (this.#revalidating.has(entry.key)) return;
    this.#revalidating.add(entry.key);
    this.#fill({ ...req, method: 'GET' }, origin, 'EXPIRED', entry)
      .then(async (a) => {
        // Drain so the fill completes and stores.
        if (a.body) for await (const _chunk of a.body);
      })
      .catch((err) => this.#onError(err as Error))
      .finally(() => this.#revalidating.delete(entry.key));
  }

  /**
   * Go to the origin (coalesced per key; conditional when a stale entry has validators), store
   * what may be stored, and answer. A 5xx from the origin is thrown as an error when a stale
   * entry exists, so stale-if-error can serve it.
   */
  async #fill(
    req: CacheRequest,
    origin: Origin,
    missStatus: CacheStatus,
    stale: StoredEntry | undefined,
  ): Promise<CacheAnswer> {
    const key = cacheKey(req.method, req.url);
    const forward: CacheRequest = {
      method: 'GET',
      url: req.url,
      headers: [...stripConditionals(req.headers), ...(stale ? conditionalHeaders(stale.headers) : [])],
    };
    const joined = await this.#fills.run(key, async () => {
      const requestTime = this.#now();
      const res = await origin(forward);
      const responseTime = this.#now();
      if (stale && res.status >= 500) throw new OriginError(res);
      if (stale && res.status === 304 && notModifiedMatches(stale.headers, res.headers)) {
        const headers = freshen(stale.headers, res.headers);
        await this.store
          .update(stale.key, stale.variant, { headers, requestTime, responseTime })
          .catch((e) => this.#onError(e));
        const meta: Flight & { revalidated: boolean } = {
          status: stale.status,
          statusText: stale.statusText,
          headers,
          requestHeaders: forward.headers,
          revalidated: true,
        };
        return { meta, body: single(stale.body) };
      }
      const d = edgeDirectives(res.headers).directives;
      const decision = storable('GET', forward.headers, parseCacheControl([]), res.status, res.headers, d);
      const meta: Flight & { revalidated?: boolean; stored?: boolean } = {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        requestHeaders: forward.headers,
        stored: decision.store,
      };
      if (!decision.store || !res.body) {
        if (decision.store && !res.body)
          await this.#put(req, res, new Uint8Array(0), requestTime, responseTime);
        return { meta, body: res.body };
      }
      // Tap the body: waiters stream it while it is collected for the store.
      const chunks: Uint8Array[] = [];
      const source = res.body;
      const put = (body: Uint8Array) => this.#put(req, res, body, requestTime, responseTime);
      const tapped = (async function* () {
        for await (const c of source) {
          chunks.push(c);
          yield c;
        }
        await put(Buffer.concat(chunks));
      })();
      return { meta, body: tapped };
    });
    const m = joined.meta as Flight & { revalidated?: boolean; stored?: boolean };
    // A waiter whose request differs in a header the response varies on cannot share it.
    if (!joined.leader && !varyMatches(varyKey(m.headers, m.requestHeaders ?? []), req.headers)) {
      const res = await origin(forward);
      return { ...res, headers: downstream(res.headers, 'MISS'), cacheStatus: 'MISS' };
    }
    const status: CacheStatus = m.revalidated ? 'REVALIDATED' : m.stored === false ? 'BYPASS' : missStatus;
    // The client's own conditional, evaluated against what the origin gave us (RFC 9111 §4.3.2).
    // The shared body still completes (and is stored) through the coalescer.
    if (m.status === 200 && clientNotModified(req.headers, m.headers))
      return {
        status: 304,
        statusText: 'Not Modified',
        headers: downstream(m.headers, status),
        body: null,
        cacheStatus: status,
      };
    const head = req.method.toUpperCase() === 'HEAD';
    return {
      status: m.status,
      statusText: m.statusText,
      headers: downstream(m.headers, status),
      body: head ? null : joined.body,
      cacheStatus: status,
    };
  }

  async #put(
    req: CacheRequest,
    res: OriginResponse,
    body: Uint8Array,
    requestTime: number,
    responseTime: number,
  ): Promise<void> {
    const vary = varyKey(res.headers, req.headers);
    if (vary === '*') return;
    const meta: EntryMeta = {
      key: cacheKey('GET', req.url),
      variant: JSON.stringify(vary),
      url: req.url,
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      vary,
      requestTime,
      responseTime,
      tags: [
        ...list(res.headers, 'cache-tag'),
        ...(first(res.headers, 'surrogate-key') ?? '').split(/\s+/).filter(Boolean),
      ],
    };
    await this.store.put(meta, body).catch((e) => this.#onError(e));
  }
}

/** The origin failed while a stale entry exists: stale-if-error may serve it instead. */
class OriginError extends Error {
  constructor(readonly response: OriginResponse) {
    super(`origin answered ${response.status}`);
  }
}

/** The client's own conditionals are evaluated against the cache, not forwarded (RFC 9111 §4.3.2). */
function stripConditionals(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (/^if-(none-match|modified-since|match|unmodified-since|range)$/.test(headers[i])) continue;
    out.push(headers[i], headers[i + 1]);
  }
  return out;
}
