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
 *   BYPASS       the request asked not to use the cache (no-store, a bypass cookie) or the
 *                response may not be stored
 *   DYNAMIC      not a cacheable method, or (worker subrequests) not cached by default
 *
 * A CachePolicy (src/cache/policy.ts) may override the origin's freshness; what it fixed is
 * stored with the entry, so a later lookup needs no policy. Entries live in namespaces ('' for
 * the PoP's own cache, a worker's name for its subrequests) so a worker's purge reaches only
 * its own. Wiring (CDN proxy mode, fetch() subrequests) lives in later layers; this file knows
 * no HTTP server.
 */
import { Coalescer, type Produced } from './coalesce.ts';
import { type CacheFigures, LookupCounts } from './lookup-counts.ts';
import {
  browserCacheControl,
  type CachePolicy,
  edgeOverride,
  policyAllows,
  policyTtl,
  refinePolicy,
  responseTags,
} from './policy.ts';
import {
  ageHeader,
  all,
  clientNotModified,
  conditionalHeaders,
  currentAgeOf,
  type Directives,
  EDGE_ONLY_HEADERS,
  edgeDirectives,
  first,
  freshen,
  freshnessLifetime,
  invalidatedUrls,
  mayShareWith,
  notModifiedMatches,
  parseCacheControl,
  requestAcceptsStale,
  responseDate,
  sharedDespiteAuthorization,
  storable,
  usability,
  varyKey,
  varyMatches,
} from './semantics/index.ts';
import { type RangeAnswer, rangeFor } from './semantics/range.ts';
import { type CacheStore, cacheKey, type EntryMeta, NS, type StoredEntry } from './store/types.ts';

export interface CacheRequest {
  method: string;
  url: string;
  /** Flat, lower-case names. */
  headers: string[];
  /** The request body, forwarded for methods that carry one (never cached). */
  body?: AsyncIterable<Uint8Array> | null;
  /** 1xx interim responses from the origin (103 Early Hints): passed on, never cached (RFC 9110 §15.2). */
  onInterim?: (status: number, headers: string[]) => void;
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
  /** The whole body when it is already in memory (a stored response): one write instead of a stream. */
  bytes?: Uint8Array;
}

export interface PurgeSelector {
  urls?: string[];
  /** URL prefixes (scheme and host included). */
  prefixes?: string[];
  /** Path prefixes ("/blog/") on any host. */
  paths?: string[];
  tags?: string[];
  everything?: boolean;
  /** Limit the purge to one namespace (a worker's); undefined: the PoP's own for URLs and prefixes, all for tags and everything. */
  namespace?: string;
}

export interface HttpCacheOptions {
  store: CacheStore;
  now?: () => number;
  /** Background revalidation failures and store errors (default: ignored). */
  onError?: (err: Error) => void;
  /** Largest body stored; bigger ones stream through uncached (default 64 MiB). */
  maxEntryBytes?: number;
  random?: () => number;
}

/** The head of an origin response, as the coalescer hands it to the requests that share it. */
interface Flight {
  status: number;
  statusText: string;
  /** The origin's fields, for the client whose own request fetched the response. */
  headers: string[];
  /** What a client sharing it gets: the fields a shared cache keeps (§5.2.2.4, §5.2.2.7). */
  sharedHeaders: string[];
  revalidated?: boolean;
  stored?: boolean;
  /** A 5xx while a stale entry exists: stale-if-error may answer instead. */
  failed?: boolean;
}

const GETLIKE = new Set(['GET', 'HEAD']);
/** Statuses that never carry content (RFC 9110 §6.4.1, §8.6). */
const NO_BODY_STATUSES = new Set([204, 304]);
const NO_DIRECTIVES = parseCacheControl([]);
const STRIPPED_UPSTREAM = /^(if-(none-match|modified-since|match|unmodified-since|range)|range)$/;

/** A body already in memory; the iterator is only made when someone reads it this way. */
class BytesBody implements AsyncIterable<Uint8Array> {
  constructor(readonly bytes: Uint8Array) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.bytes.byteLength) yield this.bytes;
  }
}

function single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return new BytesBody(bytes);
}

async function collect(body: AsyncIterable<Uint8Array> | null): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A stored or origin header list without edge-only fields (and Age / Cache-Control when they are replaced). */
function baseHeaders(
  headers: readonly string[],
  dropAge: boolean,
  dropCc: boolean,
  replace?: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i];
    if (
      (EDGE_ONLY_HEADERS as readonly string[]).includes(n) ||
      n === 'cf-cache-status' ||
      (dropAge && n === 'age') ||
      (dropCc && n === 'cache-control') ||
      (replace && n in replace)
    )
      continue;
    out.push(n, headers[i + 1]);
  }
  if (replace) for (const [n, v] of Object.entries(replace)) out.push(n, v);
  return out;
}

