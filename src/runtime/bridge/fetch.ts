/**
 * fetch() subrequests, host side. GET and HEAD go through the PoP's HTTP cache (src/cache/)
 * the way Cloudflare's fetch does: by default only what Cloudflare caches by default (static
 * file extensions) is stored, and `cf` options change that
 * (https://developers.cloudflare.com/workers/runtime-apis/request/#the-cf-property-requestinitcfproperties):
 * cacheTtl, cacheTtlByStatus, cacheEverything, cacheKey, cacheTags. Entries are kept in the
 * worker's own namespace, so ctx.cache.purge() reaches only them. Redirects are followed
 * hop by hop through the cache, as each hop is a cacheable response of its own. Other methods
 * go straight to the origin with undici.
 *
 * Every connection goes through the runtime's egress policy (src/runtime/egress.ts): its
 * dispatcher checks the address each connection is made to, for every redirect hop and every
 * tier of the cache; there is no path to the network without it.
 */
import type { Dispatcher } from 'undici';
import {
  type CacheAnswer,
  type CachePolicy,
  type CacheRequest,
  type HttpCache,
  type Origin,
  parseTtlByStatus,
} from '../../cache/index.ts';
import { undici } from '../../http/undici.ts';
import {
  type Attrs,
  type HopRecorder,
  NO_METRICS,
  type PopMetrics,
  SpanKind,
} from '../../observability/index.ts';
import { EgressRefusedError } from '../egress.ts';
import { type BodyRegistry, fromAsyncIterable } from './bodies.ts';
import { NamedError } from './named-error.ts';

export interface FetchArgs {
  method: string;
  url: string;
  /** Flat, hop-by-hop fields already removed. */
  headers: string[];
  redirect: 'follow' | 'manual' | 'error';
  body: ArrayBuffer | null;
  cf: unknown;
}

export interface FetchResult {
  status: number;
  statusText: string;
  headers: string[];
  url: string;
  redirected: boolean;
  /** null: none; a number: a body id to pull; bytes: the whole (small) body. */
  body: number | ArrayBuffer | null;
}

const INLINE_BODY_MAX = 64 * 1024;
const MAX_REDIRECTS = 20;

function typeError(message: string): NamedError {
  return new NamedError(message, 'TypeError');
}

/** The cache policy a subrequest's `cf` asks for; throws a TypeError naming a bad field. */
export function policyFromCf(cf: unknown, namespace: string): CachePolicy {
  const policy: CachePolicy = { namespace, defaultCacheLevel: true };
  if (cf === null || cf === undefined) return policy;
  if (typeof cf !== 'object' || Array.isArray(cf)) throw typeError('fetch: init.cf must be an object');
  const c = cf as Record<string, unknown>;
  if (c.cacheTtl !== undefined) {
    if (typeof c.cacheTtl !== 'number' || !Number.isInteger(c.cacheTtl))
      throw typeError(
        `fetch: cf.cacheTtl must be an integer number of seconds, received ${String(c.cacheTtl)}`,
      );
    policy.edgeTtl = c.cacheTtl;
  }
  if (c.cacheTtlByStatus !== undefined) {
    if (typeof c.cacheTtlByStatus !== 'object' || c.cacheTtlByStatus === null)
      throw typeError('fetch: cf.cacheTtlByStatus must be an object like { "200-299": 86400, "404": 1 }');
    try {
      policy.ttlByStatus = parseTtlByStatus(
        c.cacheTtlByStatus as Record<string, unknown>,
        'fetch: cf.cacheTtlByStatus',
      );
    } catch (err) {
      throw typeError((err as Error).message);
    }
  }
  if (c.cacheEverything !== undefined) {
    if (typeof c.cacheEverything !== 'boolean')
      throw typeError('fetch: cf.cacheEverything must be a boolean');
    policy.cacheEverything = c.cacheEverything;
  }
  if (c.cacheKey !== undefined) {
    if (typeof c.cacheKey !== 'string' || c.cacheKey === '' || c.cacheKey.length > 8192)
      throw typeError('fetch: cf.cacheKey must be a non-empty string of at most 8192 characters');
    policy.cacheKey = c.cacheKey;
  }
  if (c.cacheTags !== undefined) {
    if (
      !Array.isArray(c.cacheTags) ||
      c.cacheTags.some((t) => typeof t !== 'string' || t === '' || /[\0-\x1f,]/.test(t))
    )
      throw typeError('fetch: cf.cacheTags must be an array of non-empty strings without commas');
    policy.tags = c.cacheTags as string[];
  }
  return policy;
}

