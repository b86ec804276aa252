/**
 * The Cache API's host side: validates what the isolate sent and uses the PoP's store. Each
 * tenant sees only its own entries (the namespace includes the tenant), as a zone does on
 * Cloudflare.
 */
import type { ApiCacheStore, HttpCache, PurgeBus } from '../../cache/index.ts';
import { NO_METRICS, type PopMetrics } from '../../observability/index.ts';
import type { HopRecorder } from '../types.ts';
import { toArrayBuffer } from './bodies.ts';
import { hopName, type SiteLink, type Tier } from './fetch.ts';
import { isStringList, MAX_HEADER_LIST } from './lists.ts';
import { NamedError } from './named-error.ts';

export interface CacheAccess {
  store: ApiCacheStore;
  /** Prefix that keeps tenants apart. */
  tenant: string;
  /** The PoP's HTTP cache for fetch() subrequests (entries in the tenant's namespace). */
  http: HttpCache | null;
  /** Where a worker's purge goes (every PoP). */
  purges: PurgeBus | null;
  /** The cache tiers above this PoP's (a network's shields), if any. */
  tier?: Tier | null;
  /** The site the worker serves: its fetch() to the site's hosts goes to the site's origin. */
  site?: SiteLink | null;
}

const MAX_PURGE_ITEMS = 1000;

function strings(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_PURGE_ITEMS || v.some((s) => typeof s !== 'string' || s === ''))
    throw new NamedError(
      `cache.purge: ${field} must be an array of at most ${MAX_PURGE_ITEMS} non-empty strings`,
      'TypeError',
    );
  return v as string[];
}

/**
 * ctx.cache.purge() / `cache` from cloudflare:workers (https://developers.cloudflare.com/workers/cache/purge/):
 * by tags, path prefixes or everything, within the worker's own namespace, on every PoP.
 * A path prefix is a path ("/blog/", any host) or host and path ("example.com/blog/").
 */
export async function purgeCall(access: CacheAccess | null, options: unknown): Promise<unknown> {
  if (!access?.purges) throw new NamedError('cache.purge() is not available here', 'Error');
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new NamedError(
      'cache.purge: options must be an object { tags, pathPrefixes, purgeEverything }',
      'TypeError',
    );
  const o = options as Record<string, unknown>;
  const tags = strings(o.tags, 'tags');
  const prefixes = strings(o.pathPrefixes, 'pathPrefixes');
  if (o.purgeEverything !== undefined && typeof o.purgeEverything !== 'boolean')
    throw new NamedError('cache.purge: purgeEverything must be a boolean', 'TypeError');
  if (!o.purgeEverything && tags.length + prefixes.length === 0)
    throw new NamedError('cache.purge: give tags, pathPrefixes or purgeEverything: true', 'TypeError');
  const paths = prefixes.filter((p) => p.startsWith('/'));
  const hosts = prefixes.filter((p) => !p.startsWith('/'));
  await access.purges.purge({
    namespace: access.tenant,
    tags,
    paths,
    prefixes: hosts.flatMap((p) => (/^https?:\/\//.test(p) ? [p] : [`http://${p}`, `https://${p}`])),
    everything: o.purgeEverything === true,
  });
  return { success: true, errors: [] };
}

const MAX_NAME = 1024;

function invalid(what: string): NamedError {
  return new NamedError(`invalid cache call: ${what}`, 'TypeError');
}

export function cacheCall(
  access: CacheAccess | null,
  op: unknown,
  args: unknown[],
  hops: HopRecorder | null = null,
  metrics: PopMetrics = NO_METRICS,
): unknown {
  if (!access) throw new NamedError('The Cache API is not available here', 'Error');
  const [name, url] = args;
  if (typeof name !== 'string' || name.length > MAX_NAME) throw invalid('cache name');
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || url.length > 16384) throw invalid('url');
  const ns = `${access.tenant}\0${name}`;
  if (op === 'match') {
    const started = performance.now();
    const e = access.store.match(ns, url);
    metrics.cache('api', e ? 'HIT' : 'MISS');
    hops?.hop(
      {
        name: 'cache',
        ms: performance.now() - started,
        desc: `Cache API ${e ? 'HIT' : 'MISS'} ${hopName('GET', url)}`,
      },
      {
        name: 'cache_match',
        started,
        attrs: { 'url.full': url.slice(0, 2048), 'outpost.cache.status': e ? 'HIT' : 'MISS' },
      },
    );
    if (!e) return null;
    const age = Math.max(0, Math.floor((Date.now() - e.storedAt) / 1000));
    const headers = e.headers;
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i] !== 'age' && headers[i] !== 'cf-cache-status') out.push(headers[i], headers[i + 1]);
    out.push('cf-cache-status', 'HIT', 'age', String(age));
    const body = toArrayBuffer(e.body);
    return { status: e.status, statusText: e.statusText, headers: out, url: '', redirected: false, body };
  }
  if (op === 'delete') return access.store.delete(ns, url);
  if (op === 'put') {
    const [, , status, statusText, headers, body] = args;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599)
      throw invalid('status');
    if (typeof statusText !== 'string') throw invalid('statusText');
    if (!isStringList(headers, MAX_HEADER_LIST, true)) throw invalid('headers');
    if (!(body instanceof ArrayBuffer)) throw invalid('body');
    return access.store.put(ns, url, {
      status,
      statusText,
      headers: headers as string[],
      body: new Uint8Array(body),
    });
  }
  throw invalid('operation');
}