/** Response headers for the client: edge-only fields removed, Age, the status and a browser TTL added. */
function downstream(
  headers: readonly string[],
  status: CacheStatus,
  age: number | undefined,
  policy: CachePolicy | undefined,
  replace?: Record<string, string>,
): string[] {
  const cc = browserCacheControl(policy);
  const out = baseHeaders(headers, age !== undefined, cc !== undefined, replace);
  if (cc !== undefined) out.push('cache-control', cc);
  if (age !== undefined) out.push('age', String(Math.floor(age)));
  out.push('cf-cache-status', status);
  return out;
}

/**
 * What a hit needs to know about a stored response, computed once per stored header list
 * (a revalidation stores a new list): its directives, freshness lifetime and the headers it
 * is served with. The hit path then parses nothing.
 */
interface EntryFacts {
  d: Directives;
  lifetime: number;
  /** Its Date, ms (when received if none), and its Age field: what its current age starts from. */
  date: number;
  age: number;
  responseTime: number;
  edge: StoredEntry['edge'];
  /** Downstream headers of a whole 200-class answer, before Age and the status (no browser TTL). */
  served?: string[];
}
const FACTS = new WeakMap<readonly string[], EntryFacts>();

function factsOf(e: StoredEntry): EntryFacts {
  let f = FACTS.get(e.headers);
  if (!f || f.responseTime !== e.responseTime || f.edge !== e.edge) {
    const d = entryDirectives(e);
    const lifetime = e.edge?.ttl ?? freshnessLifetime(e.status, e.headers, d, e.responseTime).seconds;
    f = {
      d,
      lifetime,
      date: responseDate(e.headers, e.responseTime),
      age: ageHeader(e.headers),
      responseTime: e.responseTime,
      edge: e.edge,
    };
    FACTS.set(e.headers, f);
  }
  return f;
}

/** Separates a namespace from the URL or tag it scopes (defined beside the store interface). */
export { NS };

/** The URL an entry is stored under: the policy's cache key, inside its namespace. */
export function storedUrl(url: string, policy: CachePolicy | undefined): string {
  const u = policy?.cacheKey ?? url;
  return policy?.namespace ? `${policy.namespace}${NS}${u}` : u;
}

export class HttpCache {
  readonly store: CacheStore;
  readonly #now: () => number;
  readonly #onError: (err: Error) => void;
  readonly #random: () => number;
  readonly #maxEntryBytes: number;
  /** Fills in flight per key; a waiter is described by its request headers (for sharing rules). */
  readonly #fills = new Coalescer<Flight, string[]>();
  readonly #revalidating = new Set<string>();
  readonly #writes = new Set<Promise<unknown>>();
  /** How its lookups were answered (the dashboard's Cache view). */
  readonly lookups = new LookupCounts();

