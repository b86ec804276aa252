/**
 * Custom spans: `tracing` from cloudflare:workers and `ctx.tracing`
 * (https://developers.cloudflare.com/workers/observability/traces/custom-spans/): enterSpan,
 * startActiveSpan, startSpan, getActiveSpan, and a Span's setAttribute(s), recordException,
 * setStatus, updateName, spanContext, end.
 *
 * When the invocation is traced, a span is one of its trace (src/runtime/bridge/custom-spans.ts):
 * started on the host under the active custom span (or the worker's own), ended with what was
 * set on it — two synchronous crossings a span. When it is not, spans are non-recording
 * (`isTraced` false, the all-zero span context), as a Worker's are with tracing off, and cost no
 * crossing once the invocation is known to be untraced. Callbacks run as Workers runs them:
 * their arguments, results and errors passed through. The active span follows async context: it
 * lives in the request-context frames (context.ts), as AsyncLocalStorage's stores do. The
 * platform's own spans (fetch, KV, R2, Durable Objects, service bindings, cache) of a call made
 * inside a recorded custom span are its children: every posted host call says which is active
 * (bridge.ts).
 */
import { callSync } from './bridge.ts';
import { currentFrame, currentId, enter, resolveInFrame, thenInFrame, withStores } from './context.ts';

/** The frames' store key of the active custom span. */
const ACTIVE = Symbol('active span');
const STATUS = ['unset', 'ok', 'error'];
const INVALID_CONTEXT = Object.freeze({
  traceId: '00000000000000000000000000000000',
  spanId: '0000000000000000',
  traceFlags: 0,
});

type Attr = string | number | boolean | string[] | number[] | boolean[];

function checkAttr(key: unknown, value: unknown): void {
  if (typeof key !== 'string' || key === '')
    throw new TypeError('span.setAttribute: the key must be a non-empty string');
  const ok = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (value !== undefined && !ok(value) && !(Array.isArray(value) && value.every(ok)))
    throw new TypeError(
      `span.setAttribute("${key}"): the value must be a string, number, boolean or an array of them`,
    );
}

/** What crosses to the host at most: attributes a span, characters a value, items an array. */
const MAX_ATTRS = 64;
const MAX_VALUE = 4096;
const MAX_ITEMS = 128;

/** An attribute value as it crosses: strings cut, arrays bounded (else dropped: undefined). */
function bounded(value: Attr): Attr | undefined {
  if (typeof value === 'string') return value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value;
  if (Array.isArray(value))
    return value.length > MAX_ITEMS
      ? undefined
      : (value.map((v) => (typeof v === 'string' ? v.slice(0, MAX_VALUE) : v)) as Attr);
  return value;
}

/** Whether each recent invocation is traced, learned from its first span (no crossing after). */
const traced = new Map<number, boolean>();
function learn(id: number, isTraced: boolean): void {
  if (traced.size >= 1024) traced.delete(traced.keys().next().value as number);
  traced.set(id, isTraced);
}

