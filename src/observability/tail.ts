/**
 * Live tail: each worker invocation, once over (its response sent and its waitUntil work
 * settled), as one event in the shape Workers gives Tail Workers and `wrangler tail --format
 * json` prints (a TraceItem: https://developers.cloudflare.com/workers/runtime-apis/handlers/tail/):
 * the request and response status, the worker's console lines, its uncaught exceptions and how
 * it ended. The hub hands events to `outpost tail` sessions (the admin endpoint
 * `/__outpost/tail`, filtered there) and to Tail Workers (`tail_consumers`).
 *
 * Nothing is collected for a worker nobody tails: the runtime asks `wants()` when an
 * invocation starts.
 */

/** How an invocation ended, with Workers' names. */
export type TailOutcome = 'ok' | 'exception' | 'exceededCpu' | 'exceededMemory' | 'canceled';

export interface TailLog {
  /** The console call's arguments, as printed. */
  message: unknown[];
  level: string;
  timestamp: number;
}

export interface TailException {
  name: string;
  message: string;
  timestamp: number;
}

export interface TailItem {
  scriptName: string;
  outcome: TailOutcome;
  eventTimestamp: number;
  event: {
    request: { url: string; method: string; headers: Record<string, string>; cf?: Record<string, unknown> };
    response?: { status: number };
  } | null;
  logs: TailLog[];
  exceptions: TailException[];
  diagnosticsChannelEvents: never[];
  /** Logs or exceptions were left out past the size limit. */
  truncated: boolean;
  executionModel: 'stateless' | 'durableObject';
  /** Outpost's: the request's ray id and PoP, to join with request logs and traces. */
  ray?: string;
  pop?: string;
}

/** Logs and exceptions kept per event (Workers truncates a tail event past 256 KB), as JSON bytes. */
const MAX_LOG_BYTES = 256 * 1024;
/** What each entry costs besides its text (its JSON object's keys, level, timestamp). */
const ENTRY_BYTES = 64;
/** Request headers whose values a tail does not show. */
const REDACTED = new Set(['authorization', 'cookie', 'proxy-authorization', 'set-cookie']);

