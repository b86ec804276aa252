/**
 * The traces of the last requests, kept in memory for the dashboard's waterfall
 * (`GET /__outpost/traces`): a bounded ring, found by trace id or by the request's ray id.
 *
 * A server traces for this store only while someone looks: the dashboard's Requests view
 * opens the live tail with `traces=1`, which `watch()`es for as long as it is open, and then at
 * most `maxRate` requests a second are traced (the view shows 50 a second at most; tracing all
 * of a PoP's traffic would cost it). Nothing is traced otherwise, unless tracing is on
 * (`--trace-endpoint`), whose kept traces land here too. A trace made only for this store is
 * local (trace.ts): it never adds a `traceparent` to the requests a worker sends.
 *
 * Memory: at most `maxTraces` traces and `maxBytes` of spans (as the tracer counts a span's
 * size, attributes included), each trace at most `maxTraceBytes`: a span that would take a
 * trace past it is not kept (counted as dropped), and a span's size is counted again when it
 * ends after the request (its attributes come with its end). The oldest traces go first.
 */
import { type RequestTrace, type SpanRecord, spanIdOf } from './trace.ts';

/** What the request was, beside its spans. */
export interface TraceMeta {
  ray?: string;
  pop?: string;
  worker?: string;
  status?: number;
  /** The response's headers as sent (cookies it set hidden), when someone was looking. */
  responseHeaders?: Record<string, string>;
}

/** One span as the admin API gives it: times in epoch ms, ids as in OTLP. */
export interface RecentSpan {
  id: string;
  parent: string | null;
  name: string;
  kind: number;
  start: number;
  /** null while it runs (work after the response, such as waitUntil). */
  end: number | null;
  error: string | null;
  attrs: Record<string, unknown>;
}

export interface RecentTrace extends TraceMeta {
  traceId: string;
  start: number;
  spans: RecentSpan[];
  /** Spans not recorded past the trace's cap. */
  dropped: number;
}

interface Entry {
  trace: RequestTrace;
  meta: TraceMeta;
  spans: SpanRecord[];
  /** Each kept span's size as last counted. */
  sizes: Map<SpanRecord, number>;
  bytes: number;
  /** Spans not kept here, past maxTraceBytes. */
  dropped: number;
}

export class RecentTraces {
  readonly #entries = new Map<string, Entry>();
  readonly #byRay = new Map<string, string>();
  #bytes = 0;
  #watchers = 0;
  #second = 0;
  #taken = 0;

  constructor(
    readonly maxTraces = 200,
    readonly maxBytes = 16 * 1024 * 1024,
    readonly maxRate = 50,
    readonly maxTraceBytes = Math.max(64 * 1024, Math.floor(maxBytes / 8)),
  ) {}

  /** Someone looks (a dashboard's Requests view): requests are traced until the returned function runs. */
  watch(): () => void {
    this.#watchers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#watchers--;
    };
  }

  get watchers(): number {
    return this.#watchers;
  }

  /** Whether a request starting now is traced for this store (someone looks, under the rate). */
  wanted(): boolean {
    if (this.#watchers === 0) return false;
    const now = Math.floor(performance.now() / 1000);
    if (now !== this.#second) {
      this.#second = now;
      this.#taken = 0;
    }
    if (this.#taken >= this.maxRate) return false;
    this.#taken++;
    return true;
  }

  /** Keeps a trace the tracer kept; returns what must see the spans that end later. */
  add(trace: RequestTrace, meta: TraceMeta, size: (s: SpanRecord) => number): (s: SpanRecord) => void {
    const id = trace.traceId;
    const old = this.#entries.get(id);
    // A trace id seen again (a request continuing a trace): the newer request's spans replace it.
    if (old) this.#forget(id, old);
    const entry: Entry = { trace, meta, spans: [], sizes: new Map(), bytes: 0, dropped: 0 };
    for (const s of trace.spans) this.#count(entry, s, size(s));
    this.#entries.set(id, entry);
    if (meta.ray) this.#byRay.set(meta.ray, id);
    this.#evict();
    // A span ending after the keep: new to the trace, or one it holds, grown with its end's attributes.
    return (s) => {
      if (this.#entries.get(id) !== entry) return;
      this.#count(entry, s, size(s));
      this.#evict();
    };
  }

  /** Counts `s` (at `n` bytes) in `entry`, or drops it when the trace would pass its bound. */
  #count(entry: Entry, s: SpanRecord, n: number): void {
    const before = entry.sizes.get(s);
    const grown = n - (before ?? 0);
    if (entry.bytes + grown > this.maxTraceBytes && entry.spans.length > 0 && entry.spans[0] !== s) {
      // The root (first) stays whatever its size; another span past the bound goes.
      if (before !== undefined) {
        entry.spans.splice(entry.spans.indexOf(s), 1);
        entry.sizes.delete(s);
        entry.bytes -= before;
        this.#bytes -= before;
      }
      entry.dropped++;
      return;
    }
    if (before === undefined) entry.spans.push(s);
    entry.sizes.set(s, n);
    entry.bytes += grown;
    this.#bytes += grown;
  }

  #evict(): void {
    while (this.#entries.size > this.maxTraces || (this.#bytes > this.maxBytes && this.#entries.size > 1)) {
      const [oldest, e] = this.#entries.entries().next().value as [string, Entry];
      this.#forget(oldest, e);
    }
  }

  #forget(id: string, e: Entry): void {
    this.#entries.delete(id);
    if (e.meta.ray && this.#byRay.get(e.meta.ray) === id) this.#byRay.delete(e.meta.ray);
    this.#bytes -= e.bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A trace by its id or its request's ray id; undefined when it is not (or no longer) kept. */
  find(ref: { trace?: string; ray?: string }): RecentTrace | undefined {
    const id = ref.trace ?? (ref.ray === undefined ? undefined : this.#byRay.get(ref.ray));
    const e = id === undefined ? undefined : this.#entries.get(id);
    return e && id ? view(id, e) : undefined;
  }

  /** The kept traces, newest first (`limit` of them): what each was, without its spans. */
  list(limit = 50): (TraceMeta & { traceId: string; start: number; ms: number | null; spans: number })[] {
    const out = [];
    const all = [...this.#entries];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const [traceId, e] = all[i];
      const root = e.spans[0];
      out.push({
        traceId,
        ...e.meta,
        start: root.startMs,
        ms: root.endMs === 0 ? null : root.endMs - root.startMs,
        spans: e.spans.length,
      });
    }
    return out;
  }
}

function view(traceId: string, e: Entry): RecentTrace {
  const spans = e.spans
    .map(
      (s): RecentSpan => ({
        id: spanIdOf(s),
        parent: s.parent ? spanIdOf(s.parent) : null,
        name: s.name,
        kind: s.kind,
        start: s.startMs,
        end: s.endMs === 0 ? null : s.endMs,
        error: s.error ?? s.failed ?? null,
        attrs: { ...s.attrs },
      }),
    )
    .sort((a, b) => a.start - b.start);
  return { traceId, ...e.meta, start: e.spans[0].startMs, spans, dropped: e.trace.dropped + e.dropped };
}
