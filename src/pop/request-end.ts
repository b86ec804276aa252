/**
 * What the PoP records of each request once it is over, in one place: its metrics, its line
 * in the log (`--log-format`) and its trace (handed to the tracer, which keeps or drops it).
 * The front (server.ts) fills a `Seen` as the request goes and calls requestEnded once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type EdgeMetrics,
  epochOf,
  type Observer,
  type OpenSpan,
  parseTraceparent,
  type RequestStream,
  type RequestTrace,
  SpanKind,
  type Tracer,
} from '../observability/index.ts';

/** What the PoP learned of a request as it went, for its metrics and its trace. */
export interface Seen {
  pop: string;
  worker: string;
  /** `performance.now()` when it arrived. */
  started: number;
  url?: string;
  ray?: string;
  /** It failed on the platform's side (an exception, a limit): the message. */
  error?: string;
  /** What the platform policies decided, step by step (e.g. "waf:allow jwt:token_expired"). */
  policy?: string;
  /** The client's address (CF-Connecting-IP: the peer, or what the trusted proxy said). */
  client?: string;
  /** Set for a WebSocket upgrade: its 101, the response that never closes. */
  status?: number;
  /** What was written of its response (else `written` holds it, as writeResponse records it). */
  out?: { bytes: number; cacheStatus: string };
  /** Its trace, when traced: also its server span, the root of the trace. */
  trace?: RequestTrace;
  /** What runs once when it is over (the response closed, or a WebSocket upgrade completed); null after. */
  ended: (() => void) | null;
}

/**
 * A request's record with every field present from the start: one object shape for all
 * requests (fields added one by one as a request goes would move it through several).
 */
export function newSeen(pop: string): Seen {
  return {
    pop,
    worker: '',
    started: performance.now(),
    url: undefined,
    ray: undefined,
    error: undefined,
    policy: undefined,
    client: undefined,
    status: undefined,
    out: undefined,
    trace: undefined,
    ended: null,
  };
}

/** The status a request ended with: its response's, 101 for an upgrade, 499 when the client left first. */
export function statusOf(res: ServerResponse, seen: Seen): number {
  return seen.status ?? (res.headersSent ? res.statusCode : 499);
}

type EndOptions = { metrics?: EdgeMetrics; tracer?: Tracer; observer: Observer; requests?: RequestStream };

/** The request is over: count it, hand its trace to the tracer, write its line. */
export function requestEnded(
  options: EndOptions,
  req: IncomingMessage,
  res: ServerResponse,
  seen: Seen,
): void {
  if (seen.ended === null) return;
  seen.ended = null;
  const status = statusOf(res, seen);
  const out = seen.out ?? writtenOf(res);
  // A response that did not finish (the client left) is not counted, as before.
  if (options.metrics && (seen.status !== undefined || res.writableFinished))
    options.metrics.request({
      pop: seen.pop,
      worker: seen.worker,
      status,
      cacheStatus: out?.cacheStatus ?? 'none',
      seconds: (performance.now() - seen.started) / 1000,
      bytes: out?.bytes ?? 0,
    });
  // The dashboard's stream of every request (made only while someone listens).
  if (options.requests?.listening)
    options.requests.emit({
      at: Date.now(),
      ray: seen.ray ?? '',
      pop: seen.pop,
      worker: seen.worker,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0].slice(0, 200),
      status,
      cache: out?.cacheStatus ?? 'none',
      ms: Math.round((performance.now() - seen.started) * 10) / 10,
      bytes: out?.bytes ?? 0,
    });
  const tracer = options.tracer;
  // The attributes are made only for a trace that is kept: most are not, at a low ratio.
  if (
    tracer &&
    seen.trace &&
    tracer.keeps(seen.trace, status, seen.error, performance.now() - seen.started)
  ) {
    endRoot(req, res, seen, status);
    tracer.keep(seen.trace, {
      ...(seen.ray ? { ray: seen.ray } : {}),
      pop: seen.pop,
      worker: seen.worker,
      status,
      // For the dashboard's request detail, while someone looks.
      ...(tracer.recent && tracer.recent.watchers > 0 ? { responseHeaders: responseHeadersOf(res) } : {}),
    });
  }
  logRequest(options.observer, req, res, seen);
}

/** What the response's `close` listener needs, kept on the response (see endsOnClose). */
const ENDING = Symbol('outpost.ending');
type Ending = ServerResponse & {
  [ENDING]?: { options: EndOptions; req: IncomingMessage; seen: Seen };
};
/** `seen.ended` until the request is recorded: requestEnded() records it once. */
const NOT_ENDED = () => {};

function onResponseClose(this: Ending): void {
  const e = this[ENDING];
  if (e) requestEnded(e.options, e.req, this, e.seen);
}

/**
 * A request's record (the PoP's, the CDN proxy's) is written once its response closes, by one
 * listener function for all requests, what it needs kept on the response. A closure per
 * request kept requests alive past the young generation: made in the request handler it
 * captured the handler's whole context, and even made in a helper, capturing four values, ~72
 * KB was still promoted by each scavenge on hello world, against nothing with this
 * (docs/runtime.md, "Costs worth knowing").
 */
export function endsOnClose(
  options: EndOptions,
  req: IncomingMessage,
  res: ServerResponse,
  seen: Seen,
): void {
  seen.ended = NOT_ENDED;
  (res as Ending)[ENDING] = { options, req, seen };
  res.once('close', onResponseClose);
}