function flatHeaders(h: Headers): string[] {
  const flat: string[] = [];
  for (const [k, v] of h) if (k !== 'set-cookie') flat.push(k, v);
  for (const c of h.getSetCookie()) flat.push('set-cookie', c);
  return flat;
}

function pairsOf(flat: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
  return pairs;
}

/** The origin behind the cache: one hop, no redirects followed (the caller follows them). */
function undiciOrigin(signal: AbortSignal, dispatcher: Dispatcher): Origin {
  return async (r) => {
    const res = await undici().fetch(r.url, {
      dispatcher,
      method: r.method,
      headers: pairsOf(r.headers),
      redirect: 'manual',
      signal,
    });
    return {
      status: res.status,
      statusText: res.statusText,
      headers: flatHeaders(res.headers),
      body: res.body as AsyncIterable<Uint8Array> | null,
    };
  };
}

async function small(body: AsyncIterable<Uint8Array>): Promise<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  const b = Buffer.concat(chunks);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function contentLength(headers: string[]): number {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i] === 'content-length') return Number(headers[i + 1]);
  return Number.NaN;
}

/** A GET or HEAD through the cache, following redirects as asked. */
async function cachedFetch(
  args: FetchArgs,
  http: HttpCache,
  policy: CachePolicy,
  bodies: BodyRegistry,
  controller: AbortController,
  tier: Tier | null,
  hops: HopRecorder | null,
  dispatcher: Dispatcher,
  metrics: PopMetrics,
  wrap: ((origin: RecordedOrigin) => RecordedOrigin) | undefined,
): Promise<FetchResult> {
  const plain = recorded(undiciOrigin(controller.signal, dispatcher), metrics);
  const direct = wrap ? wrap(plain) : plain;
  let url = args.url;
  for (let hop = 0; ; hop++) {
    // In a network, a PoP's miss fills from its regional shield (and that from the upper tier),
    // which records those hops inside this one; otherwise the origin's time to headers is the
    // hop. This hop's `cache` entry is placed first, so Server-Timing lists them in path order.
    const at = hops?.begin('outpost.cache', SpanKind.INTERNAL, {
      'outpost.cache.tier': 'pop',
      'url.full': url.slice(0, 2048),
    });
    const inner = at ? at.recorder : null;
    const origin: Origin = tier
      ? tier(direct, policy, inner, wrap ? { site: true } : undefined)
      : (r) => direct(r, inner, true);
    const started = performance.now();
    let a: CacheAnswer;
    try {
      a = await http.handle({ method: args.method, url, headers: args.headers }, origin, policy);
    } catch (err) {
      at?.end(null, undefined, (err as Error).message);
      throw err;
    }
    metrics.cache('pop', a.cacheStatus);
    at?.end(
      {
        name: 'cache',
        ms: performance.now() - started,
        desc: `${a.cacheStatus} ${hopName(args.method, url)}`,
      },
      { 'outpost.cache.status': a.cacheStatus },
    );
    const location =
      a.status >= 300 && a.status < 400 ? a.headers[a.headers.indexOf('location') + 1] : undefined;
    if (location !== undefined && a.headers.indexOf('location') % 2 === 0 && args.redirect !== 'manual') {
      if (args.redirect === 'error')
        throw typeError('fetch failed: unexpected redirect (redirect mode is "error")');
      if (hop >= MAX_REDIRECTS) throw typeError('fetch failed: redirect count exceeded');
      await drain(a.body);
      url = new URL(location, url).href;
      continue;
    }
    const meta = { status: a.status, statusText: a.statusText, headers: a.headers, url, redirected: hop > 0 };
    if (!a.body) return { ...meta, body: null };
    if (contentLength(a.headers) <= INLINE_BODY_MAX) return { ...meta, body: await small(a.body) };
    return { ...meta, body: bodies.add(fromAsyncIterable(a.body, () => controller.abort())) };
  }
}

async function drain(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (body) for await (const _ of body);
}

