// The processed page as the parser builds it and the writer reads it (process.ts has the design).
//
// A Seq is an ordered, growing list of items — text, an include, an esi:try — that the parser
// appends to and the writer walks, waiting where it has caught up. A Seq is *active* when its
// content will (or may) be sent: includes pushed into an active Seq start fetching at once. The
// page's Seq is active from the start; an esi:attempt's when its try is reached by activation; an
// esi:except's only once its attempt has failed, so fallback fragments are fetched only when
// needed. A Seq whose branch lost is cancelled: its fetches abort, its text is let go.
//
// A Scope hears about includes that fail (after alt, without onerror="continue"): the page's
// scope applies onIncludeError; an esi:attempt's scope decides its try (ESI 1.0 §3.4): the first
// failure chooses esi:except, and the attempt is chosen once it is closed and everything in it
// has finished well, including nested tries' chosen branches.

import { Cancel } from './abort.ts';
import { type Deferred, deferred, type Flow } from './flow.ts';
import { EsiError } from './types.ts';

/** A fragment's processed bytes, or why it could not be had. */
export type Outcome = { ok: true; chunks: Uint8Array[] } | { ok: false; error: EsiError };

export interface Scope {
  /** Work in this scope begins (a started include, an activated try). */
  add(): void;
  /** That work finished well. */
  done(): void;
  /** An include in this scope failed. */
  fail(err: EsiError): void;
}

export type Item =
  | { t: 'text'; s: string }
  | { t: 'include'; inc: IncludeItem }
  | { t: 'try'; block: TryBlock };

export class Seq {
  /** Items not yet taken by the writer, from `head` on (taken ones are let go). */
  private items: Item[] = [];
  private head = 0;
  closed = false;
  private active = false;
  private cancelled = false;
  /** Bytes of text pushed and not yet written. */
  private unwritten = 0;
  private waiter: Deferred<void> | null = null;
  private closeHooks: (() => void)[] = [];

  constructor(
    readonly scope: Scope,
    private readonly flow: Flow,
  ) {}

  push(item: Item): void {
    if (this.cancelled || this.closed) return;
    this.items.push(item);
    if (item.t === 'text') {
      this.unwritten += item.s.length;
      this.flow.add(item.s.length);
    }
    if (this.active) this.start(item);
    this.wake();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    for (const h of this.closeHooks.splice(0)) h();
  }

  onClose(h: () => void): void {
    if (this.closed) h();
    else this.closeHooks.push(h);
  }

  activate(): void {
    if (this.active || this.cancelled) return;
    this.active = true;
    for (let i = this.head; i < this.items.length; i++) this.start(this.items[i]);
  }

  /** The next item for the writer, taken out; undefined when it has caught up. */
  take(): Item | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The next item's kind, without taking it. */
  peek(): Item['t'] | undefined {
    return this.items[this.head]?.t;
  }

  /** Its branch lost (or the page ended): fetches abort, text is let go. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.flow.release(this.unwritten);
    this.unwritten = 0;
    for (const item of this.items.splice(this.head)) {
      if (item.t === 'include') item.inc.cancel();
      else if (item.t === 'try') item.block.cancel();
    }
    this.wake();
  }

  /** The writer sent `n` bytes of this Seq's text. */
  written(n: number): void {
    this.unwritten -= n;
    this.flow.release(n);
  }

  /** Resolves at the next push, close or cancel. */
  changed(): Promise<void> {
    this.waiter ??= deferred<void>();
    return this.waiter.promise;
  }

  private start(item: Item): void {
    if (item.t === 'include') item.inc.start(this.scope);
    else if (item.t === 'try') item.block.activate();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }
}

/** One esi:include: fetched (with its alt and fallbacks) once started. */
export class IncludeItem {
  readonly outcome: Promise<Outcome>;
  /** The outcome once it is known (the writer need not wait for it then). */
  settled: Outcome | null = null;
  private settle!: (o: Outcome) => void;
  private started = false;
  private cancelled = false;
  /** Aborts with the page, or when the include is no longer needed; made when it starts. */
  private cancelToken: Cancel | null = null;

