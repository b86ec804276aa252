/**
 * Purge: validated selectors, and the bus that takes one purge to every PoP cache. In the
 * embedded network every PoP's HttpCache joins one bus in the process, so a purge reaches all
 * of them before it is acknowledged; the distributed network (NATS) publishes on a subject
 * instead (the network issue).
 *
 * Selectors follow Cloudflare's purge API (https://developers.cloudflare.com/api/resources/cache/methods/purge/):
 * files (URLs), prefixes, tags, everything. A prefix is a full URL, Cloudflare's scheme-less
 * `host/path` form (which covers http and https), or a path ("/blog/", on any host).
 */
import type { PurgeSelector } from './http-cache.ts';
import type { CacheFigures } from './lookup-counts.ts';

/** A purge request that cannot be done, naming the field. */
export class PurgeError extends Error {
  readonly code = 'PURGE_INVALID';
}

const MAX_ITEMS = 1000;

function list(v: unknown, field: string, check: (s: string) => string | null): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new PurgeError(`"${field}" must be an array of strings`);
  if (v.length > MAX_ITEMS)
    throw new PurgeError(`"${field}" may name at most ${MAX_ITEMS} items, received ${v.length}`);
  return v.map((s, i) => {
    if (typeof s !== 'string' || s === '')
      throw new PurgeError(`"${field}[${i}]" must be a non-empty string`);
    const problem = check(s);
    if (problem)
      throw new PurgeError(`"${field}[${i}]" ${problem}, received ${JSON.stringify(s.slice(0, 200))}`);
    return s;
  });
}

function httpUrl(s: string): string | null {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'must be an http(s) URL';
  } catch {
    return 'must be an http(s) URL';
  }
}

/** A purge of everything a cache holds. */
export const PURGE_EVERYTHING: PurgeSelector = Object.freeze({
  urls: [],
  prefixes: [],
  paths: [],
  tags: [],
  everything: true,
});

/** Check a purge request body (JSON from the admin endpoint, the CLI or a worker). */
export function parsePurge(body: unknown): PurgeSelector {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new PurgeError('a purge must be a JSON object with files, prefixes, tags or purge_everything');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['files', 'urls', 'prefixes', 'tags', 'purge_everything', 'worker'].includes(k))
      throw new PurgeError(`unknown field "${k}" (known: files, prefixes, tags, purge_everything, worker)`);
  const urls = [...list(b.files, 'files', httpUrl), ...list(b.urls, 'urls', httpUrl)];
  const rawPrefixes = list(b.prefixes, 'prefixes', () => null);
  const paths = rawPrefixes.filter((p) => p.startsWith('/'));
  const prefixes = rawPrefixes
    .filter((p) => !p.startsWith('/'))
    .flatMap((p) => (/^https?:\/\//.test(p) ? [p] : [`http://${p}`, `https://${p}`]));
  const tags = list(b.tags, 'tags', (s) =>
    /[\0-\x1f,]/.test(s) ? 'must not contain commas or control characters' : null,
  );
  if (b.purge_everything !== undefined && typeof b.purge_everything !== 'boolean')
    throw new PurgeError('"purge_everything" must be true or false');
  if (b.worker !== undefined && (typeof b.worker !== 'string' || b.worker === ''))
    throw new PurgeError('"worker" must be a worker name');
  const everything = b.purge_everything === true;
  if (!everything && urls.length + rawPrefixes.length + tags.length === 0)
    throw new PurgeError('nothing to purge: give files, prefixes, tags or purge_everything: true');
  return { urls, prefixes, paths, tags, everything, namespace: b.worker as string | undefined };
}

/** Anything a purge must reach: a PoP's HttpCache, its Cache API store. */
export interface Purgeable {
  purge(sel: PurgeSelector): Promise<number> | number;
  /** What it holds and how it answered, for the dashboard (HttpCache, ApiCacheStore). */
  cacheStats?(limit?: number): Promise<CacheFigures>;
}

/** Which cache it is: a PoP's (`pop`: its HTTP cache, `api`: its Cache API store), a shield's, the upper tier's. */
export interface CacheLabel {
  tier: 'pop' | 'api' | 'shield' | 'upper';
  /** The PoP or shield id ('' for the upper tier). */
  id: string;
}

export class PurgeBus {
  readonly #caches = new Map<Purgeable, CacheLabel | null>();

  /** A PoP's cache starts hearing purges; the returned function stops it. */
  join(cache: Purgeable, label: CacheLabel | null = null): () => void {
    this.#caches.set(cache, label);
    return () => this.#caches.delete(cache);
  }

  /** Each labelled cache's figures (the dashboard's Cache view), in the order they joined. */
  async stats(limit = 10): Promise<(CacheLabel & CacheFigures)[]> {
    const out: Promise<CacheLabel & CacheFigures>[] = [];
    for (const [cache, label] of this.#caches)
      if (label && cache.cacheStats) out.push(cache.cacheStats(limit).then((f) => ({ ...label, ...f })));
    return Promise.all(out);
  }

  /**
   * Purge on every joined cache; resolves when all have done it, with what each labelled cache
   * dropped (the dashboard shows each PoP's and tier's acknowledgement).
   */
  async purge(
    sel: PurgeSelector,
  ): Promise<{ purged: number; caches: number; byCache: (CacheLabel & { purged: number })[] }> {
    const all = [...this.#caches];
    const counts = await Promise.all(all.map(async ([c]) => c.purge(sel)));
    return {
      purged: counts.reduce((a, b) => a + b, 0),
      caches: counts.length,
      byCache: all.flatMap(([, label], i) => (label ? [{ ...label, purged: counts[i] }] : [])),
    };
  }
}
