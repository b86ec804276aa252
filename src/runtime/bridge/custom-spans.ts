/**
 * The host side of worker code's custom spans (src/runtime/isolate/tracing.ts): a span the
 * worker starts becomes a span of its invocation's trace, under the worker's span or under the
 * custom span active where it started, ended with what the worker set on it. Nothing is
 * recorded for an invocation that is not traced (the isolate then keeps its spans to itself).
 *
 * What crosses is checked here, as all isolate input: names and attribute keys are strings cut
 * to bounds, values strings (cut), finite numbers or booleans (arrays as JSON), at most
 * MAX_ATTRS a span; open spans are bounded per isolate (the oldest is ended past the bound, so a
 * worker that never ends its spans cannot grow the host). Each trace is bounded in spans anyway
 * (MAX_SPANS_PER_TRACE in src/observability/trace.ts).
 */
import { type Attrs, type OpenSpan, SpanKind, type TraceScope } from '../../observability/index.ts';
import type { HopRecorder } from '../types.ts';

const MAX_NAME_BYTES = 64;
const MAX_KEY = 256;
const MAX_VALUE = 4096;
const MAX_ATTRS = 64;
/** Spans open at once in one isolate at most (past it the oldest is ended, marked unended). */
const MAX_OPEN = 1_000;

/** What the isolate's spans need of the invocation they run for. */
export interface SpanOwner {
  /** The invocation's recorder (its trace scope is the worker's span), or null when it is over. */
  hops(ctx: unknown): HopRecorder | null;
  /** The invocation's own span (the worker's), or null. */
  invocationSpan(ctx: unknown): OpenSpan | null;
}

/**
 * A span's name as Workers keeps it: its first 64 bytes of UTF-8, here without splitting a
 * character (workerd's MAX_USER_OPERATION_NAME_BYTES: names identify operations, not data).
 */
export function spanName(v: unknown): string {
  if (typeof v !== 'string' || v === '') return 'span';
  if (v.length <= MAX_NAME_BYTES / 3) return v; // at most 3 bytes a UTF-16 unit
  let bytes = 0;
  let end = 0;
  for (const ch of v) {
    const cp = ch.codePointAt(0) as number;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > MAX_NAME_BYTES) break;
    end += ch.length;
  }
  return v.slice(0, end);
}

/** Attributes the isolate sent, as a span may keep them (anything else dropped). */
export function cleanAttrs(v: unknown): Attrs {
  const out: Attrs = {};
  if (typeof v !== 'object' || v === null) return out;
  let n = 0;
  let seen = 0;
  const o = v as Record<string, unknown>;
  // for…in, not Object.entries: a huge object is not copied again before the bound stops it.
  for (const k in o) {
    if (n >= MAX_ATTRS || ++seen > 4 * MAX_ATTRS) break;
    if (k === '' || !Object.hasOwn(o, k)) continue;
    const x = o[k];
    const key = k.slice(0, MAX_KEY);
    if (typeof x === 'string') out[key] = x.slice(0, MAX_VALUE);
    else if (typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x))) out[key] = x;
    else if (
      Array.isArray(x) &&
      x.length <= 128 &&
      x.every((e) => ['string', 'number', 'boolean'].includes(typeof e))
    )
      out[key] = JSON.stringify(x).slice(0, MAX_VALUE);
    else continue;
    n++;
  }
  return out;
}

/** A status the isolate sent: the error message of an "error" status, else undefined. */
function errorOf(status: unknown): string | undefined {
  if (!Array.isArray(status) || status[0] !== 'error') return undefined;
  return typeof status[1] === 'string' && status[1] !== '' ? status[1].slice(0, MAX_VALUE) : 'error';
}

/** Spans open at once for one invocation at most (a trace keeps 256 anyway). */
const MAX_OPEN_PER_INVOCATION = 256;
/** Ended spans whose context a worker may still ask for (span.spanContext() after end()). */
const MAX_RECENT = 256;
/** Attributes a worker may add to its invocation's own span, in all. */
const MAX_ROOT_ATTRS = 64;
/** Attribute names the platform sets on the worker's span: not the worker's to overwrite. */
const RESERVED = /^(?:faas\.|outpost\.|cloudflare\.)/;

interface Open {
  span: OpenSpan;
  /** The invocation that started it: only it may end it, read it or start under it. */
  ctx: unknown;
}

export class CustomSpans {
  readonly #open = new Map<number, Open>();
  /** Open span ids by invocation. */
  readonly #byInvocation = new Map<unknown, Set<number>>();
  /** Ended spans' context, by id, with their invocation. */
  readonly #recent = new Map<number, { ctx: unknown; context: [string, string, number] | null }>();
  /** Attributes the worker added to each invocation span. */
  readonly #rootAttrs = new WeakMap<OpenSpan, number>();
  #next = 0;

  constructor(readonly owner: () => SpanOwner) {}