/** A subrequest named in Server-Timing: method (unless GET) and path, quotes and backslashes dropped. */
export function hopName(method: string, url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {}
  const what = method === 'GET' ? path : `${method} ${path}`;
  return what.replace(/["\\]/g, '').slice(0, 200);
}

/**
 * An origin that records its request where it is told (RecordedOrigin): an HTTP client span
 * whose id the request's `traceparent` carries, and, unless `timing` is false, the `origin`
 * Server-Timing entry (its time to response headers).
 */
export function recorded(origin: Origin, metrics: PopMetrics = NO_METRICS): RecordedOrigin {
  return async (r, hops, timing) => {
    if (!hops) return counted(origin(r), metrics);
    const at = hops.begin(r.method, SpanKind.CLIENT, clientAttrs(r.method, r.url));
    const started = performance.now();
    try {
      const a = await counted(
        origin(
          at.traceparent ? { ...r, headers: withTraceparent(r.headers, at.traceparent, at.tracestate) } : r,
        ),
        metrics,
      );
      at.end(
        timing ? { name: 'origin', ms: performance.now() - started, desc: hopName(r.method, r.url) } : null,
        { 'http.response.status_code': a.status },
        clientError(a.status),
      );
      return a;
    } catch (err) {
      at.end(null, undefined, (err as Error).message);
      throw err;
    }
  };
}

/** An origin's answer, its failure (`network`) or 5xx counted as an origin error. */
async function counted<T extends { status: number }>(answer: Promise<T>, metrics: PopMetrics): Promise<T> {
  try {
    const a = await answer;
    if (a.status >= 500) metrics.originError('5xx');
    return a;
  } catch (err) {
    // The worker's own abort, or the egress policy's refusal, is not the origin failing.
    const e = err as Error & { cause?: unknown };
    if (
      e?.name !== 'AbortError' &&
      !(e instanceof EgressRefusedError) &&
      !(e?.cause instanceof EgressRefusedError)
    )
      metrics.originError('network');
    throw err;
  }
}

/** A plain origin as a RecordedOrigin that records nothing. */
export function unrecorded(origin: Origin): RecordedOrigin {
  return (r) => origin(r);
}

/**
 * An origin that records its own hop where it is told: the span of its request (and the
 * `traceparent` that request carries), and its Server-Timing entry unless `timing` is false.
 */
export type RecordedOrigin = (
  r: CacheRequest,
  hops: HopRecorder | null,
  timing: boolean,
) => ReturnType<Origin>;

/**
 * Wraps the origin of a PoP's cache with the tiers above it (src/pop/network.ts), which record
 * the hops they take (shield, origin) for the request being served.
 */
export type Tier = (
  origin: RecordedOrigin,
  policy: CachePolicy,
  hops: HopRecorder | null,
  fill?: TierFill,
) => Origin;

/** What a tier is told about the fill beyond the request. */
export interface TierFill {
  /**
   * The fill is the site's origin (outpost.toml `origin`): `origin` maps the public URL to it and
   * applies the site's rules (A/B variants, ESI marking), so a tier in another process, which
   * would see only the public URL, leaves it to the PoP (src/network/shield.ts).
   */
  site?: boolean;
}

/** An HTTP client span's error status: a 4xx or 5xx answer (OpenTelemetry's HTTP conventions). */
function clientError(status: number): string | undefined {
  return status >= 400 ? `HTTP ${status}` : undefined;
}

/** OpenTelemetry's HTTP client attributes of a request. */
function clientAttrs(method: string, url: string): Attrs {
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {}
  return { 'http.request.method': method, 'url.full': url.slice(0, 2048), 'server.address': host };
}

/**
 * Headers with the platform's `traceparent` and the trace's `tracestate`, replacing any the
 * worker set: with tracing on, the platform propagates the trace on every subrequest, as
 * OpenTelemetry's instrumentation does (W3C Trace Context §3.3: tracestate goes on with it).
 */
export function withTraceparent(headers: string[], traceparent: string, tracestate?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i].toLowerCase();
    if (n !== 'traceparent' && n !== 'tracestate') out.push(headers[i], headers[i + 1]);
  }
  out.push('traceparent', traceparent);
  if (tracestate) out.push('tracestate', tracestate);
  return out;
}

/**
 * The site a worker is deployed on (outpost.toml: `origin`, `[cache]`): a subrequest to one of
 * the site's hosts goes to the site's origin, as on Cloudflare a worker's fetch() to its own
 * zone reaches the zone's origin, not a worker again, and is cached by the site's policies.
 */
export interface SiteLink {
  /** For a subrequest URL on the site's hosts: where it goes; null: not the site's. */
  resolve(url: string): SiteTarget | null;
}

export interface SiteTarget {
  /** The origin URL the request goes to. */
  target: string;
  /** What it is stored under in the PoP's cache (the site's public URL). */
  cacheUrl: string;
  /** The site's cache policy for the path (undefined: Cloudflare's default cache level). */
  policy: CachePolicy | undefined;
  /** Connections to the site's origin (the operator's: not the tenant's egress policy). */
  dispatcher: Dispatcher;
  /** Wraps the origin of the site's cache (the site's A/B variants vary its responses). */
  wrap?: (origin: RecordedOrigin) => RecordedOrigin;
}