  constructor(options: HttpCacheOptions) {
    this.store = options.store;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    this.#random = options.random ?? Math.random;
    const max = options.maxEntryBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(max) || max <= 0)
      throw new RangeError(`HttpCache maxEntryBytes must be a positive integer, received ${max}`);
    this.#maxEntryBytes = max;
  }

  /** Origin requests started through the cache (coalesced misses count once). */
  get originFetches(): number {
    return this.#fills.started;
  }

  async handle(req: CacheRequest, origin: Origin, policy?: CachePolicy): Promise<CacheAnswer> {
    const method = req.method.toUpperCase();
    if (!GETLIKE.has(method)) {
      const res = await origin(req);
      // RFC 9111 §4.4: a non-error answer to an unsafe method invalidates what it names.
      for (const url of invalidatedUrls(method, req.url, res.status, res.headers))
        await this.store
          .delete(cacheKey('GET', storedUrl(url, policy && { namespace: policy.namespace })))
          .catch((e) => this.#onError(e));
      return this.#passed(res, 'DYNAMIC', policy);
    }
    if (!policyAllows(policy, req.url, req.headers)) {
      const res = await origin(req);
      return this.#passed(res, policy?.defaultCacheLevel ? 'DYNAMIC' : 'BYPASS', policy);
    }
    const reqLines = all(req.headers, 'cache-control');
    const reqCc = reqLines.length ? parseCacheControl(reqLines) : NO_DIRECTIVES;
    if (reqCc.noStore) return this.#passed(await origin(req), 'BYPASS', policy);
    const key = cacheKey(method, storedUrl(req.url, policy));
    const entry = (await this.#lookup(key)).find((e) => varyMatches(e.vary, req.headers));
    if (!entry) {
      if (reqCc.onlyIfCached) return this.#gatewayTimeout();
      return this.#counted(req, this.#fill(req, origin, 'MISS', undefined, policy));
    }
    const now = this.#now();
    const { d, lifetime, date, age: ageField } = factsOf(entry);
    const age = currentAgeOf(date, ageField, entry.requestTime, entry.responseTime, now);
    const use = usability(lifetime, age, d, reqCc);
    if (use.fresh && !reqCc.noCache) return this.#serve(req, entry, 'HIT', age, policy);
    if (!use.fresh && !reqCc.noCache && requestAcceptsStale(use.staleness, d, reqCc))
      return this.#serve(req, entry, 'STALE', age, policy);
    if (reqCc.onlyIfCached) return this.#gatewayTimeout();
    if (use.withinStaleWhileRevalidate && !reqCc.noCache) {
      this.#revalidateInBackground(req, origin, entry, policy);
      return this.#serve(req, entry, 'UPDATING', age, policy);
    }
    try {
      return await this.#counted(req, this.#fill(req, origin, 'EXPIRED', entry, policy));
    } catch (err) {
      // RFC 5861 §4: within stale-if-error, an error (5xx or no answer) serves the stale copy.
      if (use.withinStaleIfError) {
        if (err instanceof OriginError) discard(err.response.body);
        return this.#serve(req, entry, 'STALE', age, policy);
      }
      if (err instanceof OriginError) return this.#passed(err.response, 'EXPIRED', policy);
      // No answer at all (refused, reset, closed before a response): a disconnected cache may
      // serve stale unless a directive forbids it (§4.2.4), as Cloudflare answers STALE.
      if (use.staleIfDisconnected) {
        this.#onError(err as Error);
        return this.#serve(req, entry, 'STALE', age, policy);
      }
      throw err;
    }
  }

  /** Resolves when every store write started so far has finished (before closing the store). */
  async idle(): Promise<void> {
    while (this.#writes.size) await Promise.all([...this.#writes]);
  }

  /** What it holds and how it answered (the dashboard's Cache view): the top `limit` URLs and tags. */
  async cacheStats(limit = 10): Promise<CacheFigures> {
    const [{ entries, bytes }, tags] = await Promise.all([this.store.stats(), this.store.topTags(limit)]);
    return {
      entries,
      bytes,
      lookups: { ...this.lookups.byStatus },
      hitRatio: this.lookups.hitRatio,
      topKeys: this.lookups.top(limit),
      tags,
    };
  }

  /** Remove what a purge names; returns how many entries went. */
  async purge(sel: PurgeSelector): Promise<number> {
    const ns = sel.namespace;
    const inNs = (u: string) => (ns ? `${ns}${NS}${u}` : u);
    let n = 0;
    if (sel.everything) return ns ? this.store.purgePrefix(`${ns}${NS}`) : this.store.clear();
    for (const url of sel.urls ?? []) if (await this.store.delete(cacheKey('GET', inNs(url)))) n++;
    for (const prefix of sel.prefixes ?? []) n += await this.store.purgePrefix(inNs(prefix));
    for (const tag of sel.tags ?? []) n += await this.store.purgeTag(ns ? `${ns}${NS}${tag}` : tag);
    for (const path of sel.paths ?? [])
      n += await this.store.purgeMatching(inNs(''), (u) => pathOf(u).startsWith(path));
    return n;
  }

  /** A fill's answer, counted with the status it ended with (MISS, EXPIRED, REVALIDATED, BYPASS). */
  async #counted(req: CacheRequest, fill: Promise<CacheAnswer>): Promise<CacheAnswer> {
    const a = await fill;
    this.lookups.record(req.url, a.cacheStatus);
    return a;
  }

  /** Stored variants of a key; a store that fails to read is treated as a miss (and reported). */
  #lookup(key: string): Promise<StoredEntry[]> {
    return this.store.get(key).catch((err) => {
      this.#onError(err as Error);
      return [];
    });
  }

  #passed(res: OriginResponse, status: CacheStatus, policy: CachePolicy | undefined): CacheAnswer {
    const p = refinePolicy(policy, res.headers);
    return { ...res, headers: downstream(res.headers, status, undefined, p), cacheStatus: status };
  }

  #gatewayTimeout(): CacheAnswer {
    // RFC 9111 §5.2.1.7: only-if-cached with nothing usable answers 504.
    return {
      status: 504,
      statusText: 'Gateway Timeout',
      headers: downstream([], 'MISS', undefined, undefined),
      body: null,
      cacheStatus: 'MISS',
    };
  }

  #serve(
    req: CacheRequest,
    e: StoredEntry,
    status: CacheStatus,
    age: number,
    byPath: CachePolicy | undefined,
  ): CacheAnswer {
    this.lookups.record(req.url, status);
    const policy = refinePolicy(byPath, e.headers);
    if (clientNotModified(req.headers, e.headers))
      return {
        status: 304,
        statusText: 'Not Modified',
        headers: downstream(e.headers, status, age, policy),
        body: null,
        cacheStatus: status,
      };
    if (
      browserCacheControl(policy) === undefined &&
      first(req.headers, 'range') === undefined &&
      !NO_BODY_STATUSES.has(e.status)
    ) {
      // The common hit: headers prepared once per stored response.
      const f = factsOf(e);
      f.served ??= baseHeaders(e.headers, true, false, { 'content-length': String(e.body.byteLength) });
      const head = req.method.toUpperCase() === 'HEAD';
      return {
        status: e.status,
        statusText: e.statusText,
        headers: f.served.concat('age', String(Math.floor(age)), 'cf-cache-status', status),
        body: head ? null : single(e.body),
        ...(head ? {} : { bytes: e.body }),
        cacheStatus: status,
      };
    }
    return this.#answer(req, e.status, e.statusText, e.headers, e.body, status, age, policy);
  }

  /** A complete response, as a whole, as a byte range (RFC 9110 §14) or as a HEAD answer. */
  #answer(
    req: CacheRequest,
    code: number,
    text: string,
    headers: string[],
    body: Uint8Array,
    status: CacheStatus,
    age: number | undefined,
    policy: CachePolicy | undefined,
  ): CacheAnswer {
    const method = req.method.toUpperCase();
    const range: RangeAnswer =
      code === 200 ? rangeFor(method, req.headers, headers, body.byteLength) : { kind: 'full' };
    if (range.kind === 'partial')
      return {
        status: 206,
        statusText: 'Partial Content',
        headers: downstream(headers, status, age, policy, {
          'content-range': `bytes ${range.start}-${range.end}/${body.byteLength}`,
          'content-length': String(range.end - range.start + 1),
        }),
        body: single(body.subarray(range.start, range.end + 1)),
        bytes: body.subarray(range.start, range.end + 1),
        cacheStatus: status,
      };
    if (range.kind === 'unsatisfiable')
      return {
        status: 416,
        statusText: 'Range Not Satisfiable',
        headers: downstream(
          headers.filter((_, i) => i % 2 === 0 || !/^content-/.test(headers[i - 1] ?? '')),
          status,
          age,
          policy,
          { 'content-range': `bytes */${body.byteLength}`, 'content-length': '0' },
        ),
        body: null,
        cacheStatus: status,
      };
    // The stored body's length is known: say so, instead of the origin's chunked framing.
    const length = NO_BODY_STATUSES.has(code) ? undefined : { 'content-length': String(body.byteLength) };
    return {
      status: code,
      statusText: text,
      headers: downstream(headers, status, age, policy, length),
      body: method === 'HEAD' ? null : single(body),
      ...(method === 'HEAD' ? {} : { bytes: body }),
      cacheStatus: status,
    };
  }

  #revalidateInBackground(
    req: CacheRequest,
    origin: Origin,
    entry: StoredEntry,
    policy: CachePolicy | undefined,
  ): void {
    // One background revalidation per key at a time (RFC 5861 §3).
    if (this.#revalidating.has(entry.key)) return;
    this.#revalidating.add(entry.key);
    const { onInterim: _client, ...background } = req;
    this.#fill({ ...background, method: 'GET' }, origin, 'EXPIRED', entry, policy)
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
   * entry exists, so stale-if-error can serve it. The client's Range and conditionals are not
   * forwarded: the full response is fetched (and stored), then they are answered from it.
   *
   * Concurrent requests for the key share the response only when a shared cache could store it
   * and use it for them (semantics/sharing.ts); any other waiter is sent to the origin on its
   * own, so no client receives a response fetched with another's cookies or credentials.
   */
  async #fill(
    req: CacheRequest,
    origin: Origin,
    missStatus: CacheStatus,
    stale: StoredEntry | undefined,
    policy: CachePolicy | undefined,
  ): Promise<CacheAnswer> {
    const url = storedUrl(req.url, policy);
    const key = cacheKey('GET', url);
    const base = stripUpstream(req.headers);
    const forward: CacheRequest = {
      method: 'GET',
      url: req.url,
      headers: stale ? base.concat(conditionalHeaders(stale.headers)) : base,
      onInterim: req.onInterim,
    };
    const joined = await this.#fills.run(key, base, async (): Promise<Produced<Flight, string[]>> => {
      let requestTime = this.#now();
      let res = await origin(forward);
      if (stale && res.status === 304 && !notModifiedMatches(stale.headers, res.headers)) {
        // A 304 that selects no stored response (§4.3.4) cannot answer a client that did not
        // ask conditionally: ask again without the validators.
        if (res.body) for await (const _ of res.body);
        requestTime = this.#now();
        res = await origin({ ...forward, headers: base });
      }
      const responseTime = this.#now();
      if (stale && res.status === 304 && notModifiedMatches(stale.headers, res.headers)) {
        const headers = freshen(stale.headers, res.headers);
        await this.store
          .update(stale.key, stale.variant, { headers, requestTime, responseTime })
          .catch((e) => this.#onError(e));
        const d = edgeDirectives(headers).directives;
        return {
          meta: {
            status: stale.status,
            statusText: stale.statusText,
            headers,
            sharedHeaders: headers,
            revalidated: true,
          },
          body: single(stale.body),
          // The stored response, freshened: usable by a waiter its own lookup would have chosen.
          shareWith: (w) => mayShareWith(stale.vary, d, w),
        };
      }
      const d = edgeDirectives(res.headers).directives;
      // The content class is known now: its policy decides storing and TTLs.
      const p = refinePolicy(policy, res.headers);
      const store = this.#storable(forward.headers, res, p);
      const vary = store ? varyKey(res.headers, forward.headers) : '*';
      const shareWith = store ? (w: string[]) => mayShareWith(vary, d, w) : undefined;
      const meta: Flight = {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
        sharedHeaders: keptFields(res.headers, d),
        stored: store,
      };
      if (stale && res.status >= 500) return { meta: { ...meta, failed: true }, body: res.body, shareWith };
      const put = (body: Uint8Array) => this.#put(url, forward, res, body, requestTime, responseTime, p);
      if (!store || !res.body) {
        if (store) await put(new Uint8Array(0));
        return { meta, body: res.body, shareWith };
      }
      // Tap the body: waiters stream it while it is collected for the store; past the
      // largest storable size the copy is dropped and the body just streams through.
      const chunks: Uint8Array[] = [];
      let size = 0;
      const max = this.#maxEntryBytes;
      const source = res.body;
      const tapped = (async function* () {
        for await (const c of source) {
          if (size <= max) {
            size += c.byteLength;
            if (size <= max) chunks.push(c);
            else chunks.length = 0;
          }
          yield c;
        }
        if (size <= max) await put(Buffer.concat(chunks));
      })();
      return { meta, body: tapped, shareWith };
    });
    const m = joined.meta;
    const headers = joined.leader ? m.headers : m.sharedHeaders;
    policy = refinePolicy(policy, headers);
    if (m.failed)
      throw new OriginError({ status: m.status, statusText: m.statusText, headers, body: joined.body });
    const status: CacheStatus = m.revalidated ? 'REVALIDATED' : m.stored === false ? 'BYPASS' : missStatus;
    const method = req.method.toUpperCase();
    // The client's own conditional, evaluated against what the origin gave us (RFC 9111 §4.3.2).
    // A body this client does not read is still read to its end (a shared one is by the
    // coalescer), so it is stored and its connection released.
    const notModified = m.status === 200 && clientNotModified(req.headers, headers);
    if (notModified || method === 'HEAD') discard(joined.body);
    if (notModified)
      return {
        status: 304,
        statusText: 'Not Modified',
        headers: downstream(headers, status, undefined, policy),
        body: null,
        cacheStatus: status,
      };
    // A Range on a miss: answered from the complete body once it is here.
    if (m.status === 200 && method === 'GET' && first(req.headers, 'range') !== undefined)
      return this.#answer(
        req,
        m.status,
        m.statusText,
        headers,
        await collect(joined.body),
        status,
        undefined,
        policy,
      );
    return {
      status: m.status,
      statusText: m.statusText,
      headers: downstream(headers, status, undefined, policy),
      body: method === 'HEAD' ? null : joined.body,
      cacheStatus: status,
    };
  }

  /** May this response be stored? RFC 9111 §3, unless a policy forces a TTL for its status. */
  #storable(requestHeaders: string[], res: OriginResponse, policy: CachePolicy | undefined): boolean {
    const d = edgeDirectives(res.headers).directives;
    const forced = policyTtl(policy, res.status);
    if (forced !== undefined) {
      // A forced TTL caches whatever the headers say (Cloudflare's cacheTtl), except: a negative
      // TTL, partial content, Vary: *, responses that set cookies, and answers to requests with
      // Authorization that do not say they may be shared (§3.5): never shared.
      return (
        forced >= 0 &&
        res.status >= 200 &&
        res.status !== 206 &&
        first(res.headers, 'set-cookie') === undefined &&
        (first(requestHeaders, 'authorization') === undefined || sharedDespiteAuthorization(d)) &&
        varyKey(res.headers, requestHeaders) !== '*'
      );
    }
    return storable('GET', requestHeaders, NO_DIRECTIVES, res.status, res.headers, d).store;
  }

  async #put(
    url: string,
    req: CacheRequest,
    res: OriginResponse,
    body: Uint8Array,
    requestTime: number,
    responseTime: number,
    policy: CachePolicy | undefined,
  ): Promise<void> {
    const vary = varyKey(res.headers, req.headers);
    if (vary === '*') return;
    const d = edgeDirectives(res.headers).directives;
    const lifetime = freshnessLifetime(res.status, res.headers, d, responseTime).seconds;
    const headers = keptFields(res.headers, d);
    const tags = responseTags(res.headers, policy).filter((t) => !t.includes(NS));
    const ns = policy?.namespace;
    const edge = edgeOverride(policy, res.status, lifetime, this.#random);
    const meta: EntryMeta = {
      key: cacheKey('GET', url),
      variant: JSON.stringify(vary),
      url,
      status: res.status,
      statusText: res.statusText,
      headers,
      vary,
      requestTime,
      responseTime,
      // Raw tags serve the operator's purges; namespaced ones a worker's own.
      tags: ns ? [...tags, ...tags.map((t) => `${ns}${NS}${t}`)] : tags,
      ...(edge ? { edge } : {}),
    };
    const write = this.store.put(meta, body).catch((e) => this.#onError(e));
    this.#writes.add(write);
    await write;
    this.#writes.delete(write);
  }
}

/** The directives a stored entry is judged by: a forced TTL ignores the origin's; stale windows may be overridden. */
function entryDirectives(e: StoredEntry): Directives {
  const base = e.edge?.ttl !== undefined ? NO_DIRECTIVES : edgeDirectives(e.headers).directives;
  if (e.edge?.swr === undefined && e.edge?.sie === undefined) return base;
  return {
    ...base,
    staleWhileRevalidate: e.edge.swr ?? base.staleWhileRevalidate,
    staleIfError: e.edge.sie ?? base.staleIfError,
  };
}

/**
 * The fields a shared cache keeps: those named by no-cache="…" may not be reused without
 * revalidation (§5.2.2.4) and those named by private="…" not stored (§5.2.2.7).
 */
function keptFields(headers: string[], d: Directives): string[] {
  if (!d.noCacheFields.length && !d.privateFields.length) return headers;
  const omit = new Set([...d.noCacheFields, ...d.privateFields]);
  return headers.filter((_, i, h) => !omit.has(h[i - (i % 2)]));
}

/** Read a body nobody will use to its end in the background, so its connection is released. */
function discard(body: AsyncIterable<Uint8Array> | null): void {
  if (!body) return;
  (async () => {
    for await (const _ of body);
  })().catch(() => {});
}

/** The path of a stored URL (after its namespace); '' for a cache key that is not a URL. */
function pathOf(stored: string): string {
  try {
    return new URL(stored.slice(stored.indexOf(NS) + 1)).pathname;
  } catch {
    return '';
  }
}

/** The origin failed while a stale entry exists: stale-if-error may serve it instead. */
class OriginError extends Error {
  constructor(readonly response: OriginResponse) {
    super(`origin answered ${response.status}`);
  }
}

/** The client's conditionals and Range are answered by the cache, not forwarded (RFC 9111 §4.3.2). */
function stripUpstream(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (STRIPPED_UPSTREAM.test(headers[i])) continue;
    out.push(headers[i], headers[i + 1]);
  }
  return out;
}