/** Response headers whose values a trace kept for the dashboard does not show. */
const HIDDEN_RESPONSE_HEADERS = new Set(['set-cookie', 'authorization', 'proxy-authorization']);

/**
 * A response's headers as sent, for the dashboard (cookies it sets hidden). The response path
 * writes them as a flat array (respond.ts), which `getHeaders()` does not see: they are read
 * from the header block Node wrote (`_header`), else from `getHeaders()` (HTTP/2).
 */
function responseHeadersOf(res: ServerResponse): Record<string, string> {
  const out: Record<string, string> = {};
  if (!res.headersSent) return out;
  const add = (name: string, value: string) => {
    const n = name.toLowerCase();
    const v = HIDDEN_RESPONSE_HEADERS.has(n) ? 'REDACTED' : value;
    out[n] = out[n] === undefined ? v : `${out[n]}, ${v}`;
  };
  const block = (res as unknown as { _header?: unknown })._header;
  if (typeof block === 'string')
    for (const line of block.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) add(line.slice(0, colon), line.slice(colon + 1).trim());
    }
  else
    for (const [name, value] of Object.entries(res.getHeaders()))
      if (value !== undefined) add(name, Array.isArray(value) ? value.join(', ') : String(value));
  return out;
}

/**
 * The request's line (one per request, JSON with `--log-format json`): what it was, how it
 * ended, where and how fast, its ray id and trace id — what a worker's console lines are tagged
 * with (their `request` field), so the two join.
 */
function logRequest(observer: Observer, req: IncomingMessage, res: ServerResponse, seen: Seen): void {
  if (observer.wants?.('info') === false) return;
  const status = statusOf(res, seen);
  const out = seen.out ?? writtenOf(res);
  const traceId =
    seen.trace?.traceId ?? parseTraceparent(req.headers.traceparent as string | undefined)?.traceId;
  observer.log({
    level: 'info',
    source: 'request',
    message: `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0].slice(0, 200)} ${status}`,
    fields: {
      ray: seen.ray ?? '',
      pop: seen.pop,
      worker: seen.worker,
      status,
      cache: out?.cacheStatus ?? 'none',
      ms: Math.round((performance.now() - seen.started) * 10) / 10,
      bytes: out?.bytes ?? 0,
      ...(traceId ? { trace: traceId } : {}),
      ...(seen.error !== undefined ? { error: seen.error.slice(0, 500) } : {}),
      ...(seen.policy !== undefined ? { policy: seen.policy } : {}),
    },
  });
}

/** Starts the trace of a request (continuing its `traceparent`) with the PoP's server span. */
export function startTrace(tracer: Tracer, req: IncomingMessage, seen: Seen): OpenSpan {
  const h = req.headers;
  const trace = tracer.begin(
    Array.isArray(h.traceparent) ? h.traceparent.join(',') : h.traceparent,
    Array.isArray(h.tracestate) ? h.tracestate.join(',') : h.tracestate,
    req.method ?? 'GET',
    SpanKind.SERVER,
    epochOf(seen.started),
  );
  seen.trace = trace;
  return trace;
}

/** The server span of a kept trace, ended with OpenTelemetry's HTTP server attributes. */
function endRoot(req: IncomingMessage, res: ServerResponse, seen: Seen, status: number): void {
  const host = (req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '').replace(
    /:\d+$/,
    '',
  );
  const out = seen.out ?? writtenOf(res);
  const ua = req.headers['user-agent'];
  const client = seen.client ?? req.socket?.remoteAddress;
  seen.trace?.end(
    {
      'http.request.method': req.method ?? 'GET',
      'url.path': (req.url ?? '/').split('?')[0].slice(0, 2048),
      ...(seen.url ? { 'url.full': seen.url.slice(0, 2048) } : {}),
      'server.address': host,
      'network.protocol.version': req.httpVersion,
      ...(ua ? { 'user_agent.original': ua.slice(0, 512) } : {}),
      'url.scheme': (req.socket as { encrypted?: boolean })?.encrypted ? 'https' : 'http',
      ...(client ? { 'client.address': client } : {}),
      ...(seen.ray ? { 'cloudflare.ray_id': seen.ray } : {}),
      'http.response.status_code': status,
      'outpost.pop': seen.pop,
      'faas.name': seen.worker,
      'outpost.cache.status': out?.cacheStatus ?? 'none',
      'http.response.body.size': out?.bytes ?? 0,
    },
    seen.error ?? (status >= 500 ? `HTTP ${status}` : undefined),
  );
}

/**
 * What writeResponse wrote of a response, for the metrics (body bytes, cache status): kept on
 * the response under a symbol. (In a WeakMap it cost an ephemeron table entry per request: its
 * write barrier and rehashes were ~1.6% of the PoP's thread on hello world, perf.)
 */
const WRITTEN = Symbol('outpost.written');
type Written = { bytes: number; cacheStatus: string };

export function recordWritten(res: ServerResponse, out: Written): void {
  (res as ServerResponse & { [WRITTEN]?: Written })[WRITTEN] = out;
}

function writtenOf(res: ServerResponse): Written | undefined {
  return (res as ServerResponse & { [WRITTEN]?: Written })[WRITTEN];
}
