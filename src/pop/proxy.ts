/**
 * CDN proxy mode: a route with no worker. The PoP is a caching reverse proxy to the origin
 * (src/cache/http-cache.ts over a memory or disk store); every response says how the cache
 * answered (`cf-cache-status`, `Age`). `outpost dev --origin URL` in a folder without a worker
 * project runs it for every path, with the folder's `outpost.toml` (cache policies, store,
 * admin token; src/config/proxy.ts) when there is one.
 *
 * Every method is forwarded with its body; unsafe ones invalidate what they name (RFC 9111
 * §4.4). 102 and 103 interim responses from the origin reach the client (Node writes only
 * 103s that carry Link).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CacheRequest,
  type CacheStore,
  DiskStore,
  HttpCache,
  MemoryStore,
  type Origin,
  PurgeBus,
} from '../cache/index.ts';
import { type ProxyConfig, trustedProxyHeaderProblem, validateProxyConfig } from '../config/index.ts';
import { applyVariants, varyOnVariant } from '../frontend/variants/index.ts';
import { connectionListed, HOP_BY_HOP } from '../http/hop-by-hop.ts';
import { newRay, PLATFORM_REQUEST_HEADERS, requestHref, visitorHeaders } from '../network/index.ts';
import { httpOrigin } from '../network/origin.ts';
import {
  EdgeMetrics,
  type HopRecorder,
  type Observer,
  type PopMetrics,
  type RequestHops,
  recordHops,
  SpanKind,
  Tracer,
  type TracingOptions,
} from '../observability/index.ts';
import { fromAsyncIterable, OutpostError, type RecordedOrigin, recorded } from '../runtime/index.ts';
import { ADMIN_PREFIX, handleAdmin, newAdminToken } from './admin.ts';
import { PeekableBody } from './body.ts';
import { errorResponse } from './errors.ts';
import { Policies, type PolicyRequest } from './policies.ts';
import { ProxyNetwork, type ProxyNetworkOptions } from './proxy-network.ts';
import { endsOnClose, newSeen, startTrace } from './request-end.ts';
import { drained } from './respond.ts';
import { Site } from './site.ts';

export interface ProxyOptions {
  origin: string;
  host?: string;
  port?: number;
  /** Cache policies, store and admin token (default: no policies, memory store, a random token). */
  config?: ProxyConfig;
  /** Overrides the store the config asks for (tests). */
  store?: CacheStore;
  /** Where purges arrive (default: a bus of this proxy alone). */
  purges?: PurgeBus;
  /** A network of PoPs (each with its own cache, tiered through shields) instead of one. */
  network?: ProxyNetworkOptions;
  /**
   * The header a proxy you run in front sets to the client's address (default: the config's
   * `[trusted_proxy] header`, else none: the socket's peer is the client).
   */
  trustedProxyHeader?: string;
  /** Traces exported over OTLP/HTTP (src/observability/tracer.ts); none: not traced. */
  tracing?: TracingOptions;
  observer: Observer;
}

export interface ProxyServer {
  url: string;
  port: number;
  server: Server;
  cache: HttpCache;
  /** What each PoP answered and how its caches and origin did (`/__outpost/metrics`). */
  metrics: EdgeMetrics;
  /** The admin token (`Authorization: Bearer …` on /__outpost/ endpoints). */
  adminToken: string;
  close(): Promise<void>;
}

/** Response fields with the PoP's cf-ray instead of an origin's own (a new array: `flat` may be a stored entry's). */
function withRay(flat: string[], ray: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (flat[i] !== 'cf-ray') out.push(flat[i], flat[i + 1]);
  out.push('cf-ray', ray);
  return out;
}

// Closures made outside the request handler, capturing only what they use.
/** What passes an origin's 102 and 103 on to the client (made here: see endsOnClose). */
function interimTo(res: ServerResponse): (status: number, headers: string[]) => void {
  return (status, headers) => {
    if (res.headersSent) return;
    if (status === 102) return void res.writeProcessing();
    if (status !== 103) return;
    const hints: Record<string, string[]> = {};
    for (let i = 0; i < headers.length; i += 2) (hints[headers[i]] ??= []).push(headers[i + 1]);
    res.writeEarlyHints(hints);
  };
}

