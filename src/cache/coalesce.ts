/**
 * Request coalescing: concurrent misses for one cache key make one origin request, and every
 * waiter streams the body as it arrives — not after it completes (the seed's first incident:
 * a stampede of identical misses took the origin down).
 *
 * Sharing is opt-in per response: whoever produced it says, with `shareWith`, which waiters it
 * may be handed to (in the HTTP cache: a response a shared cache may store, whose Vary and
 * Authorization rules match the waiter's own request, RFC 9111 §3, §3.5, §4.1). A waiter it
 * may not be handed to makes its own request, coalesced with no one; a response without
 * `shareWith` is shared with nobody, its flight ends as soon as its head is known, and its body
 * goes straight to the caller that asked for it, without being buffered. One waiter never reads
 * a body fetched for another unless the producer allowed it.
 *
 * A shared body is read once into an append-only list of chunks; each waiter has its own cursor
 * over it, so a waiter that joins late still gets the body from its first byte. A failed origin
 * request (no response at all) reaches every waiter as that error; a body that fails midway
 * fails every reader. The flight ends when the body is complete or has failed: later requests
 * start a new one (or, in the cache layer, find the stored response).
 *
 * Deliberate limit: the shared chunks are held until the flight's last reader finishes; the
 * origin is read as fast as it sends, not at the slowest waiter's pace.
 */

export interface Produced<M, W = unknown> {
  meta: M;
  body: AsyncIterable<Uint8Array> | null;
  /**
   * May this response be handed to a waiter, described by what the waiter passed to run()?
   * Absent: to no one (each waiter makes its own request).
   */
  shareWith?: (waiter: W) => boolean;
}

export interface Joined<M> {
  meta: M;
  /** This caller's view of the body (null when the response has none). */
  body: AsyncIterable<Uint8Array> | null;
  /** True when this caller's own request went to the origin (the flight's leader, or a waiter that could not share). */
  leader: boolean;
}

class SharedBody {
  readonly chunks: Uint8Array[] = [];
  done = false;
  error: unknown = null;
  #wake: (() => void)[] = [];

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.#notify();
  }
  end(error: unknown = null): void {
    this.done = true;
    this.error = error;
    this.#notify();
  }
  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }
  changed(): Promise<void> {
    return new Promise((r) => this.#wake.push(r));
  }

  async *reader(): AsyncGenerator<Uint8Array> {
    let i = 0;
    for (;;) {
      while (i < this.chunks.length) yield this.chunks[i++];
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await this.changed();
    }
  }
}

/** What waiters learn when a flight's response head is known. */
interface Outcome<M, W> {
  meta: M;
  /** The body as waiters read it (null: no body, or not shareable). */
  shared: SharedBody | null;
  shareWith?: (waiter: W) => boolean;
}

export class Coalescer<M, W = unknown> {
  readonly #flights = new Map<string, Promise<Outcome<M, W>>>();
  /** Origin requests started (for tests and metrics). */
  started = 0;

  /** How many keys have a request in flight. */
  get inFlight(): number {
    return this.#flights.size;
  }

  /**
   * Join the flight for `key`, or start one with `produce`. `waiter` describes this caller to
   * the producer's `shareWith`; `produce` is this caller's own request, run when it leads or
   * when the flight's response may not be handed to it.
   */
  async run(key: string, waiter: W, produce: () => Promise<Produced<M, W>>): Promise<Joined<M>> {
    const existing = this.#flights.get(key);
    if (existing) {
      const { meta, shared, shareWith } = await existing;
      if (shareWith?.(waiter)) return { meta, body: shared ? shared.reader() : null, leader: false };
      return this.#alone(produce);
    }
    this.started++;
    // The leader's own view of the body; waiters only ever see `shared`.
    let own: AsyncIterable<Uint8Array> | null = null;
    const outcome = (async (): Promise<Outcome<M, W>> => {
      let produced: Produced<M, W>;
      try {
        produced = await produce();
      } catch (err) {
        this.#flights.delete(key);
        throw err;
      }
      const { meta, body, shareWith } = produced;
      if (!body || !shareWith) {
        // Nothing to buffer: no body, or nobody else may read it.
        this.#flights.delete(key);
        own = body;
        return { meta, shared: null, shareWith };
      }
      const shared = new SharedBody();
      own = shared.reader();
      (async () => {
        try {
          for await (const chunk of body) shared.push(chunk);
          shared.end();
        } catch (err) {
          shared.end(err);
        } finally {
          this.#flights.delete(key);
        }
      })();
      return { meta, shared, shareWith };
    })();
    this.#flights.set(key, outcome);
    const { meta } = await outcome;
    return { meta, body: own, leader: true };
  }

  /** A request of its own, joined by no one. */
  async #alone(produce: () => Promise<Produced<M, W>>): Promise<Joined<M>> {
    this.started++;
    const { meta, body } = await produce();
    return { meta, body, leader: true };
  }
}
