/**
 * How many isolates the warm pool keeps ready, from how fast new tenants have been arriving.
 *
 * A cold start from the pool skips making an isolate (6–8 ms of CPU, docs/runtime.md "Cold
 * starts and the warm pool"); one that finds the pool empty makes its isolate on the spot, on
 * top of its own load. A burst of new tenants empties a pool of the base size at once, and the
 * pool refills only when cold starts pause, so a burst is mostly served from scratch. The pool
 * therefore remembers the most cold starts it has seen within one second (the peak) and keeps
 * that many ready, up to `max`, so that the next burst like it is served from the pool. The
 * memory this holds (~2 MB per ready isolate, measured) is given back as the peak ages: it is
 * halved for each `holdMs` that passes without a burst as large, down to the base size.
 *
 * Times are the caller's (performance.now()), so the arithmetic can be tested without waiting.
 */

/** Cold starts are counted over this much time, ms. */
export const ARRIVAL_WINDOW_MS = 1000;
/** How long a peak holds before it is halved, ms. */
export const DEFAULT_HOLD_MS = 60_000;
/** Most isolates kept ready after bursts, unless the runtime says otherwise (~2 MB each). */
export const DEFAULT_POOL_MAX = 64;

export class PoolDemand {
  /** Times of the latest cold starts within the window, oldest first; at most `max` kept. */
  #arrivals: number[] = [];
  #peak = 0;
  #peakAt = 0;
  readonly max: number;

  constructor(
    /** Isolates kept ready whatever the demand. */
    readonly base: number,
    max: number,
    readonly holdMs = DEFAULT_HOLD_MS,
  ) {
    if (!(holdMs > 0)) throw new RangeError(`holdMs must be more than 0, received ${holdMs}`);
    this.max = Math.max(base, max);
  }

  /** A cold start took an isolate at `now`. */
  arrived(now: number): void {
    const a = this.#arrivals;
    while (a.length > 0 && (now - a[0] >= ARRIVAL_WINDOW_MS || a.length >= this.max)) a.shift();
    a.push(now);
    // A count as large as the peak (aged) renews it: a steady rate keeps its pool.
    if (a.length >= this.#aged(now)) {
      this.#peak = a.length;
      this.#peakAt = now;
    }
  }

  /** Isolates to keep ready at `now`. */
  target(now: number): number {
    return Math.max(this.base, Math.min(this.max, this.#aged(now)));
  }

  /** The peak, halved once per `holdMs` since it was reached. */
  #aged(now: number): number {
    const halvings = Math.floor((now - this.#peakAt) / this.holdMs);
    return halvings >= 31 ? 0 : this.#peak >>> Math.max(0, halvings);
  }
}