/** An event being collected for one invocation. */
export class TailDraft {
  readonly item: TailItem;
  #bytes = 0;
  constructor(
    scriptName: string,
    request: { url: string; method: string; headers: string[] } | null,
    executionModel: TailItem['executionModel'],
    ray?: string,
  ) {
    const headers: Record<string, string> = {};
    if (request)
      for (let i = 0; i < request.headers.length; i += 2) {
        const name = request.headers[i];
        headers[name] = REDACTED.has(name) ? 'REDACTED' : request.headers[i + 1];
      }
    this.item = {
      scriptName,
      outcome: 'ok',
      eventTimestamp: Date.now(),
      event: request ? { request: { url: request.url, method: request.method, headers } } : null,
      logs: [],
      exceptions: [],
      diagnosticsChannelEvents: [],
      truncated: false,
      executionModel,
      ...(ray ? { ray } : {}),
    };
  }
  /** Room for an entry with `text`, charged what it will take as JSON (escapes, UTF-8) plus its keys. */
  #room(text: string): boolean {
    if (this.#bytes >= MAX_LOG_BYTES) {
      this.item.truncated = true;
      return false;
    }
    this.#bytes += ENTRY_BYTES + Buffer.byteLength(JSON.stringify(text));
    if (this.#bytes <= MAX_LOG_BYTES) return true;
    this.item.truncated = true;
    return false;
  }
  log(level: string, text: string): void {
    if (this.#room(text)) this.item.logs.push({ message: [text], level, timestamp: Date.now() });
  }
  exception(name: string, message: string): void {
    if (this.#room(message)) this.item.exceptions.push({ name, message, timestamp: Date.now() });
  }
  status(status: number): void {
    if (this.item.event) this.item.event.response = { status };
  }
  outcome(o: TailOutcome): void {
    if (this.item.outcome === 'ok') this.item.outcome = o;
  }
}

/** What one `outpost tail` session wants (wrangler tail's filters). */
export interface TailFilter {
  /** Only this worker's events (default: every worker). */
  worker?: string;
  /** ok: outcome ok; error: an exception or a limit; canceled. */
  status?: ('ok' | 'error' | 'canceled')[];
  /** Request methods, upper case. */
  method?: string[];
  /** Text that must appear in a console line, an exception or the URL. */
  search?: string;
  /** Share of events sent, 0..1 (default 1). */
  sampling?: number;
}

/** A filter from the tail endpoint's query string, or what is wrong with it. */
export function parseTailFilter(q: URLSearchParams): TailFilter | string {
  const f: TailFilter = {};
  const worker = q.get('worker');
  if (worker) f.worker = worker;
  const status = q.getAll('status').flatMap((s) => s.split(','));
  for (const s of status)
    if (s !== 'ok' && s !== 'error' && s !== 'canceled')
      return `status must be ok, error or canceled, received "${s}"`;
  if (status.length) f.status = status as TailFilter['status'];
  const method = q.getAll('method').flatMap((m) => m.split(','));
  for (const m of method)
    if (!/^[A-Za-z]{1,20}$/.test(m)) return `method must be an HTTP method, received "${m}"`;
  if (method.length) f.method = method.map((m) => m.toUpperCase());
  const search = q.get('search');
  if (search) f.search = search;
  const sampling = q.get('sampling');
  if (sampling !== null) {
    const n = Number(sampling);
    if (!(Number.isFinite(n) && n >= 0 && n <= 1))
      return `sampling must be a number from 0 to 1, received "${sampling}"`;
    f.sampling = n;
  }
  return f;
}

export function matchesTail(f: TailFilter, e: TailItem): boolean {
  if (f.worker !== undefined && f.worker !== e.scriptName) return false;
  if (f.status) {
    const s = e.outcome === 'ok' ? 'ok' : e.outcome === 'canceled' ? 'canceled' : 'error';
    if (!f.status.includes(s)) return false;
  }
  if (f.method && !(e.event && f.method.includes(e.event.request.method))) return false;
  if (f.search !== undefined) {
    const s = f.search;
    const found =
      (e.event?.request.url.includes(s) ?? false) ||
      e.logs.some((l) => l.message.some((m) => String(m).includes(s))) ||
      e.exceptions.some((x) => x.message.includes(s) || x.name.includes(s));
    if (!found) return false;
  }
  if (f.sampling !== undefined && Math.random() >= f.sampling) return false;
  return true;
}

/** An event for people, as `wrangler tail` prints it. */
export function prettyTail(e: TailItem): string {
  const when = new Date(e.eventTimestamp).toISOString();
  const outcome = {
    ok: 'Ok',
    exception: 'Exception Thrown',
    exceededCpu: 'Exceeded CPU Limit',
    exceededMemory: 'Exceeded Memory Limit',
    canceled: 'Canceled',
  }[e.outcome];
  const head = e.event
    ? `${e.event.request.method} ${printable(e.event.request.url)} - ${outcome}${e.event.response ? ` (${e.event.response.status})` : ''} @ ${when}`
    : `${e.scriptName} - ${outcome} @ ${when}`;
  const lines = [`${head}${e.ray ? ` [${e.scriptName}, ray ${e.ray}]` : ` [${e.scriptName}]`}`];
  for (const l of e.logs) lines.push(`  (${l.level}) ${printable(l.message.map(String).join(' '))}`);
  for (const x of e.exceptions) lines.push(`  ✘ ${printable(x.name)}: ${printable(x.message)}`);
  if (e.truncated) lines.push('  (truncated)');
  return lines.join('\n');
}

interface Session {
  filter: TailFilter;
  /** `json()`: the event as JSON, made once however many sessions send it. */
  send(e: TailItem, json: () => string): void;
  end(): void;
  /** Takes no events now (a session at its rate cap): invocations need not collect one for it. */
  full?: () => boolean;
}

/** Text from a worker made safe for a terminal: control characters (escape sequences) shown, not obeyed. */
function printable(text: string): string {
  return text
    .replace(/\r?\n/g, '\n    ')
    .replace(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );
}

/** Where finished invocations go: `outpost tail` sessions and Tail Workers. */
export class TailHub {
  readonly #sessions = new Set<Session>();
  /** Producer worker name → its Tail Workers' delivery (with the producer invocation's chain). */
  readonly #consumers = new Map<string, ((events: TailItem[], chain: unknown) => void)[]>();

  /** Whether an invocation of `worker` should collect its event. */
  wants(worker: string): boolean {
    if (this.#consumers.has(worker)) return true;
    for (const s of this.#sessions)
      if ((s.filter.worker === undefined || s.filter.worker === worker) && !s.full?.()) return true;
    return false;
  }

  /**
   * A finished invocation. `chain` is its place in its request's chain (src/runtime/loops.ts),
   * handed to Tail Workers so that a consumer whose tail() calls back into its producer is
   * stopped by the loop limits like any other chain.
   */
  emit(e: TailItem, chain?: unknown): void {
    let json: string | undefined;
    const once = () => {
      json ??= JSON.stringify(e);
      return json;
    };
    for (const s of this.#sessions) if (matchesTail(s.filter, e)) s.send(e, once);
    for (const deliver of this.#consumers.get(e.scriptName) ?? []) deliver([e], chain);
  }

  /**
   * A tail session; the returned function forgets it. `end` is called when the hub closes;
   * `full`, when given, says the session takes no events now (see Session).
   */
  subscribe(
    filter: TailFilter,
    send: (e: TailItem, json: () => string) => void,
    end: () => void = () => {},
    full?: () => boolean,
  ): () => void {
    const s: Session = { filter, send, end, ...(full ? { full } : {}) };
    this.#sessions.add(s);
    return () => this.#sessions.delete(s);
  }

  /** End every session (the server is shutting down). */
  close(): void {
    for (const s of [...this.#sessions]) {
      this.#sessions.delete(s);
      s.end();
    }
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** A Tail Worker of `producer`: gets each of its events. */
  consume(producer: string, deliver: (events: TailItem[], chain: unknown) => void): void {
    const list = this.#consumers.get(producer) ?? [];
    list.push(deliver);
    this.#consumers.set(producer, list);
  }

  /** Forget the Tail Workers of `producer` (it was redeployed). */
  release(producer: string): void {
    this.#consumers.delete(producer);
  }
}
