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

const RESOLVED = Promise.resolve();
const COPY = { arguments: { copy: true } } as const;

/**
 * `ref.apply(undefined, args)`, made from a promise job that calls the bound apply itself, so
 * no JavaScript frame is on the stack. isolated-vm captures the caller's stack (10 frames) on
 * every async apply, and describing an optimized frame makes V8 decode its deoptimization data
 * (TranslatedState): from deep in host code that cost more than the rest of the crossing, and
 * from one small frame still ~2% of a hot Durable Object's main thread (perf). Copy failures
 * reject the returned promise, as they do the apply's.
 */
function applySoon(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
  return RESOLVED.then(ref.apply.bind(ref, undefined, args, COPY));
}

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
   * reported to onApplyError. Applied from a promise job (applySoon).
   */
  call(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      applySoon(ref, [[[id, ...args]]]).catch(this.#applyFailed);
    });
  }

  readonly #applyFailed = (err: Error): void => this.onApplyError(err);

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
   * taking a list of answers, from a promise job (applySoon). Each answer is a task of its own in
   * the isolate, never batched with another: the continuation of one I/O must run with its
   * microtasks to the end before the next starts (a Durable Object's input gate relies on it,
   * and Workers, Node and browsers run microtasks between timer callbacks). If `item` cannot be
   * copied (copying happens before the task runs) the call is answered with `instead`, not left
   * hanging.
   */
  deliver(ref: ivm.Reference, item: unknown[], instead?: unknown[]): void {
    if (this.#failed) return;
    applySoon(ref, [[item]]).catch((err: Error) => {
      if (instead && !this.#failed && /could not be cloned/.test(String(err?.message)))
        this.deliver(ref, instead);
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
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#queue.clear();
  }

  get pending(): number {
    return this.#pending.size;
  }
}
