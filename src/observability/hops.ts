/**
 * The hops a request's work took — the client ↔ PoP trip, the worker, each cache tier, the
 * shield and the origin, KV, Durable Objects, R2, static assets — recorded as data where each
 * happens, and rendered in one place: `Server-Timing` (https://www.w3.org/TR/server-timing/).
 * Every part reports a Hop; none formats the header itself. With tracing on, each hop is also
 * a span of the request's trace (trace.ts), parented where it was recorded: a recorder is a
 * place in the trace, and `begin` opens a hop whose own recorder is the place for what it does.
 */
import { type Attrs, epochOf, nowMs, type OpenSpan, SpanKind, type TraceScope } from './trace.ts';

/** One hop of a request's work. */
export interface Hop {
  /** The Server-Timing metric: edge, worker, cache, shield, origin, kv, do, r2, assets. */
  name: string;
  /** Its duration, ms (a modelled trip included, see `simulated`). */
  ms: number;
  /** What it was: `HIT GET /a.js`, `BOM to eu-west MISS`, `GET STORE central store`. */
  desc: string;
  /** The time holds a modelled network trip that was reported, not waited (latency simulation off). */
  simulated?: boolean;
  /** Begun and not yet ended (a hop that failed before it ended is not shown). */
  pending?: boolean;
}

/** What a hop's span is, when it is not the default `outpost.<hop name>`. */
export interface HopSpan {
  /** The span's name (OpenTelemetry conventions: `GET` for an HTTP client span, `kv_get`…). */
  name: string;
  kind?: SpanKind;
  attrs?: Attrs;
  /** When it began, a `performance.now()` reading (default: its end minus the hop's ms). */
  started?: number;
  /** It failed: the span's error status. */
  error?: string;
}

/** A hop in progress: what it does is recorded inside it. */
export interface OpenHop {
  /** Records into the same Server-Timing, with spans parented to this hop's. */
  readonly recorder: HopRecorder;
  /** The `traceparent` of a request this hop sends (null: not tracing). */
  readonly traceparent: string | null;
  /** The trace's `tracestate`, sent beside the traceparent. */
  readonly tracestate: string | undefined;
  set(attrs: Attrs): void;
  /** `hop`: its Server-Timing entry, in the place it was begun (null: none). */
  end(hop: Hop | null, attrs?: Attrs, error?: string): void;
}

/** Where a host call tells the request it serves what it went through. */
export interface HopRecorder {
  /** A finished hop; `span: false` for one that is not a span (a modelled trip). */
  hop(hop: Hop, span?: HopSpan | false): void;
  begin(name: string, kind?: SpanKind, attrs?: Attrs): OpenHop;
  /** The place in the trace its spans go (for work handed on: a callee's invocation). */
  readonly trace: TraceScope;
  /** How a shield asked answered (`eu-west MISS`), for `Outpost-Shield`. */
  shield(status: string): void;
  /** Where a Durable Object called lives (a PoP id), for `Outpost-Do-Location`. */
  object(pop: string): void;
}

/** What a request's recorder collected. */
export interface RequestHops {
  /** In the order they finished. */
  hops: Hop[];
  shield: string[];
  objects: string[];
}

/** A Server-Timing description: a quoted-string, its quotes and backslashes dropped. */
function quoted(desc: string): string {
  // Most have neither: no regular expression run for them (this is on every response).
  return desc.includes('"') || desc.includes('\\') ? `"${desc.replace(/["\\]/g, '')}"` : `"${desc}"`;
}

/** One Server-Timing entry. */
export function timingEntry(h: Hop): string {
  const dur = h.ms === 0 ? '0.0' : h.ms.toFixed(1);
  return `${h.name};dur=${dur};desc=${quoted(h.simulated ? `${h.desc}, simulated` : h.desc)}`;
}

/** The Server-Timing header value of hops, in order. */
export function serverTiming(hops: readonly Hop[]): string {
  let out = '';
  for (const h of hops) {
    if (h.pending) continue;
    out += out ? `, ${timingEntry(h)}` : timingEntry(h);
  }
  return out;
}

/** Server-Timing entries kept per request by default: a header of bounded size. */
export const MAX_HOP_ENTRIES = 32;

/**
 * A recorder into `into` (Server-Timing) and `scope` (the trace). Each list keeps at most
 * `max` entries; spans are bounded by their trace.
 */
export function recordHops(into: RequestHops, scope: TraceScope, max = MAX_HOP_ENTRIES): HopRecorder {
  return new Recorder(into, scope, max);
}

class Recorder implements HopRecorder {
  constructor(
    readonly into: RequestHops,
    readonly trace: TraceScope,
    readonly max: number,
  ) {}
  hop(h: Hop, span?: HopSpan | false): void {
    if (this.into.hops.length < this.max) this.into.hops.push(h);
    if (!this.trace.recording || span === false) return;
    const started = span?.started !== undefined ? epochOf(span.started) : nowMs() - h.ms;
    const s = this.trace.start(
      span?.name ?? `outpost.${h.name}`,
      span?.kind ?? SpanKind.INTERNAL,
      { 'outpost.hop': h.desc, ...(h.simulated ? { 'outpost.hop.simulated_ms': h.ms } : {}), ...span?.attrs },
      started,
    );
    s.end(undefined, span?.error);
  }
  begin(name: string, kind: SpanKind = SpanKind.INTERNAL, attrs?: Attrs): OpenHop {
    // Its place in Server-Timing is taken now (path order), and given back if it ends unshown.
    const slot: Hop = { name, ms: 0, desc: '', pending: true };
    const placed = this.into.hops.length < this.max;
    if (placed) this.into.hops.push(slot);
    const span = this.trace.start(name, kind, attrs);
    return new Open(this, placed ? slot : null, span);
  }
  shield(status: string): void {
    if (this.into.shield.length < this.max) this.into.shield.push(status);
  }
  object(pop: string): void {
    const o = this.into.objects;
    if (!o.includes(pop) && o.length < this.max) o.push(pop);
  }
}

class Open implements OpenHop {
  #recorder: HopRecorder | null = null;
  constructor(
    readonly parent: Recorder,
    /** Its reserved Server-Timing entry; null when the list was full when it began. */
    readonly slot: Hop | null,
    readonly span: OpenSpan,
  ) {}
  get recorder(): HopRecorder {
    this.#recorder ??= this.parent.trace.recording
      ? new Recorder(this.parent.into, this.span.scope, this.parent.max)
      : this.parent;
    return this.#recorder;
  }
  get traceparent(): string | null {
    return this.parent.trace.traceparent(this.span);
  }
  get tracestate(): string | undefined {
    return this.parent.trace.tracestate;
  }
  set(attrs: Attrs): void {
    this.span.set(attrs);
  }
  end(hop: Hop | null, attrs?: Attrs, error?: string): void {
    const hops = this.parent.into.hops;
    if (this.slot?.pending) {
      if (hop) Object.assign(this.slot, hop, { pending: false });
      else {
        const at = hops.indexOf(this.slot);
        if (at !== -1) hops.splice(at, 1);
      }
    } else if (hop && !this.slot && hops.length < this.parent.max) hops.push(hop);
    this.span.end(attrs, error);
  }
}