/** A span of the worker's: recorded through the host when its invocation is traced (id > 0). */
class Span {
  /** The host's id of the span; 0: not recorded. */
  readonly #id: number;
  #attrs: Record<string, unknown> | null = null;
  /** How many keys #attrs has (at most MAX_ATTRS). */
  #count = 0;
  #status: [string, string] | null = null;
  #name: string | null = null;
  #ended = false;
  constructor(id: number) {
    this.#id = id;
  }
  /** The host's id (0: not recorded), for children to start under. */
  get hostId(): number {
    return this.#id;
  }
  /** The host's id of `s`, read from the private field (a getter tenant code cannot redefine). */
  static idOf(s: AnySpan): number {
    return #id in s ? s.#id : 0;
  }
  /** Whether this span is recorded and exported with the request's trace. */
  get isTraced(): boolean {
    return this.#id !== 0;
  }
  setAttribute(key: string, value: Attr | undefined): this {
    checkAttr(key, value);
    if (this.#id === 0 || this.#ended || value === undefined) return this;
    const attrs = (this.#attrs ??= { __proto__: null } as Record<string, unknown>);
    const name = key.slice(0, 256);
    // Full: a new key is dropped before its value is cut (setAttributes may bring 100,000).
    if (!(name in attrs) && this.#count >= MAX_ATTRS) return this;
    const v = bounded(value);
    if (v === undefined) return this;
    if (!(name in attrs)) this.#count++;
    attrs[name] = v;
    return this;
  }
  setAttributes(attributes: Record<string, Attr | undefined>): this {
    if (typeof attributes !== 'object' || attributes === null)
      throw new TypeError('span.setAttributes: attributes must be an object');
    for (const [k, v] of Object.entries(attributes)) this.setAttribute(k, v);
    return this;
  }
  /** As OpenTelemetry's exception attributes (exception.type, exception.message) on the span. */
  recordException(exception: unknown): void {
    const e = exception as { name?: unknown; message?: unknown; code?: unknown } | null;
    const type = typeof e === 'object' && e !== null ? (e.name ?? e.code) : undefined;
    const message =
      typeof exception === 'string' ? exception : typeof e === 'object' && e !== null ? e.message : undefined;
    if (type !== undefined) this.setAttribute('exception.type', String(type));
    if (message !== undefined) this.setAttribute('exception.message', String(message));
  }
  setStatus(status: { code: string; message?: string }): this {
    if (typeof status !== 'object' || status === null || !STATUS.includes(status.code))
      throw new TypeError('span.setStatus: status.code must be "unset", "ok" or "error"');
    if (this.#id !== 0 && !this.#ended)
      this.#status = [status.code, String(status.message ?? '').slice(0, MAX_VALUE)];
    return this;
  }
  updateName(name: string): this {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('span.updateName: the name must be a non-empty string');
    if (this.#id !== 0 && !this.#ended) this.#name = name.slice(0, 256);
    return this;
  }
  spanContext(): { traceId: string; spanId: string; traceFlags: number } {
    const c = this.#id === 0 ? null : (callSync('spanContext', this.#id) as [string, string, number] | null);
    return c ? { traceId: c[0], spanId: c[1], traceFlags: c[2] } : { ...INVALID_CONTEXT };
  }
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#id !== 0) callSync('spanEnd', this.#id, this.#attrs, this.#status, this.#name);
  }
}

/**
 * The invocation's own span (the worker's), as getActiveSpan() gives it outside any custom
 * span: what is set on it goes to the invocation running the call, at once.
 */
class InvocationSpan {
  get hostId(): number {
    return 0;
  }
  get isTraced(): boolean {
    const id = currentId();
    const known = traced.get(id);
    if (known !== undefined || id === 0) return known === true;
    const is = callSync('spanRoot', null, null, null) === true;
    learn(id, is);
    return is;
  }
  setAttribute(key: string, value: Attr | undefined): this {
    checkAttr(key, value);
    const v = value === undefined ? undefined : bounded(value);
    if (v !== undefined && this.isTraced) callSync('spanRoot', { [key.slice(0, 256)]: v }, null, null);
    return this;
  }
  setAttributes(attributes: Record<string, Attr | undefined>): this {
    if (typeof attributes !== 'object' || attributes === null)
      throw new TypeError('span.setAttributes: attributes must be an object');
    const out: Record<string, Attr> = {};
    let n = 0;
    for (const [k, v] of Object.entries(attributes)) {
      checkAttr(k, v);
      const b = v === undefined ? undefined : bounded(v);
      if (b !== undefined && n < MAX_ATTRS) {
        out[k.slice(0, 256)] = b;
        n++;
      }
    }
    if (n > 0 && this.isTraced) callSync('spanRoot', out, null, null);
    return this;
  }
  recordException(exception: unknown): void {
    Span.prototype.recordException.call(this, exception);
  }
  setStatus(status: { code: string; message?: string }): this {
    if (typeof status !== 'object' || status === null || !STATUS.includes(status.code))
      throw new TypeError('span.setStatus: status.code must be "unset", "ok" or "error"');
    if (this.isTraced)
      callSync('spanRoot', null, [status.code, String(status.message ?? '').slice(0, MAX_VALUE)], null);
    return this;
  }
  updateName(name: string): this {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('span.updateName: the name must be a non-empty string');
    if (this.isTraced) callSync('spanRoot', null, null, name.slice(0, 256));
    return this;
  }
  spanContext(): { traceId: string; spanId: string; traceFlags: number } {
    const c = this.isTraced ? (callSync('spanContext', 0) as [string, string, number] | null) : null;
    return c ? { traceId: c[0], spanId: c[1], traceFlags: c[2] } : { ...INVALID_CONTEXT };
  }
  /** The invocation's span ends with the invocation. */
  end(): void {}
}

const ROOT = new InvocationSpan();

type AnySpan = Span | InvocationSpan;

/** A new span under the active one: recorded when the invocation is traced. */
function newSpan(name: string): Span {
  const parent = (currentFrame()?.stores?.get(ACTIVE) as AnySpan | undefined) ?? ROOT;
  const invocation = currentId();
  // Under a span that is not recorded, or in an invocation known to be untraced: no crossing.
  if (parent !== ROOT && parent.hostId === 0) return new Span(0);
  if (invocation === 0 || traced.get(invocation) === false) return new Span(0);
  const id = callSync('spanStart', name, parent.hostId) as number;
  if (parent === ROOT) learn(invocation, id !== 0);
  return new Span(typeof id === 'number' ? id : 0);
}

function checkName(name: unknown, what: string): void {
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`tracing.${what}: the name must be a non-empty string`);
}

function checkCallback(fn: unknown, what: string): asserts fn is (...args: any[]) => any {
  if (typeof fn !== 'function') throw new TypeError(`tracing.${what}: the callback must be a function`);
}

/** `fn(span, ...args)` with `span` active for it and for everything it starts. */
function runActive<R>(span: AnySpan, fn: (...args: any[]) => R, args: unknown[]): R {
  const frame = currentFrame();
  const stores = new Map(frame?.stores ?? []);
  stores.set(ACTIVE, span);
  // The frame carries the span's host id too: platform calls made inside it are recorded under
  // it on the host (src/runtime/bridge/syscalls.ts), as Workers nests them.
  return enter(withStores(frame, stores, Span.idOf(span)), () => fn(span, ...args));
}

export const tracing = Object.freeze({
  /** Runs `fn(span, ...args)` in a new active span, ended when it returns or its promise settles. */
  enterSpan<R>(name: string, fn: (span: Span, ...args: any[]) => R, ...args: unknown[]): R {
    checkName(name, 'enterSpan');
    checkCallback(fn, 'enterSpan');
    const span = newSpan(name);
    let result: R;
    try {
      result = runActive(span, fn, args);
    } catch (err) {
      span.end();
      throw err;
    }
    let thenable: boolean;
    try {
      thenable = result !== null && typeof result === 'object' && typeof (result as any).then === 'function';
    } catch (err) {
      // A `then` getter that throws: the span still ends.
      span.end();
      throw err;
    }
    if (thenable)
      return thenInFrame(
        resolveInFrame(result),
        (v) => {
          span.end();
          return v;
        },
        (err) => {
          span.end();
          throw err;
        },
      ) as R;
    span.end();
    return result;
  },
  /** As enterSpan, but the span stays open until its end() is called. */
  startActiveSpan<R>(name: string, fn: (span: Span, ...args: any[]) => R, ...args: unknown[]): R {
    checkName(name, 'startActiveSpan');
    checkCallback(fn, 'startActiveSpan');
    const span = newSpan(name);
    return runActive(span, fn, args);
  },
  /** A span that is not made active (nothing nests under it); end() it when done. */
  startSpan(name: string): Span {
    checkName(name, 'startSpan');
    return newSpan(name);
  },
  /** The active custom span, or outside any the invocation's own. */
  getActiveSpan(): AnySpan {
    return (currentFrame()?.stores?.get(ACTIVE) as AnySpan | undefined) ?? ROOT;
  },
});
