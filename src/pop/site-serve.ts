/**
 * A request no worker route matches: the PoP's cache, then (in a network) the regional shield
 * and the upper tier, then the site's origin, under the site's cache policy for the path
 * (src/pop/site.ts). The same cache a worker's fetch() of the site uses, so a page the
 * origin serves and a worker's fetch() of it are one entry.
 *
 * What it went through is rendered as for a worker (Server-Timing `edge`, `cache`, `shield`,
 * `origin`; Outpost-Shield); the body streams as it arrives. The PoP writes the answer as it
 * writes a worker's (src/pop/server.ts), after page processing (ESI, Early Hints).
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { CacheAnswer, CacheRequest, Origin } from '../cache/index.ts';
import { wantsEsi } from '../frontend/esi/index.ts';
import { httpOrigin } from '../network/origin.ts';
import {
  type Hop,
  type HopRecorder,
  NO_TRACE,
  type RequestHops,
  recordHops,
  SpanKind,
  serverTiming,
  type TraceScope,
} from '../observability/index.ts';
import {
  type ChunkSource,
  fromAsyncIterable,
  type RecordedOrigin,
  type Runtime,
  recorded,
  type WorkerResponse,
} from '../runtime/index.ts';
import type { PeekableBody } from './body.ts';
import type { Site } from './site.ts';

export interface SiteRequest {
  site: Site;
  /** The PoP's runtime: its HTTP cache, the tiers above it, its metrics. */
  runtime: Runtime;
  method: string;
  url: URL;
  /** Flat, as the worker would have seen them (visitor headers included). */
  headers: string[];
  body: ChunkSource | PeekableBody | null;
  /** Added to the answer: the PoP's (Outpost-Pop), the policies', cf-ray last. */
  extra: string[];
  edge: Hop | undefined;
  scope: TraceScope | undefined;
  warn(message: string): void;
}

const origins = new WeakMap<Site, ReturnType<typeof recorded>>();

/**
 * One request to the site's origin through the PoP's cache (and in a network the tiers above
 * it), under the site's policy for the path; what it went through is told to `rec`. Throws
 * when the origin cannot be reached. The site must have an origin.
 */
export async function siteFetch(
  site: Site,
  runtime: Runtime,
  cacheReq: CacheRequest,
  pathname: string,
  rec: HopRecorder,
): Promise<CacheAnswer> {
  let direct = origins.get(site);
  if (!direct) {
    direct = markEsi(recorded(httpOrigin((site.origin as URL).href), runtime.metrics));
    if (site.wrap) direct = site.wrap(direct);
    origins.set(site, direct);
  }
  const policy = site.policyFor(pathname);
  const at = rec.begin('outpost.cache', SpanKind.INTERNAL, {
    'outpost.cache.tier': 'pop',
    'url.full': cacheReq.url.slice(0, 2048),
  });
  const inner = at.recorder;
  const fill = direct;
  const origin: Origin = runtime.tier
    ? runtime.tier(fill, policy ?? {}, inner, { site: true })
    : (q) => fill(q, inner, true);
  const started = performance.now();
  let a: CacheAnswer;
  try {
    a = await runtime.httpCache.handle(cacheReq, origin, policy);
  } catch (err) {
    at.end(null, undefined, (err as Error).message);
    throw err;
  }
  runtime.metrics.cache('pop', a.cacheStatus);
  at.end(
    { name: 'cache', ms: performance.now() - started, desc: `${a.cacheStatus} ${pathname}` },
    { 'outpost.cache.status': a.cacheStatus },
  );
  return a;
}

/**
 * The site's answer to a request no worker route matches, as a response to write (404 when the
 * site has no origin, 502 when the origin cannot be reached).
 */
export async function answerFromSite(res: ServerResponse, r: SiteRequest): Promise<WorkerResponse> {
  const { site, runtime } = r;
  const plain = (status: number, text: string): WorkerResponse => ({
    status,
    statusText: '',
    headers: ['content-type', 'text/plain; charset=utf-8', ...r.extra],
    body: new TextEncoder().encode(text),
  });
  if (!site.origin) {
    r.body?.cancel();
    return plain(
      404,
      `No worker route matches ${r.url.pathname} and the site has no origin (set origin in outpost.toml)\n`,
    );
  }
  const hops: RequestHops = { hops: [], shield: [], objects: [] };
  const rec = recordHops(hops, r.scope ?? NO_TRACE);
  const cacheReq: CacheRequest = {
    method: r.method,
    url: site.publicHref(r.url),
    headers: r.headers,
    body: r.body ? Readable.from(chunks(r.body)) : null,
    onInterim: (status, headers) => {
      // 103 Early Hints from the origin reach the client (Node writes only those with Link).
      if (res.headersSent || status !== 103) return;
      const hints: Record<string, string[]> = {};
      for (let i = 0; i < headers.length; i += 2) (hints[headers[i]] ??= []).push(headers[i + 1]);
      res.writeEarlyHints(hints);
    },
  };
  let a: CacheAnswer;
  try {
    a = await siteFetch(site, runtime, cacheReq, r.url.pathname, rec);
  } catch (err) {
    r.warn(`origin request failed: ${(err as Error).message}`);
    return plain(502, `Origin unreachable: ${(err as Error).message}\n`);
  }
  const headers = [...a.headers, 'server-timing', serverTiming([...(r.edge ? [r.edge] : []), ...hops.hops])];
  if (hops.shield.length) headers.push('outpost-shield', hops.shield.join(', '));
  return {
    status: a.status,
    statusText: a.statusText,
    headers: headers.concat(r.extra),
    body: a.bytes ?? (a.body ? fromAsyncIterable(a.body) : null),
  };
}

/**
 * The cache consumes Surrogate-Control (it is for the edge, not the browser): whether the
 * origin asked for ESI is kept with the response as `Outpost-Esi: 1`, stored with it, and
 * read (and removed) by the PoP's page processing (src/pop/pages.ts).
 */
export const ESI_MARK = 'outpost-esi';

function markEsi(origin: RecordedOrigin): RecordedOrigin {
  return async (r, hops, timing) => {
    const res = await origin(r, hops, timing);
    for (let i = 0; i < res.headers.length; i += 2)
      if (res.headers[i].toLowerCase() === 'surrogate-control' && wantsEsi(res.headers[i + 1]))
        return { ...res, headers: [...res.headers, ESI_MARK, '1'] };
    return res;
  };
}

async function* chunks(body: ChunkSource | PeekableBody): AsyncGenerator<Uint8Array> {
  for (let c = await body.next(); c !== null; c = await body.next()) yield c;
}
