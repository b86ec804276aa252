/**
 * Host → isolate calls, and their completions, batched like an I/O ring.
 *
 * Completion through a callback, not the apply's promise: isolated-vm ends every task by
 * throwing the first promise rejection still unhandled (IsolateEnvironment::TaskEpilogue), so
 * with `result: { promise: true }` one stray `Promise.reject()` in a handler failed the whole
 * request and lost its response. Workers logs "Uncaught (in promise)" and carries on; entry
 * functions therefore report `complete([id, ok, value, ...])` and the apply's own outcome is
 * only a signal (a stray rejection to log, or a dead isolate).
 *
 * Batching: each crossing costs ~10–25 µs of CPU on each side (measured), more than the rest of
 * a hello-world request. Requests that arrive in one turn of the event loop go into the isolate
 * in one apply (flushed from setImmediate, i.e. later in the same loop iteration), and
 * the isolate sends completions that settle together back in one callback. Under load this
 * divides the crossing cost by the batch size; alone, a request waits for no one.
 */
import ivm from 'isolated-vm';

type Pending = { resolve(v: unknown): void; reject(e: unknown): void };

export class IsolateCalls {
  #pending = new Map<number, Pending>();
  #next = 1;
  #failed: Error | null = null;
  #queue = new Map<ivm.Reference, unknown[]>();
  #flushScheduled = false;

  constructor(
    /** Called with an apply's error: a stray rejection to log, or a dead isolate. */
    private readonly onApplyError: (err: Error) => void,
  ) {}

  /** The callback the prelude calls with settled entry calls: a flat [id, ok, value, ...]. */
  readonly complete = new ivm.Callback(
    (list: unknown) => {
      if (!Array.isArray(list)) return;
      for (let i = 0; i + 2 < list.length; i += 3) {
        const id = list[i];
        const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
        if (!p) continue;
        this.#pending.delete(id as number);
        if (list[i + 1] === true) p.resolve(list[i + 2]);
        else p.reject(list[i + 2]);
      }
    },
    { ignored: true },
  );

  /**
   * Call an entry function alone (a task of its own in the isolate); its apply's failure is
   * reported to onApplyError. The apply is made from a microtask: isolated-vm captures the
   * caller's stack (10 frames) on every async apply, and from deep in optimized host code that
   * capture cost more than the rest of the crossing (V8 rebuilds inlined frames to describe
   * them: perf showed TranslatedState at 6.5% of the main thread on a hot Durable Object).
   */
  call(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#alone.push(ref, [[[id, ...args]]]);
      if (this.#alone.length === 2) queueMicrotask(this.#applyAlone);
    });
  }

  /** Calls made alone, waiting for their microtask: [ref, args, ref, args, ...]. */
  #alone: unknown[] = [];
  readonly #applyAlone = (): void => {
    const list = this.#alone;
    this.#alone = [];
    for (let i = 0; i < list.length; i += 2)
      (list[i] as ivm.Reference)
        .apply(undefined, list[i + 1] as unknown[], { arguments: { copy: true } })
        .catch((err: Error) => this.onApplyError(err));
  };

  /**
   * An outcome the isolate will report without an entry call: the caller hands `id` to the
   * isolate by other means (loading a module bundle: src/runtime/load.ts). It fails like
   * any other call if the isolate goes first.
   */
  expect(): { id: number; outcome: Promise<unknown> } {
    const id = this.#next++;
    if (this.#failed) return { id, outcome: Promise.reject(this.#failed) };
    const outcome = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    return { id, outcome };
  }

  /**
   * Queue a call to a batch entry function (one taking [[id, ...args], ...]); the queue is
   * flushed into the isolate in one apply later in this turn of the event loop.
   */
  queue(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      let q = this.#queue.get(ref);
      if (!q) this.#queue.set(ref, (q = []));
      q.push([id, ...args]);
      this.#schedule();
    });
  }

  /**
   * Answer one of the isolate's own host calls (bridge/syscalls.ts) through `ref`, an entry
   * taking a list of answers, later in this turn of the event loop. Each answer is a task of its
   * own in the isolate, never batched with another: the continuation of one I/O must run with
   * its microtasks to the end before the next starts (a Durable Object's input gate relies on
   * it, and Workers, Node and browsers run microtasks between timer callbacks). Applied from
   * setImmediate, where the stack isolated-vm captures is shallow and cheap.
   */
  deliver(ref: ivm.Reference, item: unknown[], instead?: unknown[]): void {
    if (this.#failed) return;
    this.#answers.push({ ref, item, instead });
    this.#schedule();
  }

  /** Answers waiting for the flush; `instead` is sent when `item` cannot be copied. */
  #answers: { ref: ivm.Reference; item: unknown[]; instead?: unknown[] }[] = [];

  #answer(a: { ref: ivm.Reference; item: unknown[]; instead?: unknown[] }): void {
    a.ref.apply(undefined, [[a.item]], { arguments: { copy: true } }).catch((err: Error) => {
      // Copying happens before the task runs: the call is answered with `instead`, not left hanging.
      if (a.instead && !this.#failed && /could not be cloned/.test(String(err?.message)))
        this.#answer({ ref: a.ref, item: a.instead });
      else this.onApplyError(err);
    });
  }

  #schedule(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Batches sent and calls in them (for stats and the bench). */
  batches = 0;
  batched = 0;

  #flush(): void {
    this.#flushScheduled = false;
    const answers = this.#answers;
    this.#answers = [];
    for (const a of answers) this.#answer(a);
    const queued = this.#queue;
    this.#queue = new Map();
    for (const [ref, batch] of queued) {
      this.batches++;
      this.batched += batch.length;
      // apply, not applyIgnored: its promise reports a stray rejection from the batch's first
      // task (logged as "Uncaught (in promise)") or a dead isolate. It costs ~14 µs more than
      // applyIgnored, but once per batch, not per request.
      ref
        .apply(undefined, [batch], { arguments: { copy: true } })
        .catch((err: Error) => this.onApplyError(err));
    }
  }

  /** The isolate is gone: every call still waiting fails with `err`. */
  failAll(err: Error): void {
    this.#failed = err;
    this.#alone = [];
    this.#answers = [];
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#queue.clear();
  }

  get pending(): number {
    return this.#pending.size;
  }
}
