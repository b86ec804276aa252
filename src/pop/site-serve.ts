/**
 * A request no worker route matches: the PoP's cache, then (in a network) the regional shield
 * and the upper tier, then the site's origin, under the site's cache policy for the path
 * (src/pop/site.ts). The same cache a worker's fetch() of the site uses, so a page the
 * origin serves and a worker's fetch() of it are one entry.
 *
 * What it went through is rendered as for a worker (Server-Timing `edge`, `cache`, `shield`,
 * `origin`; Outpost-Shield); the body streams as it arrives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { CacheAnswer, CacheRequest, Origin } from '../cache/index.ts';
import {
  type Hop,
  NO_TRACE,
  type RequestHops,
  recordHops,
  SpanKind,
  serverTiming,
  type TraceScope,
} from '../observability/index.ts';
import { type ChunkSource, fromAsyncIterable, type Runtime, recorded } from '../runtime/index.ts';
import type { PeekableBody } from './body.ts';
import { httpOrigin } from './proxy.ts';
import { writeResponse } from './respond.ts';
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
  delayMs: number;
  scope: TraceScope | undefined;
  warn(message: string): void;
}

const origins = new WeakMap<Site, ReturnType<typeof recorded>>();

export async function serveFromSite(
  req: IncomingMessage,
  res: ServerResponse,
  r: SiteRequest,
): Promise<void> {
  const { site, runtime } = r;
  if (!site.origin) {
    r.body?.cancel();
    res.writeHead(404, ['content-type', 'text/plain; charset=utf-8', ...r.extra]);
    return void res.end(
      `No worker route matches ${r.url.pathname} and the site has no origin (set origin in outpost.toml)\n`,
    );
  }
  let direct = origins.get(site);
  if (!direct) {
    direct = recorded(httpOrigin(site.origin.href), runtime.metrics);
    if (site.wrap) direct = site.wrap(direct);
    origins.set(site, direct);
  }
  const policy = site.policyFor(r.url.pathname);
  const hops: RequestHops = { hops: [], shield: [], objects: [] };
  const rec = recordHops(hops, r.scope ?? NO_TRACE);
  const cacheReq: CacheRequest = {
    method: r.method,
    url: site.publicUrl(r.url).href,
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
  const at = rec.begin('outpost.cache', SpanKind.INTERNAL, {
    'outpost.cache.tier': 'pop',
    'url.full': cacheReq.url.slice(0, 2048),
  });
  const inner = at.recorder;
  const fill = direct;
  const origin: Origin = runtime.tier ? runtime.tier(fill, policy ?? {}, inner) : (q) => fill(q, inner, true);
  const started = performance.now();
  let a: CacheAnswer;
  try {
    a = await runtime.httpCache.handle(cacheReq, origin, policy);
  } catch (err) {
    at.end(null, undefined, (err as Error).message);
    r.warn(`origin request failed: ${(err as Error).message}`);
    res.writeHead(502, ['content-type', 'text/plain; charset=utf-8', ...r.extra]);
    return void res.end(`Origin unreachable: ${(err as Error).message}\n`);
  }
  runtime.metrics.cache('pop', a.cacheStatus);
  at.end(
    { name: 'cache', ms: performance.now() - started, desc: `${a.cacheStatus} ${r.url.pathname}` },
    { 'outpost.cache.status': a.cacheStatus },
  );
  const headers = [...a.headers, 'server-timing', serverTiming([...(r.edge ? [r.edge] : []), ...hops.hops])];
  if (hops.shield.length) headers.push('outpost-shield', hops.shield.join(', '));
  if (r.delayMs) await new Promise((done) => setTimeout(done, r.delayMs));
  await writeResponse(
    req,
    res,
    {
      status: a.status,
      statusText: a.statusText,
      headers: headers.concat(r.extra),
      body: a.bytes ?? (a.body ? fromAsyncIterable(a.body) : null),
    },
    r.warn,
  );
}

async function* chunks(body: ChunkSource | PeekableBody): AsyncGenerator<Uint8Array> {
  for (let c = await body.next(); c !== null; c = await body.next()) yield c;
}
