/**
 * The admin API's streams and trace reads (admin.ts routes to them): the live tail
 * (`GET /__outpost/tail`), every answered request (`GET /__outpost/requests`), both as
 * Server-Sent Events with a rate cap and a bounded backlog, and the recent traces
 * (`GET /__outpost/traces`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  parseRequestFilter,
  parseTailFilter,
  type RecentTraces,
  type RequestStream,
  type TailHub,
} from '../observability/index.ts';

/** Tail sessions one server serves at once. */
const MAX_TAIL_SESSIONS = 32;
/** Bytes a tail client may fall behind by before events are dropped for it. */
const MAX_TAIL_BACKLOG = 1024 * 1024;

/** `max_rate` of a stream's query: events a second at most (`fallback` when not given), or what is wrong. */
function maxRateOf(q: URLSearchParams, fallback: number): number | string {
  const rate = q.get('max_rate');
  if (rate === null) return fallback;
  const n = Number(rate);
  return Number.isInteger(n) && n >= 1 && n <= 100_000
    ? n
    : `max_rate must be an integer from 1 to 100000, received "${rate.slice(0, 40)}"`;
}

/**
 * A stream of Server-Sent Events: a comment when it starts (the client knows it is subscribed)
 * and a `retry` of a second (a client that lost it tries again soon), each event as one `data:`
 * line, a comment every 15 s to keep proxies from closing it. At most `maxRate` events a second;
 * a client that reads slower than events come loses events (counted in a `: dropped N`
 * comment), never the server's memory. `traces` (the dashboard's `traces=1`): requests are
 * traced while it is open, for their waterfalls.
 */
function eventStream(
  res: ServerResponse,
  hello: string,
  maxRate: number,
  traces: RecentTraces | null,
  closed: () => void,
): { full(): boolean; send(data: () => string): void } {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  res.write(`: ${hello}\n\nretry: 1000\n\n`);
  const unwatch = traces ? traces.watch() : null;
  let second = 0;
  let sent = 0;
  let dropped = 0;
  /** At the cap this second (a new second starts the count again). */
  const full = () => {
    const now = Math.floor(performance.now() / 1000);
    if (now !== second) {
      second = now;
      sent = 0;
    }
    return sent >= maxRate;
  };
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  ping.unref();
  res.once('close', () => {
    clearInterval(ping);
    unwatch?.();
    closed();
  });
  return {
    full,
    send(data) {
      if (res.writableLength > MAX_TAIL_BACKLOG || full()) {
        dropped++;
        return;
      }
      sent++;
      if (dropped > 0) {
        res.write(`: dropped ${dropped}\n\n`);
        dropped = 0;
      }
      res.write(`data: ${data()}\n\n`);
    },
  };
}

/**
 * A live-tail session (`GET /tail`, `outpost tail`): each finished invocation matching the
 * filter. `max_rate` (the dashboard's, which cannot show thousands a second and must not cost
 * the workers it watches): the rest are counted as dropped, never serialized, and while the
 * session is at its cap invocations need not collect an event for it at all.
 */
export function tailSession(
  req: IncomingMessage,
  res: ServerResponse,
  hub: TailHub,
  traces: RecentTraces | undefined,
): void {
  const q = new URL(req.url ?? '/', 'http://admin').searchParams;
  const filter = parseTailFilter(q);
  const maxRate = maxRateOf(q, Number.POSITIVE_INFINITY);
  if (typeof filter === 'string' || typeof maxRate === 'string') {
    json(res, 400, { success: false, errors: [{ message: typeof filter === 'string' ? filter : maxRate }] });
    return;
  }
  if (hub.sessions >= MAX_TAIL_SESSIONS) {
    json(res, 429, {
      success: false,
      errors: [{ message: `at most ${MAX_TAIL_SESSIONS} tail sessions at once` }],
    });
    return;
  }
  let forget = () => {};
  const stream = eventStream(res, 'tailing', maxRate, q.get('traces') === '1' ? (traces ?? null) : null, () =>
    forget(),
  );
  forget = hub.subscribe(
    filter,
    (_e, json) => stream.send(json),
    () => res.end(),
    q.has('max_rate') ? stream.full : undefined,
  );
}

/**
 * `GET /requests`: every request as it ends (worker or not), at most `max_rate` a second
 * (default 50); as many streams at once as tail sessions.
 */
export function requestSession(
  req: IncomingMessage,
  res: ServerResponse,
  requests: RequestStream,
  traces: RecentTraces | undefined,
): void {
  const q = new URL(req.url ?? '/', 'http://admin').searchParams;
  const filter = parseRequestFilter(q);
  const maxRate = maxRateOf(q, 50);
  if (typeof filter === 'string' || typeof maxRate === 'string') {
    json(res, 400, { success: false, errors: [{ message: typeof filter === 'string' ? filter : maxRate }] });
    return;
  }
  if (requests.size >= MAX_TAIL_SESSIONS) {
    json(res, 429, {
      success: false,
      errors: [{ message: `at most ${MAX_TAIL_SESSIONS} request streams at once` }],
    });
    return;
  }
  let forget = () => {};
  const stream = eventStream(
    res,
    'requests',
    maxRate,
    q.get('traces') === '1' ? (traces ?? null) : null,
    () => forget(),
  );
  forget = requests.listen(filter, (r) => stream.send(() => JSON.stringify(r)));
}

/** `GET /traces`: the last kept traces, or one (`?ray=` / `?trace=`) with its spans. */
export function traceRead(req: IncomingMessage, res: ServerResponse, traces: RecentTraces): void {
  if (req.method !== 'GET') {
    json(res, 405, { success: false, errors: [{ message: 'use GET' }] }, { allow: 'GET' });
    return;
  }
  const q = new URL(req.url ?? '/', 'http://admin').searchParams;
  const ray = q.get('ray');
  const trace = q.get('trace');
  if (ray === null && trace === null) {
    json(res, 200, { success: true, traces: traces.list() });
    return;
  }
  if (trace !== null && !/^[0-9a-f]{32}$/.test(trace)) {
    json(res, 400, {
      success: false,
      errors: [
        { message: `trace must be a trace id (32 lowercase hex digits), received "${trace.slice(0, 80)}"` },
      ],
    });
    return;
  }
  if (ray !== null && !/^[0-9A-Za-z-]{1,64}$/.test(ray)) {
    json(res, 400, {
      success: false,
      errors: [{ message: `ray must be a ray id, received "${ray.slice(0, 80)}"` }],
    });
    return;
  }
  const found = traces.find(trace !== null ? { trace } : { ray: ray as string });
  if (!found) {
    const what = trace !== null ? `trace ${trace}` : `ray ${ray}`;
    json(res, 404, {
      success: false,
      errors: [
        {
          message: `no trace kept for ${what}: requests are traced while the dashboard's Requests view is open (at most ${traces.maxRate} a second, the last ${traces.maxTraces} kept), or with outpost dev --trace-endpoint`,
        },
      ],
    });
    return;
  }
  json(res, 200, { success: true, trace: found });
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
  res.end(`${JSON.stringify(body)}\n`);
}
