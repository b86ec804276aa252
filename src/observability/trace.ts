/**
 * A request's trace: the spans of everything it caused, under one W3C trace id
 * (https://www.w3.org/TR/trace-context/). The PoP front starts one per request (continuing an
 * incoming `traceparent` or starting a trace), the parts below it record into a TraceScope —
 * "the span my work belongs under" — and the trace is handed to the Tracer when the response
 * has finished, which decides whether it is kept (tracer.ts).
 *
 * Spans are plain records here, made cheap on purpose: every request of a traced PoP records
 * them, because whether a trace is kept is decided at its end (errors and slow requests are
 * kept whatever the sampling ratio). With tracing off, NO_TRACE records nothing and costs a
 * call. Times are epoch milliseconds with sub-millisecond precision.
 */

/** OpenTelemetry span kinds (the numbering of @opentelemetry/api's SpanKind). */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

export type Attrs = Record<string, string | number | boolean>;

/** One finished (or still open) span. */
export interface SpanRecord {
  name: string;
  kind: SpanKind;
  /** Made when first needed (a child, a traceparent, the export): most spans of unkept traces never are. */
  spanId: string;
  /** The parent span (its id is made only if this one is exported); null for the root. */
  parent: SpanRecord | null;
  startMs: number;
  /** 0 until it ends. */
  endMs: number;
  /** Its attributes (an object the exporter may hold: add to it, never replace it). */
  readonly attrs: Attrs;
  /** Set when the span's work failed: the OpenTelemetry status description. */
  error: string | null;
  /** Marked as succeeded (OpenTelemetry's OK status; an error wins over it). */
  ok?: boolean;
  /** Marked as failed by the worker's code (the platform's own `error` wins over it). */
  failed?: string | null;
}

/** A span being recorded. */
export interface OpenSpan {
  /** Where work done inside this span records its own spans. */
  readonly scope: TraceScope;
  set(attrs: Attrs): void;
  /** Gives it another name (a worker's span.updateName()). */
  rename(name: string): void;
  /** Marks its work as failed, as worker code says (the first is kept; a platform error wins). */
  fail(error: string): void;
  /** Marks its work as succeeded (OpenTelemetry's OK status, unless it failed). */
  succeed(): void;
  /**
   * Ends it (once; later calls only add attributes and errors), now or at `endedAt` (epoch ms,
   * for a span recorded after the fact).
   */
  end(attrs?: Attrs, error?: string, endedAt?: number): void;
}

/**
 * A span whose owner records it only if its trace needs it: the trace is kept, or work under it
 * needs it as a parent. The worker's span of a request is one: most traces are dropped at their
 * end, and the objects of a span made for each request cost more than their share — they are
 * live across the request's crossings into the isolate, and building them in the request path's
 * hottest functions took the optimising compiler's inlining budget from the code around them.
 */
export interface DeferredSpan {
  /** Record it now (started, and ended if its work is over) under the scope it was deferred to. */
  materialize(): void;
}

/** Where work records spans: under one parent span of one trace. */
export interface TraceScope {
  /** False for NO_TRACE: callers may skip building attributes. */
  readonly recording: boolean;
  /**
   * Recorded for this process alone (the dashboard's, while someone looks): a worker must not be
   * able to tell, so its own spans are not recorded and nothing it sends carries the trace.
   */
  readonly local?: boolean;
  /** The `traceparent` a request sent from here carries, naming `span` as its parent. */
  traceparent(span: OpenSpan): string | null;
  /** The trace's `tracestate`, passed on beside the traceparent (W3C Trace Context §3.3). */
  readonly tracestate?: string;
  start(name: string, kind: SpanKind, attrs?: Attrs, startedAt?: number): OpenSpan;
  /**
   * Leaves a span under this scope to be made when its trace needs it (`d.materialize()`);
   * false when it cannot wait (nothing is recording, or the trace holds one already): make it now.
   */
  defer(d: DeferredSpan): boolean;
  /** `d`, deferred here, was made by its owner after all: the trace need not hold it. */
  undefer(d: DeferredSpan): void;
}

/** `performance.timeOrigin` read once: a getter that costs as much as the clock itself. */
const ORIGIN = performance.timeOrigin;

/** Epoch milliseconds, sub-millisecond precision. */
export function nowMs(): number {
  return ORIGIN + performance.now();
}

/** `performance.now()` readings (what the hops measure with) as epoch milliseconds. */
export function epochOf(perfNow: number): number {
  return ORIGIN + perfNow;
}

const NO_SPAN: OpenSpan = {
  get scope() {
    return NO_TRACE;
  },
  set() {},
  rename() {},
  fail() {},
  succeed() {},
  end() {},
};

/** Tracing off: nothing is recorded. */
export const NO_TRACE: TraceScope = {
  recording: false,
  traceparent: () => null,
  start: () => NO_SPAN,
  defer: () => false,
  undefer: () => {},
};

