/**
 * The PoP's HTTP front: turns node:http requests into WorkerRequests, runs them on the runtime
 * and writes the answer back, streaming bodies with back-pressure in both directions.
 * Wiring only: behaviour lives in runtime/ (and later cache/, network/, security/).
 */
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { trustedProxyHeaderProblem } from '../config/index.ts';
import { applyVariants } from '../frontend/variants/index.ts';
import { connectionListed, HOP_BY_HOP } from '../http/hop-by-hop.ts';
import {
  acceptHanded,
  newRay,
  PLATFORM_REQUEST_HEADERS,
  requestHref,
  visitorHeaders,
} from '../network/index.ts';
import { SpanKind, serverTiming } from '../observability/index.ts';
import {
  LimitExceededError,
  OutpostError,
  type Runtime,
  WorkerException,
  type WorkerResponse,
} from '../runtime/index.ts';
import { ADMIN_PREFIX, handleAdmin } from './admin.ts';
import { incomingBody, PeekableBody, receivedWhole, WHOLE_BODY_MAX } from './body.ts';
import { errorResponse } from './errors.ts';
import { proxyToOrigin } from './origin.ts';
import type { PolicyRequest } from './policies.ts';
import { endsOnClose, newSeen, requestEnded, type Seen, startTrace } from './request-end.ts';
import { headerValue, writeResponse } from './respond.ts';
import type { PopServer, PopServerOptions } from './server-options.ts';
import { answerFromSite } from './site-serve.ts';

/**
 * node:http2, loaded when a server needs it (TLS, h2c): ~12 ms of every start otherwise, most
 * of which serve plain HTTP/1.1 (measured, Node 20 without its startup snapshot).
 */
const http2 = () => process.getBuiltinModule('node:http2');

export { drained, HOP_BY_HOP } from './respond.ts';
export type { PopSelection, PopServer, PopServerOptions } from './server-options.ts';

