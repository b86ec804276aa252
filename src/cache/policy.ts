/**
 * Cache policies: what an operator (config `[[cache.policies]]`, the seed's CACHE_POLICIES) or a
 * worker (`fetch(url, { cf: { cacheTtl, ... } })`) says about caching that wins over the
 * origin's headers. Pure functions; HttpCache applies them.
 *
 * Edge TTLs follow Cloudflare's cf.cacheTtl meaning
 * (https://developers.cloudflare.com/workers/runtime-apis/request/#the-cf-property-requestinitcfproperties):
 * a TTL forces the response to be cached for that long whatever its Cache-Control says; 0 caches
 * it already expired (every use revalidates); a negative value does not cache it.
 */
import { first, list } from './semantics/index.ts';
import type { EdgeOverride } from './store/types.ts';

export interface CachePolicy {
  /** Edge TTL, seconds, overriding the origin's freshness (see above); undefined: the headers decide. */
  edgeTtl?: number;
  /** TTL by response status (cf.cacheTtlByStatus); wins over edgeTtl for the statuses it names. */
  ttlByStatus?: StatusTtl[];
  /** Browser TTL, seconds: the Cache-Control sent downstream (0: `private, no-store`). */
  browserTtl?: number;
  /** stale-while-revalidate / stale-if-error windows, seconds, overriding the origin's. */
  staleWhileRevalidate?: number;
  staleIfError?: number;
  /** Purge tags added to what the response carries (Cache-Tag, Surrogate-Key). */
  tags?: string[];
  /** Requests carrying any of these cookies skip the cache (BYPASS). */
  bypassCookies?: string[];
  /** TTL jitter as a fraction (0.1 = ±10%, the seed's choice against synchronized expiry). */
  jitter?: number;
  /** The URL the response is stored under instead of the request's (cf.cacheKey). */
  cacheKey?: string;
  /**
   * Whose entries these are: '' for the PoP's own cache (CDN proxy mode), a worker's name for
   * its fetch() subrequests. Purges from a worker reach only its namespace.
   */
  namespace?: string;
  /**
   * Store only what Cloudflare caches by default (static file extensions) unless a TTL or
   * cacheEverything says otherwise: the rule for a worker's fetch() subrequests.
   */
  defaultCacheLevel?: boolean;
  cacheEverything?: boolean;
  /**
   * Policies by content class: the first whose media types match the response's Content-Type
   * replaces this one for that response (its storing, its TTLs, its browser Cache-Control).
   * The request is matched by path first; the content class is only known once the origin
   * answers (or from the stored entry on a hit).
   */
  byContentType?: ContentTypePolicy[];
}

export interface ContentTypePolicy {
  /** Media types, lower case: `text/html`, `image/*` (a whole top-level type), or any. */
  types: string[];
  policy: CachePolicy;
}

export interface StatusTtl {
  from: number;
  to: number;
  ttl: number;
}

/** Extensions Cloudflare caches by default (https://developers.cloudflare.com/cache/concepts/default-cache-behavior/). */
const DEFAULT_CACHED_EXTENSIONS = new Set(
  (
    '7z csv gif midi png tif zip avi doc gz mkv ppt tiff zst avif docx ico mp3 pptx ttf apk dmg iso mp4 ps ' +
    'webm bin ejs jar ogg rar webp bmp eot jpg otf svg woff bz2 eps jpeg pdf svgz woff2 class exe js pict ' +
    'swf xls css flac mid pls tar xlsx'
  ).split(' '),
);

/**
 * Statuses a plain edge TTL (cf.cacheTtl, a policy's edge_ttl) applies to, as Cloudflare's Edge
 * Cache TTL does; other statuses (5xx above all) keep their headers' rules unless
 * cacheTtlByStatus names them.
 */
const EDGE_TTL_STATUSES = new Set([200, 206, 301, 302, 303, 404, 410]);

/**
 * The policy that applies to a response with these headers: the first content-class policy
 * whose media types match its Content-Type (parameters ignored, RFC 9110 §8.3.1), else the
 * policy itself. Without content classes, the policy unchanged.
 */
