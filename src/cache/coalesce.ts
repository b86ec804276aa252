/**
 * Request coalescing: concurrent misses for one cache key make one origin request, and every
 * waiter streams the body as it arrives — not after it completes (the seed's first incident:
 * a stampede of identical misses took the origin down).
 *
 * The leader's body is read once into a shared, append-only list of chunks; each waiter has its
 * own cursor over it, so a waiter that joins late still gets the body from its first byte. A
 * failed origin request, or a body that fails midway, reaches every waiter as that error. The
 * flight ends when the body is complete or has failed: later requests start a new one (or, in
 * the cache layer, find the stored response).
 *
 * Deliberate limit: the shared chunks are held until the flight's last reader finishes; the
 * origin is read as fast as it sends, not at the slowest waiter's pace.
 */

export interface Produced<M> {
  meta: M;
  body: AsyncIterable<Uint8Array> | null;
}

export interface Joined<M> {
  meta: M;
  /** This waiter's view of the shared body (null when the response has none). */
  body: AsyncIterable<Uint8Array> | null;
  /** True for the caller whose request went to the origin. */
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

interface Flight<M> {
  meta: Promise<{ meta: M; shared: SharedBody | null }>;
}

export class Coalescer<M> {
  readonly #flights = new Map<string, Flight<M>>();
  /** Origin requests started (for tests and metrics). */
  started = 0;

  /** How many keys have a request in flight. */
  get inFlight(): number {
    return this.#flights.size;
  }

  async run(key: string, produce: () => Promise<Produced<M>>): Promise<Joined<M>> {
    const existing = this.#flights.get(key);
    if (existing) {
      const { meta, shared } = await existing.meta;
      return { meta, body: shared ? shared.reader() : null, leader: false };
    }
    this.started++;
    const flight: Flight<M> = {
      meta: (async () => {
        let produced: Produced<M>;
        try {
          produced = await produce();
        } catch (err) {
          this.#flights.delete(key);
          throw err;
        }
        if (!produced.body) {
          this.#flights.delete(key);
          return { meta: produced.meta, shared: null };
        }
        const shared = new SharedBody();
        const body = produced.body;
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
        return { meta: produced.meta, shared };
      })(),
    };
    this.#flights.set(key, flight);
    const { meta, shared } = await flight.meta;
    return { meta, body: shared ? shared.reader() : null, leader: true };
  }
}