function recordingInto(origin: RecordedOrigin, hops: HopRecorder): Origin {
  return (q) => origin(q, hops, false);
}

/**
 * The request the cache (and the origin) gets: hop-by-hop fields removed, and the client's
 * address, ray id, scheme and country set by the platform as Cloudflare sends them to an origin
 * (src/network/visitor.ts); what the client sent in those fields is not passed on.
 */
function requestOf(
  req: IncomingMessage,
  host: string,
  client: { trusted: string | undefined; ray: string; country?: string },
): CacheRequest {
  const headers: string[] = [];
  const listed = connectionListed(req.headers.connection);
  let forwardedFor: string | undefined;
  let trustedValue: string | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (n === client.trusted) trustedValue = trustedValue === undefined ? value : `${trustedValue}, ${value}`;
    if (PLATFORM_REQUEST_HEADERS.has(n)) {
      if (n === 'x-forwarded-for')
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (!HOP_BY_HOP.has(n) && !listed.has(n)) headers.push(n, value);
  }
  headers.push(
    ...visitorHeaders({
      peer: req.socket.remoteAddress,
      ...(trustedValue !== undefined ? { trusted: trustedValue } : {}),
      ...(forwardedFor !== undefined ? { forwardedFor } : {}),
      https: false,
      country: client.country,
      ray: client.ray,
    }),
  );
  const method = req.method ?? 'GET';
  return {
    method,
    url: requestHref(req.url ?? '/', req.headers.host ?? host),
    headers,
    body: method === 'GET' || method === 'HEAD' ? null : req,
  };
}

