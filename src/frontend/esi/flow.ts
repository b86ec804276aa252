// Back-pressure between the parser and the writer of one document (process.ts has the design):
// the parser reads ahead to start fetches early, but only `limit` bytes of unsent text ahead.

import { EsiError } from './types.ts';

/** What the writer may wait for that only more parsing can settle: an esi:try (tree.ts). */
export interface Undecided {
  attemptClosed: boolean;
  decided: 'attempt' | 'except' | null;
  failAttempt(err: EsiError): void;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Back-pressure between the parser (reading ahead to start fetches early) and the writer. */
export class Flow {
  private bytes = 0;
  private waiter: Deferred<void> | null = null;
  /** What the writer waits for when only more parsing can give it: items, or a try's decision. */
  private needs: 'items' | Undecided | null = null;

  constructor(readonly limit: number) {}

  get buffered(): number {
    return this.bytes;
  }

  add(n: number): void {
    this.bytes += n;
  }

  release(n: number): void {
    this.bytes -= n;
    this.wake();
  }

  writerNeeds(x: 'items' | Undecided | null): void {
    this.needs = x;
    this.wake();
  }

  /** null when the parser may read on now, else a promise of when it may (most chunks: null). */
  room(): Promise<void> | null {
    return this.bytes > this.limit ? this.#wait() : null;
  }

  async #wait(): Promise<void> {
    while (this.bytes > this.limit) {
      const need = this.needs;
      if (need === 'items') return;
      if (need !== null && !need.attemptClosed && need.decided === null) {
        // The writer waits for this try and its attempt alone fills the buffer: it fails.
        need.failAttempt(
          new EsiError('attempt-too-large', `esi:attempt larger than maxBufferBytes (${this.limit} bytes)`),
        );
        if (need.decided !== null) continue; // its text was let go: look again
      }
      this.waiter ??= deferred<void>();
      await this.waiter.promise;
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.resolve();
  }
}
