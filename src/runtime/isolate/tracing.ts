/**
 * Custom spans: `tracing` from cloudflare:workers and `ctx.tracing`
 * (https://developers.cloudflare.com/workers/observability/traces/custom-spans/): enterSpan,
 * startActiveSpan, startSpan, getActiveSpan, and a Span's setAttribute(s), recordException,
 * setStatus, updateName, spanContext, end.
 *
 * Outpost does not record custom spans yet: every span is non-recording — `isTraced` is false
 * and its span context is the invalid (all-zero) one, as a Worker's spans are when tracing is
 * off — so code written for the API runs unchanged, its callbacks called and their results
 * returned as Workers does. The platform's own spans (fetch, KV, Durable Objects, cache) are
 * recorded as before. The active span follows async context: it lives in the request-context
 * frames (context.ts), as AsyncLocalStorage's stores do.
 */
import { currentFrame, enter, withStores } from './context.ts';

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

/** A non-recording span: what it is told is checked as Workers checks it, and not kept. */
class Span {
  /** Whether this span is recorded and exported: never yet in Outpost (see the top of this file). */
  get isTraced(): boolean {
    return false;
  }
  setAttribute(key: string, value: Attr | undefined): this {
    checkAttr(key, value);
    return this;
  }
  setAttributes(attributes: Record<string, Attr | undefined>): this {
    if (typeof attributes !== 'object' || attributes === null)
      throw new TypeError('span.setAttributes: attributes must be an object');
    for (const [k, v] of Object.entries(attributes)) checkAttr(k, v);
    return this;
  }
  recordException(_exception: unknown): void {}
  setStatus(status: { code: string; message?: string }): this {
    if (typeof status !== 'object' || status === null || !STATUS.includes(status.code))
      throw new TypeError('span.setStatus: status.code must be "unset", "ok" or "error"');
    return this;
  }
  updateName(name: string): this {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('span.updateName: the name must be a non-empty string');
    return this;
  }
  spanContext(): { traceId: string; spanId: string; traceFlags: number } {
    return { ...INVALID_CONTEXT };
  }
  end(): void {}
}

/**
 * The invocation's own span, as getActiveSpan() gives it outside any custom span: one for the
 * isolate, which nothing can tell apart from one per invocation (a span keeps no state).
 */
const ROOT = new Span();

function checkName(name: unknown, what: string): void {
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`tracing.${what}: the name must be a non-empty string`);
}

function checkCallback(fn: unknown, what: string): asserts fn is (...args: any[]) => any {
  if (typeof fn !== 'function') throw new TypeError(`tracing.${what}: the callback must be a function`);
}

/** `fn(span, ...args)` with `span` active for it and for everything it starts. */
function runActive<R>(span: Span, fn: (...args: any[]) => R, args: unknown[]): R {
  const frame = currentFrame();
  const stores = new Map(frame?.stores ?? []);
  stores.set(ACTIVE, span);
  return enter(withStores(frame, stores), () => fn(span, ...args));
}

export const tracing = Object.freeze({
  /** Runs `fn(span, ...args)` in a new active span, ended when it returns or its promise settles. */
  enterSpan<R>(name: string, fn: (span: Span, ...args: any[]) => R, ...args: unknown[]): R {
    checkName(name, 'enterSpan');
    const span = new Span();
    checkCallback(fn, 'enterSpan');
    let result: R;
    try {
      result = runActive(span, fn, args);
    } catch (err) {
      span.end();
      throw err;
    }
    if (result !== null && typeof result === 'object' && typeof (result as any).then === 'function')
      return Promise.resolve(result).then(
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
    const span = new Span();
    checkCallback(fn, 'startActiveSpan');
    return runActive(span, fn, args);
  },
  /** A span that is not made active (nothing nests under it); end() it when done. */
  startSpan(name: string): Span {
    checkName(name, 'startSpan');
    return new Span();
  },
  /** The active custom span, or outside any the invocation's own. */
  getActiveSpan(): Span {
    return (currentFrame()?.stores?.get(ACTIVE) as Span | undefined) ?? ROOT;
  },
});