// Ids are random, not secret (W3C Trace Context §3.2.2.3 asks for randomness, not
// unpredictability): Math.random, as OpenTelemetry JS's RandomIdGenerator uses. Every request of
// a traced PoP starts a trace, so this is on the hot path; crypto's generator cost more than the
// rest of a trace's recording.
function word(): number {
  return (Math.random() * 0x100000000) >>> 0;
}
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Two hex digits per byte value: Number#toString(16) of a word past 2^31 is V8's slow path. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex8(n: number): string {
  return HEX[n >>> 24] + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];
}

/** A trace id's last 8 hex digits as a number: what the head decision compares with the ratio. */
export function traceTail(traceId: string): number {
  return Number.parseInt(traceId.slice(-8), 16);
}
function newSpanId(): string {
  return hex8(word()) + hex8(word() || 1);
}

/** A span's id, made on first use. */
export function spanIdOf(r: SpanRecord): string {
  if (r.spanId === '') r.spanId = newSpanId();
  return r.spanId;
}

/** A parsed `traceparent` (W3C Trace Context §3.2). */
export interface TraceParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * A `traceparent` header value, or null when it is not one this version understands. Per §3.2:
 * version ff is invalid, all-zero ids are invalid, version 00 has exactly four fields, and a
 * higher version is read by its first four (§4.3, forward compatibility).
 */
export function parseTraceparent(value: string | undefined): TraceParent | null {
  if (value === undefined || value.length > 512) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  if (version === '00' && rest !== undefined) return null;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/**
 * A `tracestate` to pass on (§3.3): at most 32 list members, 512 characters; otherwise it is
 * dropped rather than forwarded malformed.
 */
export function cleanTracestate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v.length === 0 || v.length > 512) return undefined;
  const members = v
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (members.length > 32) return undefined;
  if (
    !members.every((m) =>
      /^[a-z0-9][-a-z0-9_*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/.test(
        m,
      ),
    )
  )
    return undefined;
  return members.join(',');
}

/** Spans kept per trace: a worker making thousands of KV calls makes a trace of bounded size. */
export const MAX_SPANS_PER_TRACE = 256;

/**
 * A span: its record, its handle and the scope of its children in one object (one allocation
 * per span: every request of a traced PoP makes them, most are never exported).
 */