export function refinePolicy(
  policy: CachePolicy | undefined,
  headers: readonly string[],
): CachePolicy | undefined {
  if (!policy?.byContentType) return policy;
  const type = (first(headers, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  const slash = type.indexOf('/');
  for (const c of policy.byContentType)
    for (const t of c.types)
      if (
        t === type ||
        t === '*/*' ||
        (t.endsWith('/*') && slash > 0 && type.slice(0, slash) === t.slice(0, -2))
      )
        return c.policy;
  return policy;
}

/** The edge TTL a policy sets for a response status; undefined when it sets none. */
export function policyTtl(policy: CachePolicy | undefined, status: number): number | undefined {
  if (!policy) return undefined;
  for (const r of policy.ttlByStatus ?? []) if (status >= r.from && status <= r.to) return r.ttl;
  return EDGE_TTL_STATUSES.has(status) ? policy.edgeTtl : undefined;
}

/**
 * Whether the policy lets this request use the cache at all: a bypass cookie, or (for worker
 * subrequests) a URL Cloudflare would not cache by default with nothing forcing it.
 */
export function policyAllows(
  policy: CachePolicy | undefined,
  url: string,
  requestHeaders: readonly string[],
): boolean {
  if (!policy) return true;
  if (policy.bypassCookies?.length) {
    const names = new Set(
      list(requestHeaders, 'cookie')
        .flatMap((c) => c.split(';'))
        .map((c) => c.split('=')[0].trim()),
    );
    if (policy.bypassCookies.some((n) => names.has(n))) return false;
  }
  if (
    policy.defaultCacheLevel &&
    !policy.cacheEverything &&
    policy.edgeTtl === undefined &&
    !policy.ttlByStatus
  ) {
    const path = new URL(url).pathname;
    const dot = path.lastIndexOf('.');
    if (dot < 0 || path.lastIndexOf('/') > dot) return false;
    return DEFAULT_CACHED_EXTENSIONS.has(path.slice(dot + 1).toLowerCase());
  }
  return true;
}

/** What to store with an entry: the forced TTL (jittered) and the stale windows. */
export function edgeOverride(
  policy: CachePolicy | undefined,
  status: number,
  headerLifetime: number,
  random: () => number = Math.random,
): EdgeOverride | undefined {
  if (!policy) return undefined;
  const forced = policyTtl(policy, status);
  const out: EdgeOverride = {};
  let ttl = forced !== undefined ? Math.max(0, forced) : undefined;
  if (policy.jitter) ttl = jitter(ttl ?? headerLifetime, policy.jitter, random);
  if (ttl !== undefined) out.ttl = ttl;
  if (policy.staleWhileRevalidate !== undefined) out.swr = policy.staleWhileRevalidate;
  if (policy.staleIfError !== undefined) out.sie = policy.staleIfError;
  return out.ttl === undefined && out.swr === undefined && out.sie === undefined ? undefined : out;
}

/** ±fraction of a TTL, so entries stored together do not expire together (the seed's stampede fix). */
export function jitter(ttl: number, fraction: number, random: () => number = Math.random): number {
  return Math.max(0, Math.floor(ttl + ttl * fraction * (random() * 2 - 1)));
}

/** The purge tags a response carries: Cache-Tag (comma-separated) and Surrogate-Key (spaces). */
export function responseTags(headers: readonly string[], policy: CachePolicy | undefined): string[] {
  const tags = [
    ...list(headers, 'cache-tag'),
    ...(first(headers, 'surrogate-key') ?? '').split(/\s+/).filter(Boolean),
    ...(policy?.tags ?? []),
  ];
  return [...new Set(tags)];
}

/** The Cache-Control sent to browsers when the policy sets a browser TTL (the seed's setCacheHeaders). */
export function browserCacheControl(policy: CachePolicy | undefined): string | undefined {
  if (policy?.browserTtl === undefined) return undefined;
  let cc = policy.browserTtl > 0 ? `public, max-age=${policy.browserTtl}` : 'private, no-store';
  if (policy.staleWhileRevalidate) cc += `, stale-while-revalidate=${policy.staleWhileRevalidate}`;
  if (policy.staleIfError) cc += `, stale-if-error=${policy.staleIfError}`;
  return cc;
}

/** Parse cf.cacheTtlByStatus keys ("200", "200-299") into ranges; throws naming the bad key. */
export function parseTtlByStatus(value: Record<string, unknown>, where: string): StatusTtl[] {
  const out: StatusTtl[] = [];
  for (const [k, v] of Object.entries(value)) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(k);
    if (!m) throw new TypeError(`${where}: "${k}" is not a status code or a range like "200-299"`);
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new TypeError(`${where}["${k}"] must be an integer number of seconds, received ${String(v)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 100 || to > 599 || to < from)
      throw new TypeError(`${where}: "${k}" is not a valid status range (100-599)`);
    out.push({ from, to, ttl: v });
  }
  return out;
}