export async function startPopServer(options: PopServerOptions): Promise<PopServer> {
  const maxBody = options.maxBodyBytes ?? 100 * 1024 * 1024;
  const trusted = options.trustedProxyHeader?.toLowerCase();
  const problem = trusted === undefined ? null : trustedProxyHeaderProblem(trusted);
  if (problem)
    throw new OutpostError(
      'INVALID_OPTION',
      `trustedProxyHeader must be ${problem}, received "${options.trustedProxyHeader}"`,
    );
  // No token means no admin endpoints; an empty or short one is a mistake, not that.
  if (options.adminToken !== undefined && options.adminToken.length < 16)
    throw new OutpostError(
      'INVALID_OPTION',
      `adminToken must be at least 16 characters (leave it out for no admin endpoints), received ${options.adminToken.length}`,
    );
  const before = options.beforeRequest;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const wait = before?.();
    (wait ? wait.then(() => handle(req, res)) : handle(req, res)).catch((err) =>
      failed(res, err, 'request failed'),
    );
  };
  // With TLS, HTTP/2 and HTTP/1.1 share the port (ALPN); the HTTP/2 compatibility API gives
  // the handler the same request/response shape (pseudo-headers aside).
  const h2sessions = new Set<Http2Session>();
  const server: Server = options.tls
    ? (http2().createSecureServer(
        { allowHTTP1: true, key: options.tls.key, cert: options.tls.cert, maxHeaderListPairs: 512 },
        onRequest as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
      ) as unknown as Server)
    : createServer({ maxHeaderSize: 32 * 1024 }, onRequest);
  const track = (session: Http2Session) => {
    h2sessions.add(session);
    session.once('close', () => h2sessions.delete(session));
  };
  server.on('session', track);
  // h2c: HTTP/2 without TLS, on its own port.
  let h2c: NetServer | null = null;
  if (options.h2cPort !== undefined) {
    const h2 = http2().createServer(
      onRequest as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
    );
    h2.on('session', track);
    h2c = h2 as unknown as NetServer;
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${status}\n`);
  });

  /** A request whose handling threw: log it, answer if still possible, else reset. */
  const failed = (res: ServerResponse, err: unknown, what: string) => {
    options.observer.log({
      level: 'error',
      source: 'outpost',
      message: `${what}: ${(err as Error).stack ?? err}`,
    });
    if (!res.headersSent) sendError(res, err);
    else res.destroy();
  };

  const sendError = (res: ServerResponse, err: unknown) => {
    const e = errorResponse(err, !!options.dev);
    if (e.status >= 500) {
      const detail =
        err instanceof WorkerException ? err.mappedStack : ((err as Error)?.message ?? String(err));
      options.observer.log({
        level: 'error',
        source: 'outpost',
        message: `${e.status} ${e.code}: ${detail}`,
      });
    }
    res.writeHead(e.status, { 'content-type': 'text/plain; charset=utf-8', 'outpost-error': e.code });
    res.end(e.body);
  };
  const defaultPop = options.popId ?? 'DEV';

  // WebSocket upgrades (https://developers.cloudflare.com/workers/runtime-apis/websockets/): the
  // worker sees the request (Upgrade header included); a 101 with a WebSocket upgrades the
  // connection and bridges it to the worker's end, anything else is written as a response.
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 32 * 1024 * 1024,
    handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
  });
  const upgradeRay = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (lines: string[], req: IncomingMessage) => {
    const ray = upgradeRay.get(req);
    if (ray) lines.push(`cf-ray: ${ray}`);
  });
  type Handler = (
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: { socket: Duplex; head: Buffer },
  ) => Promise<void>;
  const upgradeTo = (h: Handler) => (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.on('finish', () => socket.destroy());
    h(req, res, { socket, head }).catch((err) => failed(res, err, 'upgrade failed'));
  };
  server.on('upgrade', upgradeTo(handle));
  // This process's own port takes calls between nodes only (HTTP/1.1 in the clear): the app, the
  // admin endpoints and the trusted proxy header are the main port's alone.
  let own: Server | null = null;
  if (options.ownPort !== undefined) {
    const peerOnly: Handler = async (req, res, upgrade) => {
      if (options.peer && (req.url ?? '').startsWith(ADMIN_PREFIX) && (await options.peer(req, res, upgrade)))
        return;
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('This port takes calls between Outpost nodes only.\n');
    };
    own = createServer({ maxHeaderSize: 32 * 1024 }, (req, res) => {
      peerOnly(req, res).catch((err) => failed(res, err, 'peer call failed'));
    });
    own.on('upgrade', upgradeTo(peerOnly));
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    upgrade?: { socket: Duplex; head: Buffer },
  ): Promise<void> {
    if (options.peer && (req.url ?? '').startsWith(ADMIN_PREFIX) && (await options.peer(req, res, upgrade)))
      return;
    if (upgrade && (req.url ?? '').startsWith(ADMIN_PREFIX)) {
      // No admin path upgrades; a worker must not get one (the browser sends the dashboard's
      // session cookie with it).
      upgrade.socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (!upgrade && options.adminToken && (req.url ?? '').startsWith(ADMIN_PREFIX)) {
      res.setHeader('cf-ray', newRay(defaultPop));
      const kvPops = options.admin ? options.admin.kvPops() : options.runtime.kv ? [options.runtime.kv] : [];
      await handleAdmin(req, res, {
        pop: defaultPop,
        dashboardLoopback: options.dashboardLoopback === true && !options.trustedProxyHeader,
        token: options.adminToken,
        purges: options.admin?.purges ?? options.runtime.purges,
        ...(options.admin?.network ? { network: options.admin.network } : {}),
        objects: options.runtime.objects,
        analytics: () => options.runtime.analytics,
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.tail ? { tail: options.tail } : {}),
        ...(options.tracer?.recent ? { traces: options.tracer.recent } : {}),
        ...(options.deployments ? { deployments: options.deployments } : {}),
        ...(options.networkPurge ? { networkPurge: options.networkPurge } : {}),
        ...(options.requests ? { requests: options.requests } : {}),
        workers:
          options.admin?.workers ??
          (() =>
            options.runtime.versions().map((v) => ({
              name: v.tenant,
              version: v.id,
              compatibilityDate: v.compatibilityDate ?? null,
            }))),
        ...(options.scheduled ? { scheduled: options.scheduled } : {}),
        ...(options.workflows ? { workflows: options.workflows } : {}),
        ...(kvPops.length && options.kvNamespace
          ? { kv: { pops: kvPops, namespace: options.kvNamespace } }
          : {}),
      });
      return;
    }
    // What the metrics, the request's line and its trace record once it is over: one listener.
    const seen: Seen = newSeen(defaultPop);
    const root = options.tracer?.wants() ? startTrace(options.tracer, req, seen) : null;
    endsOnClose(options, req, res, seen);
    const tenant = options.route(req);
    if (tenant instanceof OutpostError) {
      res.setHeader('cf-ray', newRay(defaultPop));
      return sendError(res, tenant);
    }
    const sel = options.select
      ? options.select(req)
      : {
          runtime: options.runtime,
          cf: options.cf(req),
          headers: options.popId ? ['outpost-pop', options.popId] : ([] as string[]),
          delayMs: 0,
        };
    seen.worker = tenant;
    if (!(sel instanceof OutpostError)) seen.pop = sel.popId ?? defaultPop;
    if (root && !(sel instanceof OutpostError) && sel.edge) {
      // The router's choice, and the modelled trip to the PoP it chose.
      const e = sel.edge;
      root.scope
        .start('outpost.route', SpanKind.INTERNAL, {
          'outpost.pop': seen.pop,
          'outpost.hop': e.desc,
          'outpost.hop.simulated_ms': e.ms,
        })
        .end();
    }
    // Every response carries the request's ray id, the worker sees it as CF-Ray.
    const ray = newRay(sel instanceof OutpostError ? defaultPop : (sel.popId ?? defaultPop));
    seen.ray = ray;
    if (sel instanceof OutpostError) {
      res.setHeader('cf-ray', ray);
      return sendError(res, sel);
    }
    if (options.testScheduled && (req.url ?? '').split('?')[0] === '/__scheduled') {
      res.setHeader('cf-ray', ray);
      return testScheduled(req, res, sel.runtime, tenant);
    }
    let url: string;
    try {
      const host =
        req.headers.host ??
        (req.headers[':authority'] as string | undefined) ??
        `${options.host ?? '127.0.0.1'}:${port}`;
      // A target beginning with // is a path on Host, not another host (src/network/urls.ts).
      url = requestHref(req.url ?? '/', host);
      seen.url = url;
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain', 'cf-ray': ray });
      return void res.end('Bad Request: invalid URL or Host header\n');
    }
    // The URL parsed once per value (a policy may rewrite it); its users must not change it.
    const parsed = parsedOnce(() => url);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) return tooLarge(res, `${declared} bytes, limit ${maxBody}`, ray);
    const headers: string[] = [];
    let forwardedFor: string | undefined;
    let trustedValue: string | undefined;
    let cookieAt = -1;
    // Fields the client's Connection names are hop-by-hop too (RFC 9110 §7.6.1).
    const listed = connectionListed(req.headers.connection);
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers
      if (name === trusted)
        trustedValue =
          trustedValue === undefined ? req.rawHeaders[i + 1] : `${trustedValue}, ${req.rawHeaders[i + 1]}`;
      if (PLATFORM_REQUEST_HEADERS.has(name)) {
        // The platform sets these; a client's values are dropped (X-Forwarded-For is kept to append to).
        if (name === 'x-forwarded-for')
          forwardedFor =
            forwardedFor === undefined ? req.rawHeaders[i + 1] : `${forwardedFor}, ${req.rawHeaders[i + 1]}`;
        continue;
      }
      if (name === 'cookie' && cookieAt >= 0) {
        // HTTP/2 sends each cookie as its own field: one Cookie for the worker, joined with
        // "; " (RFC 9113 §8.2.3), not the ", " of other repeated fields.
        headers[cookieAt + 1] += `; ${req.rawHeaders[i + 1]}`;
        continue;
      }
      if (name === 'cookie') cookieAt = headers.length;
      if ((!HOP_BY_HOP.has(name) && !listed.has(name)) || (upgrade && name === 'upgrade'))
        headers.push(name, req.rawHeaders[i + 1]);
    }
    const visitor = visitorHeaders({
      peer: req.socket.remoteAddress,
      ...(trustedValue !== undefined ? { trusted: trustedValue } : {}),
      ...(forwardedFor !== undefined ? { forwardedFor } : {}),
      https: !!options.tls,
      country: sel.country,
      ray,
    });
    for (let i = 0; i < visitor.length; i++) headers.push(visitor[i]);
    // The client's address as workers see it (CF-Connecting-IP), for the trace.
    const clientAt = root ? visitor.indexOf('cf-connecting-ip') : -1;
    if (clientAt >= 0) seen.client = visitor[clientAt + 1];
    const hasBody =
      req.method !== 'GET' &&
      req.method !== 'HEAD' &&
      (declared > 0 || req.headers['transfer-encoding'] !== undefined);
    let overLimit = false;
    const source = hasBody ? incomingBody(req, maxBody, () => (overLimit = true)) : null;
    // A site with routes: the route's worker, or (no route matches) the cache and the origin.
    let worker = tenant;
    let toOrigin = false;
    if (options.site?.routes) {
      const target = options.tls ? new URL(url) : parsed();
      if (options.tls) target.protocol = 'https:'; // routes may name a scheme
      const answer = options.site.answer(target, tenant);
      if ('origin' in answer) toOrigin = true;
      else worker = answer.worker;
      seen.worker = toOrigin ? '' : worker;
    }
    // Read ahead only when a WAF may inspect a prefix: other requests' bodies flow as before.
    const policies = options.policies && !options.policies.empty ? options.policies : null;
    const body = source && policies ? new PeekableBody(source) : source;
    const policyHeaders: string[] = [];
    if (policies) {
      // WAF, rate limits, JWT (src/pop/policies.ts): before the worker runs, before any cache.
      const policyRequest: PolicyRequest = {
        responseHeaders: policyHeaders,
        decisions: [],
        target: req.url ?? '/',
        body: body instanceof PeekableBody ? body : null,
        method: fetchMethod(req.method),
        url: parsed(),
        headers,
        pop: seen.pop,
        worker,
        scope: root?.scope,
        kv: sel.runtime.kv,
      };
      const stop = await policies.apply(policyRequest);
      if (policyRequest.decisions?.length) seen.policy = policyRequest.decisions.join(' ');
      if (stop) {
        body?.cancel();
        res.writeHead(stop.status, [...stop.headers.flat(), 'cf-ray', ray]);
        return void res.end(stop.body);
      }
      if (policyRequest.rewrittenUrl) url = policyRequest.rewrittenUrl;
    }

    // A/B tests: the visitor's buckets for this path, in Outpost-Variant (src/frontend/variants/).
    const experiments = options.site?.experiments;
    if (experiments?.length) {
      const cookies = applyVariants(headers, experiments, parsed().pathname, !!options.tls);
      for (const c of cookies) policyHeaders.push('set-cookie', c);
    }
    // The answer's head, once known, goes through the page features (ESI, Early Hints) and out.
    const hinted = upgrade ? undefined : options.pages?.hint(req, res, parsed());
    // A method, not a named arrow (see `ended` above).
    const answer = {
      async send(response: WorkerResponse, who: string) {
        if (options.pages && options.site) {
          const site = options.site;
          response = options.pages.finish(response, hinted, fetchMethod(req.method), () => ({
            site,
            runtime: sel.runtime,
            fallback: tenant,
            url: parsed(),
            headers,
            cf: sel.cf,
            scope: root?.scope,
          }));
        }
        if (sel.delayMs) await new Promise((r) => setTimeout(r, sel.delayMs));
        await writeResponse(req, res, response, (message) =>
          options.observer.log({ level: 'error', source: 'outpost', message: `${who}: ${message}` }),
        );
      },
    };
    if (toOrigin && options.site)
      return answer.send(
        await answerFromSite(res, {
          site: options.site,
          runtime: sel.runtime,
          method: fetchMethod(req.method),
          url: parsed(),
          headers,
          body,
          extra: [...sel.headers, ...policyHeaders, 'cf-ray', ray],
          edge: sel.edge,
          scope: root?.scope,
          warn: (message) => options.observer.log({ level: 'warn', source: 'outpost', message }),
        }),
        'origin',
      );
    let response: WorkerResponse;
    const started = performance.now();
    // A small body already here crosses with the request (no WAF reads ahead of the worker).
    const whole =
      source !== null && body === source
        ? await receivedWhole(req, declared, Math.min(WHOLE_BODY_MAX, maxBody))
        : null;
    try {
      response = await sel.runtime.handle(worker, {
        method: fetchMethod(req.method),
        url,
        headers,
        cf: sel.cf,
        body: whole ?? body,
        trace: root?.scope,
      });
    } catch (err) {
      seen.error = (err as Error)?.message ?? String(err);
      res.setHeader('cf-ray', ray);
      if (overLimit) return tooLarge(res, `limit ${maxBody} bytes`, ray);
      if (err instanceof WorkerException && err.passThrough && options.origin) {
        options.observer.log({
          level: 'warn',
          source: 'outpost',
          message: `worker threw; passing through to origin: ${err.message}`,
        });
        return proxyToOrigin(req, res, url, options.origin, headers);
      }
      if (err instanceof LimitExceededError) options.metrics?.limitExceeded(seen.pop, worker, err.limit);
      return sendError(res, err);
    }
    const ws = response.webSocket;
    if (ws && upgrade && response.status === 101 && wss.shouldHandle(req)) {
      const protocol = headerValue(response.headers, 'sec-websocket-protocol');
      if (protocol) chosenProtocol.set(req, protocol);
      upgradeRay.set(req, ray);
      res.detachSocket(upgrade.socket as Socket);
      // ws drops a handshake it refuses (bad key or version, a client already gone) without
      // calling back: the worker's end must hear of it, or it would wait for a client for ever.
      let taken = false;
      upgrade.socket.once('close', () => {
        if (!taken) ws.refuse('the WebSocket handshake failed');
      });
      wss.handleUpgrade(req, upgrade.socket, upgrade.head, (socket) => {
        taken = true;
        ws.attach(socket);
        // The response is the 101: its request line, trace and metrics end here (the detached
        // response will never close).
        seen.status = 101;
        requestEnded(options, req, res, seen);
      });
      return;
    }
    if (ws) {
      res.setHeader('cf-ray', ray);
      ws.refuse('the request was not a WebSocket upgrade');
      return sendError(
        res,
        new OutpostError(
          'WEBSOCKET_NOT_UPGRADE',
          'The worker answered with a WebSocket (101) but the request was not a WebSocket upgrade.',
        ),
      );
    }
    // Server-Timing: what the PoP adds (edge), the worker's time to response headers, then what
    // its subrequests and KV operations went through (cache, shield, origin, kv) in that time.
    const timing = serverTiming([
      ...(sel.edge ? [sel.edge] : []),
      { name: 'worker', ms: performance.now() - started, desc: worker },
      ...(response.hops?.hops ?? []),
    ]);
    const shield = response.hops?.shield.length ? ['outpost-shield', response.hops.shield.join(', ')] : [];
    if (response.hops?.objects.length) shield.push('outpost-do-location', response.hops.objects.join(', '));
    // The response's header list is this request's own (copied out of the isolate): appended to.
    const out = response.headers;
    for (let i = 0; i < sel.headers.length; i++) out.push(sel.headers[i]);
    for (let i = 0; i < policyHeaders.length; i++) out.push(policyHeaders[i]);
    out.push('server-timing', timing);
    for (let i = 0; i < shield.length; i++) out.push(shield[i]);
    out.push('cf-ray', ray);
    await answer.send(response, worker);
  }

  const listen = (srv: NetServer, p: number, exclusive = false) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port: p, host: options.host ?? '127.0.0.1', exclusive }, () =>
        resolve((srv.address() as AddressInfo).port),
      );
    });
  if (options.handed && (options.tls || h2c))
    throw new Error('a server handed connections by the primary speaks plain HTTP/1 (no TLS, no h2c)');
  const handed = options.handed ? acceptHanded(server, options.handed) : null;
  const port = options.handed ? (options.port ?? 8787) : await listen(server, options.port ?? 8787);
  const h2cPort = h2c ? await listen(h2c, options.h2cPort ?? 0) : undefined;
  // exclusive: in a cluster worker, a port of its own rather than one the primary shares out.
  let ownPort: number | undefined;
  if (own)
    try {
      ownPort = await listen(own, options.ownPort ?? 0, true);
    } catch (err) {
      handed?.stop();
      server.close();
      h2c?.close();
      throw err;
    }
  const shownHost = (options.host ?? '127.0.0.1').includes(':')
    ? `[${options.host}]`
    : (options.host ?? '127.0.0.1');
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    ...(h2cPort !== undefined ? { h2cUrl: `http://${shownHost}:${h2cPort}` } : {}),
    ...(ownPort !== undefined ? { ownPort } : {}),
    server,
    // Graceful: stop accepting, let requests in flight finish (HTTP/2 sessions get GOAWAY),
    // cut what is left after drainMs.
    close: () =>
      new Promise<void>((resolve) => {
        handed?.stop();
        for (const client of wss.clients) client.terminate();
        wss.close();
        const cut = setTimeout(() => {
          (server as Partial<Pick<Server, 'closeAllConnections'>>).closeAllConnections?.();
          own?.closeAllConnections();
          for (const s of h2sessions) s.destroy();
        }, options.drainMs ?? 5000);
        h2c?.close();
        let open = own ? 2 : 1;
        const closed = () => {
          if (--open > 0) return;
          clearTimeout(cut);
          resolve();
        };
        own?.close(closed);
        own?.closeIdleConnections();
        // Handed connections: the server never listened, so its close() answers at once; the
        // drain is over when the last connection handed to it has closed.
        if (handed) {
          server.close();
          void handed.drained().then(closed);
        } else server.close(closed);
        (server as Partial<Pick<Server, 'closeIdleConnections'>>).closeIdleConnections?.();
        for (const s of h2sessions) s.close();
      }),
  };
}