/**
 * The policy of a subrequest to the site's origin: the site's, with what the worker's `cf`
 * sets winning (as a fetch() with `cf.cacheTtl` wins over a zone's Cache Rules), stored in the
 * site's own entries (namespace ''), so the site's pages and the worker's fetch() of them are
 * one entry, purged by the operator's purges.
 */
export function sitePolicy(cf: CachePolicy, site: SiteTarget): CachePolicy {
  const out: CachePolicy = site.policy
    ? { ...site.policy, namespace: '' }
    : { namespace: '', defaultCacheLevel: true };
  for (const [k, v] of Object.entries(cf) as [keyof CachePolicy, never][])
    if (v !== undefined && k !== 'namespace' && k !== 'defaultCacheLevel') out[k] = v;
  out.cacheKey ??= site.cacheUrl;
  return out;
}

/**
 * Perform one fetch() of a worker. `http` is the PoP's cache (null: none, straight to the
 * origin); `dispatcher` makes its connections (the egress policy's); `site`: the request is
 * for the site's origin (SiteLink).
 */
export async function performFetch(
  args: FetchArgs,
  http: HttpCache | null,
  tier: Tier | null,
  namespace: string,
  bodies: BodyRegistry,
  controller: AbortController,
  hops: HopRecorder | null,
  dispatcher: Dispatcher,
  metrics: PopMetrics = NO_METRICS,
  site: SiteTarget | null = null,
): Promise<FetchResult> {
  let policy = policyFromCf(args.cf, namespace);
  if (site) {
    policy = sitePolicy(policy, site);
    args = { ...args, url: site.target };
    dispatcher = site.dispatcher;
  }
  // The worker's fetch() call: its span holds the cache lookups and origin requests it made.
  const call = hops?.trace.recording
    ? hops.begin('fetch', SpanKind.INTERNAL, clientAttrs(args.method, args.url))
    : null;
  const rec = call ? call.recorder : hops;
  try {
    const r =
      http && (args.method === 'GET' || args.method === 'HEAD')
        ? await cachedFetch(
            args,
            http,
            policy,
            bodies,
            controller,
            tier,
            rec,
            dispatcher,
            metrics,
            site?.wrap,
          )
        : await directFetch(args, bodies, controller, rec, dispatcher, metrics);
    call?.end(null, { 'http.response.status_code': r.status });
    return r;
  } catch (err) {
    call?.end(null, undefined, (err as Error).message);
    throw err;
  }
}

/** Any other method: straight to the origin with undici. */
async function directFetch(
  args: FetchArgs,
  bodies: BodyRegistry,
  controller: AbortController,
  hops: HopRecorder | null,
  dispatcher: Dispatcher,
  metrics: PopMetrics,
): Promise<FetchResult> {
  const at = hops?.begin(args.method, SpanKind.CLIENT, clientAttrs(args.method, args.url));
  const started = performance.now();
  let res: Awaited<ReturnType<typeof import('undici').fetch>>;
  try {
    res = await counted(
      undici().fetch(args.url, {
        dispatcher,
        method: args.method,
        headers: pairsOf(
          at?.traceparent ? withTraceparent(args.headers, at.traceparent, at.tracestate) : args.headers,
        ),
        redirect: args.redirect,
        body: args.body === null ? undefined : new Uint8Array(args.body),
        signal: controller.signal,
      }),
      metrics,
    );
  } catch (err) {
    at?.end(null, undefined, (err as Error).message);
    throw err;
  }
  at?.end(
    { name: 'origin', ms: performance.now() - started, desc: hopName(args.method, args.url) },
    { 'http.response.status_code': res.status },
    clientError(res.status),
  );
  const meta = {
    status: res.status,
    statusText: res.statusText,
    headers: flatHeaders(res.headers),
    url: res.url,
    redirected: res.redirected,
  };
  const stream = res.body;
  if (!stream) return { ...meta, body: null };
  // A small body of known length comes back with the headers: one crossing instead of
  // several reads (each crossing costs the tenant 25–55 µs of isolate CPU).
  if (Number(res.headers.get('content-length') ?? Number.NaN) <= INLINE_BODY_MAX)
    return { ...meta, body: await res.arrayBuffer() };
  return {
    ...meta,
    body: bodies.add(fromAsyncIterable(stream as AsyncIterable<Uint8Array>, () => controller.abort())),
  };
}