  /** `run` fetches and processes the fragment; `page` aborts with the page. */
  constructor(
    private readonly run: (cancel: Cancel) => Promise<Outcome>,
    private readonly page: Cancel,
  ) {
    this.outcome = new Promise<Outcome>((res) => {
      this.settle = (o) => {
        this.settled = o;
        res(o);
      };
    });
  }

  start(scope: Scope): void {
    if (this.started || this.cancelled) return;
    this.started = true;
    scope.add();
    const cancel = new Cancel(this.page);
    this.cancelToken = cancel;
    let p: Promise<Outcome>;
    try {
      p = this.run(cancel);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.catch((e): Outcome => ({ ok: false, error: asEsiError(e) })).then((o) => {
      cancel.detach();
      this.settle(o);
      if (this.cancelled) return;
      if (o.ok) scope.done();
      else scope.fail(o.error);
    });
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const reason = new EsiError('cancelled', 'include no longer needed');
    this.cancelToken?.abort(reason);
    if (!this.started) this.settle({ ok: false, error: reason });
  }
}

export function asEsiError(e: unknown, url?: string): EsiError {
  if (e instanceof EsiError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new EsiError('include-failed', msg, url);
}

/** The attempt's scope: decides its try. */
class AttemptScope implements Scope {
  private pending = 0;
  private closed = false;
  private active = false;
  private settled = false;

  constructor(private readonly decide: (ok: boolean, err?: EsiError) => void) {}

  add(): void {
    this.pending++;
  }
  done(): void {
    this.pending--;
    this.check();
  }
  fail(err: EsiError): void {
    if (this.settled || !this.active) return;
    this.settled = true;
    this.decide(false, err);
  }
  close(): void {
    this.closed = true;
    this.check();
  }
  activate(): void {
    this.active = true;
    this.check();
  }
  private check(): void {
    if (this.settled || !this.active || !this.closed || this.pending > 0) return;
    this.settled = true;
    this.decide(true);
  }
}

/** One esi:try: its attempt and except branches and which of them is sent. */
export class TryBlock {
  readonly attempt: Seq;
  readonly except: Seq;
  readonly decision: Promise<'attempt' | 'except'>;
  decided: 'attempt' | 'except' | null = null;
  attemptClosed = false;
  /** Why the attempt failed, when it did. */
  failure: EsiError | null = null;
  private readonly scope: AttemptScope;
  private resolve!: (d: 'attempt' | 'except') => void;
  private active = false;
  private cancelled = false;

  constructor(
    private readonly parent: Scope,
    flow: Flow,
  ) {
    this.scope = new AttemptScope((ok, err) => this.decide(ok ? 'attempt' : 'except', err));
    this.attempt = new Seq(this.scope, flow);
    this.except = new Seq(parent, flow);
    this.decision = new Promise((res) => {
      this.resolve = res;
    });
  }

  activate(): void {
    if (this.active || this.cancelled) return;
    this.active = true;
    this.parent.add();
    this.attempt.activate();
    this.scope.activate();
  }

  /** The parser reached </esi:attempt> (or the try ended without one). */
  closeAttempt(): void {
    if (this.attemptClosed) return;
    this.attemptClosed = true;
    this.attempt.close();
    this.scope.close();
  }

  failAttempt(err: EsiError): void {
    this.scope.fail(err);
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.attempt.cancel();
    this.except.cancel();
  }

  private decide(which: 'attempt' | 'except', err?: EsiError): void {
    if (this.decided !== null || this.cancelled) return;
    this.decided = which;
    if (which === 'except') {
      this.failure = err ?? null;
      this.attempt.cancel();
      this.except.activate();
      this.except.onClose(() => this.parent.done());
    } else {
      this.except.cancel();
      this.parent.done();
    }
    this.resolve(which);
  }
}