/** `/__scheduled?cron=…&time=…`: one scheduled() event, answered as wrangler dev answers it. */
async function testScheduled(req: IncomingMessage, res: ServerResponse, runtime: Runtime, tenant: string) {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const time = q.get('time');
  const scheduledTime = time === null ? Date.now() : Number(time);
  if (!Number.isFinite(scheduledTime)) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    return void res.end(`time must be milliseconds since the epoch, received "${time}"\n`);
  }
  try {
    await runtime.event(tenant, 'scheduled', [{ scheduledTime, cron: q.get('cron') ?? '' }]);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    return void res.end(`scheduled() failed: ${(err as Error).message}\n`);
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('Ran scheduled event\n');
}

/** The methods the Fetch standard normalizes to upper case (a `post` from HTTP/2 is POST). */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** A URL that may be rewritten (`current()`), parsed once per value it takes. */
function parsedOnce(current: () => string): () => URL {
  let parsed: URL | null = null;
  let from = '';
  return () => {
    const url = current();
    if (parsed === null || from !== url) {
      parsed = new URL(url);
      from = url;
    }
    return parsed;
  };
}

function fetchMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/** 413, and close the connection after it (node:http does, given `connection: close`): the
 * client may still be sending a body nobody will read. */
function tooLarge(res: ServerResponse, detail: string, ray: string): void {
  res.writeHead(413, { 'content-type': 'text/plain', connection: 'close', 'cf-ray': ray });
  res.end(`Request body too large: ${detail}\n`);
}
