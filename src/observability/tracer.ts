/**
 * The tracer of a PoP (or of a whole `outpost dev` network): starts each request's trace,
 * decides at the request's end whether it is kept, and exports kept spans over OTLP/HTTP
 * (protobuf, with @opentelemetry/exporter-trace-otlp-proto) in batches, from a worker thread
 * (span-export.ts, export-thread.ts): the request path's thread only queues plain records.
 *
 * Sampling: the head decision is the incoming `traceparent`'s sampled flag or, for a trace that
 * starts here, a ratio applied to the trace id (as OpenTelemetry's TraceIdRatioBased, so every
 * process of a network decides alike). The tail decision, at the PoP when the response has
 * finished, keeps a trace the head did not sample when it failed (5xx, an exception, a limit) or
 * was slow (`slowMs`). Every request therefore records its spans in memory until it ends.
 *
 * Export never delays a response: kept spans go to a bounded queue flushed every `flushMs` or
 * when a batch is full, with at most two exports in flight. When the collector is slow or down
 * the queue fills and further spans are dropped and counted (`dropped`, and the metrics), and
 * one warning is logged — memory stays bounded whatever the collector does.
 *
 * Without an endpoint (`options` null) a tracer exports nothing: it traces only what its
 * RecentTraces store wants (a dashboard looking, recent-traces.ts), as local traces.
 */

import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Observer } from './logger.ts';
import type { SpanData } from './otlp-span.ts';
import type { RecentTraces, TraceMeta } from './recent-traces.ts';
import { DirectSink, type SpanSink, ThreadSink } from './span-export.ts';
import {
  cleanTracestate,
  nowMs,
  parseTraceparent,
  RequestTrace,
  SpanKind,
  type SpanRecord,
  spanIdOf,
  traceTail,
} from './trace.ts';

export interface TracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  /** Head sampling ratio for traces that start here, 0..1 (default 1). */
  sampleRatio?: number;
  /** A request slower than this is kept whatever the ratio, ms (default 1000). */
  slowMs?: number;
  /** Spans waiting for export at most; past it new spans are dropped (default 4096). */
  maxQueue?: number;
  /** Bytes of spans waiting for export at most (their estimated size; default 32 MiB). */
  maxQueueBytes?: number;
  /** Spans per export request (default 512). */
  batchSize?: number;
  /** How often the queue is flushed, ms (default 1000). */
  flushMs?: number;
  /** An export that takes longer is abandoned, ms (default 10000). */
  timeoutMs?: number;
  /** Extra OTLP request headers (e.g. an API key for a hosted collector). */
  headers?: Record<string, string>;
  /** `service.name` of the exported resource (default "outpost"). */
  serviceName?: string;
  /** Export through this, in this thread, instead of OTLP/HTTP from the export thread (tests). */
  exporter?: SpanExporter;
}

/** How a request ended, for the tail decision. */
export interface TraceOutcome {
  status: number;
  /** The request failed on the platform's side (an exception, a limit), whatever its status. */
  error?: string;
}

export interface TracerStats {
  /** Traces kept: head-sampled, or kept for an error or slowness. */
  kept: number;
  /** Spans handed to the exporter and acknowledged. */
  exported: number;
  /** Spans dropped: the queue was full, or their export failed. */
  dropped: number;
}