class Span implements SpanRecord, OpenSpan, TraceScope {
  readonly recording = true;
  spanId = '';
  endMs = 0;
  error: string | null = null;
  /**
   * The attributes given at its end, merged into the others when they are read: most spans
   * belong to traces that are never kept, whose attributes nobody reads.
   */
  #last: Attrs | null = null;
  /** The next span its trace recorded. */
  next: Span | null = null;
  failed: string | null = null;
  ok = false;
  /** Its trace (the root span is the trace). */
  readonly trace: RequestTrace;
  constructor(
    trace: RequestTrace | null,
    readonly parent: SpanRecord | null,
    public name: string,
    readonly kind: SpanKind,
    /** The attributes it started with; null for none (made when first set). */
    private first: Attrs | null,
    readonly startMs: number,
  ) {
    this.trace = trace ?? (this as unknown as RequestTrace);
  }
  get attrs(): Attrs {
    if (this.first === null) this.first = {};
    if (this.#last !== null) {
      Object.assign(this.first, this.#last);
      this.#last = null;
    }
    return this.first;
  }
  get scope(): TraceScope {
    return this;
  }
  get local(): boolean {
    return this.trace.localOnly;
  }
  get tracestate(): string | undefined {
    return this.trace.state;
  }
  traceparent(span: OpenSpan): string | null {
    return span instanceof Span && !this.trace.local ? this.trace.parentHeader(span) : null;
  }
  set(attrs: Attrs): void {
    Object.assign(this.attrs, attrs);
  }
  rename(name: string): void {
    this.name = name;
  }
  fail(error: string): void {
    if (this.failed === null) this.failed = error;
  }
  succeed(): void {
    this.ok = true;
  }
  /** A child span (this span as a TraceScope). */
  start(name: string, kind: SpanKind, attrs?: Attrs, startedAt = nowMs()): OpenSpan {
    return this.trace.child(this, name, kind, attrs, startedAt);
  }
  defer(d: DeferredSpan): boolean {
    return this.trace.hold(d);
  }
  undefer(d: DeferredSpan): void {
    this.trace.release(d);
  }
  end(attrs?: Attrs, error?: string, endedAt?: number): void {
    if (attrs) {
      // Kept as given (callers pass a fresh object) until read. A second set is merged now, as
      // is any set once it has ended: it may already be queued for export with its attributes.
      if (this.#last === null && this.endMs === 0) this.#last = attrs;
      else Object.assign(this.attrs, attrs);
    }
    if (error !== undefined && this.error === null) this.error = error;
    if (this.endMs !== 0) return;
    this.endMs = endedAt ?? nowMs();
    // A span that ends after its trace was decided (work that outlived the response) is
    // handed on by itself, if the trace was kept.
    if (this.trace.closed) this.trace.late?.(this);
  }
}

/**
 * The trace of one request through a PoP, which is also its root span (the PoP's server span):
 * one object, not two, for each request of a traced PoP. Its `start` starts a child of the root.
 */
export class RequestTrace extends Span {
  /**
   * Set when continuing a trace, or made when first asked for (most never are): three random
   * words then #tail, the word the head decision was made from.
   */
  #id: string | null = null;
  #tail = 0;
  /** The head decision: the incoming traceparent's sampled flag, else the tracer's ratio. */
  readonly sampled: boolean;
  /** The `tracestate` passed on (cleaned), read through each span's `tracestate`. */
  readonly state: string | undefined;
  /** Its spans in the order they started, linked from the root (no array for the many traces never kept). */
  #newest: Span = this;
  /** Spans not recorded past MAX_SPANS_PER_TRACE. */
  dropped = 0;
  #made = 1;
  /** The incoming traceparent's span: the root's parent. */
  readonly remoteParent: string | null;
  /** Set by the tracer once the trace was decided: later spans follow the decision. */
  late: ((s: SpanRecord) => void) | null = null;
  closed = false;
  /** Kept in this process only (the dashboard's): requests sent from it carry no `traceparent`. */
  localOnly = false;
  /** A span deferred to it (one at most; others are made at once). */
  #deferred: DeferredSpan | null = null;

  /**
   * `bound`: a trace that starts here is sampled when its id's last 8 hex digits are at most
   * this (OpenTelemetry's TraceIdRatioBased; -1: never, 0xffffffff: always). `name`, `kind` and
   * `startedAt` are its root span's.
   */
  constructor(
    incoming: TraceParent | null,
    tracestate: string | undefined,
    bound: number,
    name = 'request',
    kind: SpanKind = SpanKind.SERVER,
    startedAt = nowMs(),
  ) {
    super(null, null, name, kind, null, startedAt);
    if (incoming) {
      this.#id = incoming.traceId;
      this.sampled = incoming.sampled;
    } else {
      // The id's last 32 bits decide, so every process seeing this id decides alike.
      this.#tail = word() || 1; // non-zero: no all-zero id
      this.sampled = this.#tail <= bound;
    }
    this.remoteParent = incoming?.spanId ?? null;
    this.state = tracestate;
  }

  /** The W3C trace id (32 hex digits). */
  get traceId(): string {
    if (this.#id === null) this.#id = hex8(word()) + hex8(word()) + hex8(word()) + hex8(this.#tail);
    return this.#id;
  }

  /**
   * Holds `d` until the trace needs it (`settle`); false when it holds one already, is decided or
   * is full. Its place under MAX_SPANS_PER_TRACE is taken now: a span deferred early is not the
   * one lost to spans that started after it.
   */
  hold(d: DeferredSpan): boolean {
    if (this.#deferred !== null || this.closed || this.#made >= MAX_SPANS_PER_TRACE) return false;
    this.#deferred = d;
    this.#made++;
    return true;
  }

  /** Forgets `d` (made by its owner, which makes it through `child`, taking the place back). */
  release(d: DeferredSpan): void {
    if (this.#deferred !== d) return;
    this.#deferred = null;
    this.#made--;
  }

  /** Makes the span deferred to it, if any (the trace is kept; before it is closed). */
  settle(): void {
    const d = this.#deferred;
    if (d === null) return;
    this.release(d);
    d.materialize();
  }

  /** Decided and dropped: nothing more is recorded, nothing deferred is kept alive by it. */
  drop(): void {
    this.closed = true;
    this.#deferred = null;
  }

  /** Its spans recorded before it was decided, in the order they started (the root first). */
  get spans(): SpanRecord[] {
    const all: SpanRecord[] = [];
    for (let s: Span | null = this; s !== null; s = s.next) all.push(s);
    return all;
  }

  /** The `traceparent` naming `span` (one of this trace's) as the parent. */
  parentHeader(span: Span): string {
    return formatTraceparent(this.traceId, spanIdOf(span), this.sampled);
  }

  /** The id of `s`'s parent: its parent span's, or for the root the incoming traceparent's. */
  parentIdOf(s: SpanRecord): string | null {
    return s.parent ? spanIdOf(s.parent) : this.remoteParent;
  }

  child(parent: Span, name: string, kind: SpanKind, attrs: Attrs | undefined, startedAt: number): OpenSpan {
    // Counted as made, before or after the trace was decided: work after the response (a
    // waitUntil loop) cannot flood the export queue past the cap either.
    if (this.#made >= MAX_SPANS_PER_TRACE) {
      this.dropped++;
      return NO_SPAN;
    }
    this.#made++;
    const span = new Span(this, parent, name, kind, attrs ?? null, startedAt);
    if (!this.closed) {
      this.#newest.next = span;
      this.#newest = span;
    }
    return span;
  }
}