  /**
   * Where work of invocation `ctx` done inside its open custom span `id` records its spans (a
   * platform call the worker made there: src/runtime/bridge/syscalls.ts); null when that span
   * is not open, or not this invocation's.
   */
  scopeOf(ctx: unknown, id: number): TraceScope | null {
    const o = this.#open.get(id);
    // A span past the trace's bound records nothing: its calls go where they are counted.
    return o && o.ctx === ctx && o.span.scope.recording ? o.span.scope : null;
  }

  /** Starts a span under `parent` (a custom span's id, or 0: the worker's span); 0: not traced. */
  start(ctx: unknown, name: unknown, parent: unknown): number {
    const under = typeof parent === 'number' && parent > 0 ? this.#open.get(parent) : undefined;
    if (under && under.ctx !== ctx) return 0;
    const scope = under ? under.span.scope : this.owner().hops(ctx)?.trace;
    // A local trace (the dashboard looking) is not the worker's to see: untraced, as with none.
    if (!scope?.recording || scope.local) return 0;
    let mine = this.#byInvocation.get(ctx);
    if (mine && mine.size >= MAX_OPEN_PER_INVOCATION) return 0;
    if (this.#open.size >= MAX_OPEN) {
      const [oldest, o] = this.#open.entries().next().value as [number, Open];
      this.#close(oldest, o, { 'outpost.span.unended': true }, undefined);
    }
    const id = ++this.#next;
    this.#open.set(id, { span: scope.start(spanName(name), SpanKind.INTERNAL, {}), ctx });
    if (!mine) this.#byInvocation.set(ctx, (mine = new Set()));
    mine.add(id);
    return id;
  }

  #close(id: number, o: Open, attrs: Attrs, error: string | undefined): void {
    this.#open.delete(id);
    const mine = this.#byInvocation.get(o.ctx);
    mine?.delete(id);
    if (mine?.size === 0) this.#byInvocation.delete(o.ctx);
    o.span.end(attrs, error);
    if (this.#recent.size >= MAX_RECENT) this.#recent.delete(this.#recent.keys().next().value as number);
    this.#recent.set(id, { ctx: o.ctx, context: contextOf(o.span) });
  }

  /** Ends span `id` of invocation `ctx` with what the worker set on it (once; others ignored). */
  end(ctx: unknown, id: unknown, attrs: unknown, status: unknown, newName: unknown): void {
    const o = typeof id === 'number' ? this.#open.get(id) : undefined;
    if (!o || o.ctx !== ctx) return;
    if (typeof newName === 'string' && newName !== '') o.span.rename(spanName(newName));
    if (Array.isArray(status) && status[0] === 'ok') o.span.succeed();
    const error = errorOf(status);
    if (error !== undefined) o.span.fail(error);
    this.#close(id as number, o, cleanAttrs(attrs), undefined);
  }

  /** Invocation `ctx` is over: the spans it left open end now, marked so. */
  release(ctx: unknown): void {
    const mine = this.#byInvocation.get(ctx);
    if (!mine) return;
    for (const id of [...mine]) {
      const o = this.#open.get(id);
      if (o) this.#close(id, o, { 'outpost.span.unended': true }, undefined);
    }
    this.#byInvocation.delete(ctx);
  }

  /**
   * The invocation's own span, changed by the worker (getActiveSpan() outside any custom span):
   * attributes added (64 in all; the platform's own names refused), renamed, its status set (a
   * platform error still wins). Returns whether the invocation is traced.
   */
  root(ctx: unknown, attrs: unknown, status: unknown, newName: unknown): boolean {
    const span = this.owner().invocationSpan(ctx);
    if (!span || !span.scope.recording || span.scope.local) return false;
    if ((span as OpenSpan & { endMs?: number }).endMs) return true;
    const a = cleanAttrs(attrs);
    let added = this.#rootAttrs.get(span) ?? 0;
    const keep: Attrs = {};
    for (const [k, v] of Object.entries(a)) {
      if (RESERVED.test(k) || added >= MAX_ROOT_ATTRS) continue;
      keep[k] = v;
      added++;
    }
    this.#rootAttrs.set(span, added);
    if (Object.keys(keep).length > 0) span.set(keep);
    if (typeof newName === 'string' && newName !== '') span.rename(spanName(newName));
    const error = errorOf(status);
    if (error !== undefined) span.fail(error);
    else if (Array.isArray(status) && status[0] === 'ok') span.succeed();
    return true;
  }

  /** [trace id, span id, trace flags] of span `id` (0: the invocation's), or null when not traced. */
  context(ctx: unknown, id: unknown): [string, string, number] | null {
    if (id === 0) {
      const span = this.owner().invocationSpan(ctx);
      return span?.scope.recording ? contextOf(span) : null;
    }
    if (typeof id !== 'number') return null;
    const o = this.#open.get(id);
    if (o) return o.ctx === ctx ? contextOf(o.span) : null;
    const r = this.#recent.get(id);
    return r && r.ctx === ctx ? r.context : null;
  }
}

function contextOf(span: OpenSpan): [string, string, number] | null {
  const tp = span.scope.traceparent(span);
  if (!tp) return null;
  const [, trace, spanId, flags] = tp.split('-');
  return [trace, spanId, Number.parseInt(flags, 16)];
}