export async function startProxy(options: ProxyOptions): Promise<ProxyServer> {
  const config = options.config ?? validateProxyConfig({}, '<defaults>', process.cwd());
  const onError = (err: Error) =>
    options.observer.log({ level: 'warn', source: 'outpost', message: `cache: ${err.message}` });
  const store =
    options.store ??
    (config.store === 'disk'
      ? new DiskStore({ dir: config.cacheDir, maxBytes: Math.floor(config.maxSizeMb * 1048576), onError })
      : new MemoryStore({ maxBytes: Math.floor(config.maxSizeMb * 1048576) }));
  const cache = new HttpCache({ store, onError, maxEntryBytes: Math.floor(config.maxEntryMb * 1048576) });
  const purges = options.purges ?? new PurgeBus();
  const leave = purges.join(cache, { tier: 'pop', id: '' });
  const adminToken = config.adminToken ?? newAdminToken();
  const trusted = (options.trustedProxyHeader ?? config.trustedProxyHeader)?.toLowerCase();
  const problem = trusted === undefined ? null : trustedProxyHeaderProblem(trusted);
  if (problem)
    throw new OutpostError(
      'INVALID_OPTION',
      `trustedProxyHeader must be ${problem}, received "${options.trustedProxyHeader}"`,
    );
  // What every request leaves once it is over (src/pop/request-end.ts), as in worker mode: its
  // metrics, its log line and its trace. There is no worker: the `worker` label is empty.
  const metrics = new EdgeMetrics();
  const network = options.network ? new ProxyNetwork(options.network, purges, onError, metrics) : null;
  // A/B tests: each response for a request with a bucket varies on it (src/frontend/variants/).
  const origin = config.experiments.length
    ? varyOnVariant(httpOrigin(options.origin))
    : httpOrigin(options.origin);
  // The cache policies by path and content class (src/pop/site.ts); every path goes to the origin.
  const site = new Site({ origin: options.origin, policies: config.policies, routes: null });
  const host = options.host ?? '127.0.0.1';
  const kvPolicy = config.security?.jwt.find((p) => p.keys.kind === 'kv');
  if (kvPolicy)
    throw new OutpostError(
      'INVALID_OPTION',
      `${config.configPath}: ${kvPolicy.at}.keys_kv: CDN proxy mode has no KV namespaces; use jwks_url`,
    );
  const policies = config.security
    ? new Policies(config.security, { observer: options.observer, metrics })
    : null;
  // Made once the configuration is known to be good (it starts the export thread).
  const tracer = options.tracing ? new Tracer(options.tracing, options.observer) : null;
  if (tracer) tracer.onCount = (what, n) => metrics.traceSpans(what, n);
  const ending = { metrics, ...(tracer ? { tracer } : {}), observer: options.observer };
  // Per PoP, made once: what it counts, and the origin as it reaches it (its requests' spans and
  // the traceparent they carry; its failures and 5xx counted), also as a plain Origin for an
  // untraced fill on one PoP.
  const pops = new Map<string, { count: PopMetrics; origin: RecordedOrigin; plain: Origin }>();
  const popAt = (pop: string) => {
    let p = pops.get(pop);
    if (!p) {
      const count = metrics.forPop(pop);
      const o = recorded(origin, count);
      pops.set(pop, (p = { count, origin: o, plain: (q) => o(q, null, false) }));
    }
    return p;
  };
  const server = createServer(async (req, res) => {
    // Every response carries the request's ray id. Not set with setHeader on the answering path:
    // writeHead(status, array) then has to merge (slow, and keeps only the last of repeated
    // fields); the ray goes into the array instead.
    let ray = '';
    const seen = newSeen('DEV');
    try {
      if (req.url?.startsWith(ADMIN_PREFIX)) {
        const at = network?.route(req);
        res.setHeader('cf-ray', newRay(at && 'pop' in at ? at.pop.id : 'DEV'));
        if (await handleAdmin(req, res, { token: adminToken, purges, metrics })) return;
        res.removeHeader('cf-ray');
      }
      const root = tracer?.wants() ? startTrace(tracer, req, seen) : null;
      endsOnClose(ending, req, res, seen);
      const route = network?.route(req, root?.scope);
      if (route && 'pop' in route) {
        seen.pop = route.pop.id;
        // The router's choice, and the modelled trip to the PoP it chose (as in worker mode).
        root?.scope
          .start('outpost.route', SpanKind.INTERNAL, {
            'outpost.pop': seen.pop,
            'outpost.hop': route.edge.desc,
            'outpost.hop.simulated_ms': route.edge.ms,
          })
          .end();
      }
      ray = newRay(seen.pop);
      seen.ray = ray;
      let r: CacheRequest;
      try {
        r = requestOf(req, host, {
          trusted,
          ray,
          ...(route && 'pop' in route && route.country ? { country: route.country } : {}),
        });
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain', 'cf-ray': ray });
        return void res.end('Bad Request: invalid URL or Host header\n');
      }
      seen.url = r.url;
      if (root)
        for (let i = 0; i < r.headers.length; i += 2)
          if (r.headers[i] === 'cf-connecting-ip') seen.client = r.headers[i + 1];
      const policyHeaders: string[] = [];
      if (policies && !policies.empty) {
        // The WAF reads a prefix of the body ahead; the origin then gets it whole, replayed.
        const body = r.body ? new PeekableBody(fromAsyncIterable(r.body)) : null;
        if (body)
          r.body = {
            async *[Symbol.asyncIterator]() {
              for (let c = await body.next(); c !== null; c = await body.next()) yield c;
            },
          };
        // WAF, rate limits, JWT (src/pop/policies.ts): before the cache, as before a worker.
        const p: PolicyRequest = {
          responseHeaders: policyHeaders,
          decisions: [],
          target: req.url ?? '/',
          body,
          method: r.method,
          url: new URL(r.url),
          headers: r.headers,
          pop: seen.pop,
          worker: '',
          scope: root?.scope,
          kv: null,
        };
        const stop = await policies.apply(p);
        if (p.decisions?.length) seen.policy = p.decisions.join(' ');
        if (stop) {
          body?.cancel();
          res.writeHead(stop.status, [...stop.headers.flat(), 'cf-ray', ray]);
          // Outpost's own answer: no body bytes counted (as in worker mode).
          seen.out = { bytes: 0, cacheStatus: 'none' };
          return void res.end(stop.body);
        }
        if (p.rewrittenUrl) r.url = p.rewrittenUrl;
      }
      if (config.experiments.length)
        for (const c of applyVariants(r.headers, config.experiments, new URL(r.url).pathname, false))
          policyHeaders.push('set-cookie', c);
      r.onInterim = interimTo(res);
      const policy = config.policies.length ? site.policyFor(new URL(r.url).pathname) : undefined;
      if (route && !('pop' in route)) {
        seen.error = route.message;
        const e = errorResponse(route, true);
        res.writeHead(e.status, { 'content-type': 'text/plain', 'cf-ray': ray });
        return void res.end(e.body);
      }
      // The PoP's cache lookup: a span holding the fill through the tiers and the origin request.
      const recorder = route
        ? route.recorder
        : root
          ? recordHops({ hops: [], shield: [], objects: [] } satisfies RequestHops, root.scope)
          : null;
      const lookup = recorder?.begin('outpost.cache', SpanKind.INTERNAL, {
        'outpost.cache.tier': 'pop',
        'url.full': r.url.slice(0, 2048),
      });
      const at = popAt(seen.pop);
      const inner = lookup ? lookup.recorder : null;
      const fill: Origin = route
        ? route.origin(at.origin, policy, inner ?? route.recorder)
        : inner
          ? recordingInto(at.origin, inner)
          : at.plain;
      let a: Awaited<ReturnType<HttpCache['handle']>>;
      try {
        a = await (route ? route.cache : cache).handle(r, fill, policy);
      } catch (err) {
        lookup?.end(null, undefined, (err as Error).message);
        throw err;
      }
      at.count.cache('pop', a.cacheStatus);
      // Its Server-Timing entry is the tiers' (`shield`, `origin`): none of its own.
      lookup?.end(null, { 'outpost.cache.status': a.cacheStatus });
      if (route) {
        a = { ...a, headers: [...a.headers, ...route.headers()] };
        if (route.edgeDelayMs) await new Promise((done) => setTimeout(done, route.edgeDelayMs));
      }
      // One raw array, nothing set before it: repeated fields (two Set-Cookie or Cache-Control
      // lines) go out as they are.
      res.writeHead(
        a.status,
        a.statusText || undefined,
        withRay(policyHeaders.length ? [...a.headers, ...policyHeaders] : a.headers, ray),
      );
      const out = { bytes: 0, cacheStatus: a.cacheStatus };
      seen.out = out;
      if (a.bytes && req.method !== 'HEAD') {
        out.bytes = a.bytes.byteLength;
        return void res.end(a.bytes);
      }
      if (a.body && req.method !== 'HEAD')
        for await (const chunk of a.body) {
          // The client left: stop reading (leaving the loop cancels the body).
          if (res.destroyed) break;
          out.bytes += chunk.byteLength;
          if (!res.write(chunk)) await drained(res);
        }
      res.end();
    } catch (err) {
      seen.error = (err as Error)?.message ?? String(err);
      options.observer.log({
        level: 'error',
        source: 'outpost',
        message: `origin request failed: ${(err as Error).message}`,
      });
      if (res.headersSent) {
        // The body failed after its head went out (the origin's connection broke): the
        // response is cut short, and counted as the origin's failure.
        if (!res.destroyed) popAt(seen.pop).count.originError('network');
        return void res.destroy();
      }
      res.writeHead(502, { 'content-type': 'text/plain', ...(ray ? { 'cf-ray': ray } : {}) });
      res.end(`Origin unreachable: ${(err as Error).message}\n`);
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, host, () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    cache,
    metrics,
    adminToken,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      leave();
      await tracer?.close();
      await site.close();
      await cache.idle();
      if (!options.store) await store.close();
    },
  };
}