const MAX_IN_FLIGHT = 2;
/**
 * An export request's spans at most, in bytes (estimated): a batch of 512 spans of a worker's
 * largest custom spans would be hundreds of MB, more than the export thread's heap.
 */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export function validateTracing(o: TracingOptions): string | null {
  try {
    const u = new URL(o.endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      return `endpoint must be an http(s) URL, received "${o.endpoint}"`;
  } catch {
    return `endpoint must be a URL, received "${o.endpoint}"`;
  }
  const r = o.sampleRatio;
  if (r !== undefined && !(Number.isFinite(r) && r >= 0 && r <= 1))
    return `sample ratio must be a number from 0 to 1, received ${r}`;
  if (o.slowMs !== undefined && !(Number.isFinite(o.slowMs) && o.slowMs >= 0))
    return `slow threshold must be a number of milliseconds ≥ 0, received ${o.slowMs}`;
  return null;
}

export class Tracer {
  readonly stats: TracerStats = { kept: 0, exported: 0, dropped: 0 };
  readonly #ratio: number;
  /** The ratio as a bound on a trace id's last 8 hex digits (as TraceIdRatioBased does). */
  readonly #bound: number;
  readonly #slowMs: number;
  readonly #maxQueue: number;
  readonly #maxQueueBytes: number;
  #queueBytes = 0;
  readonly #batch: number;
  readonly #sink: SpanSink | null;
  readonly #queue: SpanData[] = [];
  #inFlight = 0;
  #warned = false;
  readonly #timer: NodeJS.Timeout | null;
  #closed = false;
  /** Told of each drop and export (the metrics). */
  onCount: ((what: 'exported' | 'dropped', n: number) => void) | null = null;

  constructor(
    /** Where and how kept traces are exported; null: nowhere (only `recent` keeps them). */
    readonly options: TracingOptions | null,
    readonly observer: Observer,
    /** Keeps the last kept traces for the dashboard, and asks for traces while it is watched. */
    readonly recent: RecentTraces | null = null,
  ) {
    if (options === null) {
      this.#ratio = 1;
      this.#bound = 0xffffffff;
      this.#slowMs = Number.POSITIVE_INFINITY;
      this.#maxQueue = this.#maxQueueBytes = this.#batch = 0;
      this.#sink = null;
      this.#timer = null;
      return;
    }
    const problem = validateTracing(options);
    if (problem) throw new TypeError(`tracing: ${problem}`);
    this.#ratio = options.sampleRatio ?? 1;
    this.#bound =
      this.#ratio >= 1 ? 0xffffffff : this.#ratio <= 0 ? -1 : Math.floor(this.#ratio * 0xffffffff) - 1;
    this.#slowMs = options.slowMs ?? 1000;
    this.#maxQueue = options.maxQueue ?? 4096;
    this.#maxQueueBytes = options.maxQueueBytes ?? 32 * 1024 * 1024;
    this.#batch = options.batchSize ?? 512;
    // The OTLP exporter runs in a worker thread, started now (span-export.ts).
    const serviceName = options.serviceName ?? 'outpost';
    this.#sink = options.exporter
      ? new DirectSink(options.exporter, serviceName)
      : new ThreadSink({
          endpoint: options.endpoint,
          timeoutMs: options.timeoutMs ?? 10_000,
          headers: options.headers ?? {},
          concurrencyLimit: MAX_IN_FLIGHT,
          serviceName,
        });
    this.#timer = setInterval(() => this.flush(), options.flushMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Whether a request starting now is traced: always when exporting (the sampling decides what
   * is kept), else when the recent store asks (someone looks, within its rate).
   */
  wants(): boolean {
    return this.#sink !== null || (this.recent?.wanted() ?? false);
  }

  /** Spans waiting for export. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Their size as the queue's byte bound counts it. */
  get queuedBytes(): number {
    return this.#queueBytes;
  }

  /**
   * A request's trace, continuing what its headers carry; it is its root span (`name`, `kind`,
   * started at `startedAt`, epoch ms), whose `start` starts the spans under it.
   */
  begin(
    traceparent: string | undefined,
    tracestate: string | undefined,
    name = 'request',
    kind: SpanKind = SpanKind.SERVER,
    startedAt = nowMs(),
  ): RequestTrace {
    // A local trace (no export) starts its own id: a client's traceparent neither decides
    // whether it is kept nor names an entry of the recent store.
    const incoming = traceparent === undefined || this.#sink === null ? null : parseTraceparent(traceparent);
    const state = incoming ? cleanTracestate(tracestate) : undefined;
    const trace = new RequestTrace(incoming, state, this.#bound, name, kind, startedAt);
    // Made only for the recent store: nothing outside this process hears of it.
    if (this.#sink === null) trace.localOnly = true;
    return trace;
  }

  /** The head decision for a trace that starts here, with this id. */
  headSample(traceId: string): boolean {
    return traceTail(traceId) <= this.#bound;
  }

  /**
   * The request is over: keep its trace or forget it. `kept` runs first for a kept trace (the
   * place to end its root span with the attributes only a kept trace needs).
   */
  finish(
    trace: RequestTrace,
    outcome: TraceOutcome,
    ms: number,
    kept?: () => void,
    meta?: TraceMeta,
  ): boolean {
    if (!this.keeps(trace, outcome.status, outcome.error, ms)) return false;
    kept?.();
    this.keep(trace, meta);
    return true;
  }

  /**
   * The tail decision without allocating (the request path's form of `finish`): false closes
   * the trace, forgotten; true leaves it open for its root span to end, then `keep(trace)`.
   */
  keeps(trace: RequestTrace, status: number, error: string | undefined, ms: number): boolean {
    if (trace.closed) return false;
    if (trace.sampled || status >= 500 || error !== undefined || ms >= this.#slowMs) return true;
    trace.drop();
    return false;
  }

  /**
   * Exports a trace `keeps` kept: its ended spans now, the others as they end; the recent store
   * keeps it too, with `meta` (the request's ray id, PoP, worker and status).
   */
  keep(trace: RequestTrace, meta: TraceMeta = {}): void {
    if (trace.closed) return;
    trace.settle();
    trace.closed = true;
    this.stats.kept++;
    const spans = trace.spans;
    if (trace.dropped > 0 && spans[0]) spans[0].attrs['outpost.trace.dropped_spans'] = trace.dropped;
    const recent = this.recent?.add(trace, meta, sizeOf) ?? null;
    trace.late = recent
      ? (s) => {
          recent(s);
          this.#push(trace, s);
        }
      : (s) => this.#push(trace, s);
    for (const s of spans) if (s.endMs !== 0) this.#push(trace, s);
  }

  #push(trace: RequestTrace, s: SpanRecord): void {
    if (this.#closed || this.#sink === null) return;
    const d = spanData(trace, s);
    if (this.#queue.length >= this.#maxQueue || this.#queueBytes + d.bytes > this.#maxQueueBytes) {
      this.#drop(1, 'the export queue is full');
      return;
    }
    this.#queue.push(d);
    this.#queueBytes += d.bytes;
    if (this.#batchReady()) this.flush();
  }

  #batchReady(): boolean {
    return this.#queue.length >= this.#batch || this.#queueBytes >= MAX_BATCH_BYTES;
  }

  #drop(n: number, why: string): void {
    this.stats.dropped += n;
    this.onCount?.('dropped', n);
    if (this.#warned) return;
    this.#warned = true;
    this.observer.log({
      level: 'warn',
      source: 'outpost',
      message: `tracing: spans are being dropped (${why}; collector ${this.options?.endpoint}); counted in outpost_trace_spans_total{outcome="dropped"}; warned once`,
    });
  }

  /** Send what is queued, up to the in-flight limit. */
  flush(): void {
    const sink = this.#sink;
    if (sink === null) return;
    while (this.#queue.length > 0 && this.#inFlight < MAX_IN_FLIGHT) {
      // Up to batchSize spans and MAX_BATCH_BYTES (at least one span).
      let n = 0;
      let bytes = 0;
      while (
        n < this.#queue.length &&
        n < this.#batch &&
        (n === 0 || bytes + this.#queue[n].bytes <= MAX_BATCH_BYTES)
      )
        bytes += this.#queue[n++].bytes;
      const batch = this.#queue.splice(0, n);
      this.#queueBytes -= bytes;
      this.#inFlight++;
      sink.export(batch, (ok, error) => {
        this.#inFlight--;
        if (ok) {
          this.stats.exported += n;
          this.onCount?.('exported', n);
        } else this.#drop(n, `export failed: ${error ?? 'unknown error'}`);
        if (this.#batchReady()) this.flush();
      });
    }
  }

  /** Export what is left and stop. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.flush();
    this.#closed = true;
    if (this.#sink === null) return;
    // A slow or hung collector must not hold the shutdown: two seconds for what is in flight.
    const deadline = Date.now() + 2000;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await this.#sink.shutdown(Math.max(0, deadline - Date.now()));
  }
}

/** A kept span as the export thread takes it (plain data: it crosses threads by structured clone). */
function spanData(trace: RequestTrace, s: SpanRecord): SpanData {
  return {
    name: s.name,
    kind: s.kind,
    traceId: trace.traceId,
    spanId: spanIdOf(s),
    sampled: trace.sampled,
    tracestate: trace.tracestate,
    parentId: trace.parentIdOf(s),
    parentRemote: s.parent === null,
    startMs: s.startMs,
    endMs: s.endMs,
    error: s.error ?? (s.failed ? s.failed : null),
    ok: s.ok === true,
    attrs: s.attrs,
    bytes: sizeOf(s),
  };
}

/** A span's size as the tracer's bounds count it: UTF-16 strings, 8 bytes a number, ~200 besides. */
function sizeOf(s: SpanRecord): number {
  let n = 200 + s.name.length * 2 + (s.error?.length ?? 0) * 2 + (s.failed?.length ?? 0) * 2;
  const attrs = s.attrs;
  for (const k in attrs) {
    const v = attrs[k];
    n += k.length * 2 + (typeof v === 'string' ? v.length * 2 : 8);
  }
  return n;
}
