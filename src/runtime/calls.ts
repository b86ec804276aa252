/**
 * Host → isolate calls that complete through a callback instead of the apply's own promise.
 *
 * Why: isolated-vm ends every task by throwing the first promise rejection that is still
 * unhandled (IsolateEnvironment::TaskEpilogue). With `result: { promise: true }`, a worker that
 * leaves one stray rejected promise in the first task of a request would fail the whole request,
 * and its real response would be lost. Workers logs "Uncaught (in promise)" and carries on, so
 * Outpost does the same: entry functions report their outcome through `complete(callId, ok,
 * value)`, and a rejection of the apply itself is only logged.
 */
import ivm from 'isolated-vm';

export interface Outcome {
  ok: boolean;
  value: unknown;
}

export class IsolateCalls {
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  #next = 1;
  #failed: Error | null = null;

  constructor(
    /** Called with the apply's error: a stray rejection to log, or a dead isolate. */
    private readonly onApplyError: (err: Error) => void,
  ) {}

  /** The callback the prelude calls when an entry function settles. */
  readonly complete = new ivm.Callback(
    (id: unknown, ok: unknown, value: unknown) => {
      const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (!p) return;
      this.#pending.delete(id as number);
      if (ok === true) p.resolve(value);
      else p.reject(value);
    },
    { ignored: true },
  );

  call(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      ref
        .apply(undefined, [id, ...args], { arguments: { copy: true } })
        .catch((err: Error) => this.onApplyError(err));
    });
  }

  /** The isolate is gone: every call still waiting fails with `err`. */
  failAll(err: Error): void {
    this.#failed = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  get pending(): number {
    return this.#pending.size;
  }
}
