/**
 * Where counters live. `CounterStore` is the seam for a later distributed backend: the
 * limiter asks it to run one step on one counter atomically, so a store that keeps each counter
 * in its single owner (a Durable Object per counter, across processes) can answer the same
 * calls. Today's store is in process: in `outpost dev` every PoP runs in one process, so it is
 * the single owner of every counter and counts exactly.
 *
 * MemoryCounterStore bounds its memory two ways:
 * - idle counters (their window is over: they hold nothing a later hit would read) are dropped
 *   as updates pass them, a few at a time, in least-recently-used order;
 * - past `maxKeys` counters or `maxBytes` of state, counters are evicted least recently used
 *   first from the namespace holding the most (keys or bytes): a namespace flooding new keys
 *   evicts its own before anyone else's. Evicting a counter still in its window forgets its
 *   hits (fails open for that key), which is why the budget should be far above the expected
 *   number of live keys.
 */
import type { CounterState } from './algorithms.ts';

export interface CounterStore {
  /**
   * Run `step` on the counter `id` of `namespace` (undefined: none yet) and keep the state it
   * returns. Atomic: nothing reads or writes that counter in between. Synchronous, as the
   * in-process store is; a distributed store would make this (and RateLimiter.hit) async.
   */
  update<R>(
    namespace: string,
    id: string,
    now: number,
    step: (state: CounterState | undefined) => [CounterState, R],
  ): R;
}

/**
 * Counters shared by several processes (./nats-store.ts): the same step, run atomically on the
 * counter wherever it is kept, asynchronously. `step` may run more than once (a store that
 * retries after losing a race for the counter); only the state of the run that was kept counts.
 */
export interface SharedCounterStore {
  update<R>(
    namespace: string,
    id: string,
    now: number,
    step: (state: CounterState | undefined) => [CounterState, R],
    /** Whether a result counted something (a batch where none did need not be written). */
    counted?: (result: R) => boolean,
  ): Promise<R>;
  close(): Promise<void>;
}

export interface MemoryCounterStoreOptions {
  /** Counters kept at most (default 100,000). */
  maxKeys?: number;
  /** Approximate bytes of state kept at most (default 64 MiB). */
  maxBytes?: number;
}

interface Space {
  name: string;
  /** Least recently used first. */
  counters: Map<string, CounterState>;
  bytes: number;
}

/** What a counter's entry costs beside its state: the map entry and its id. */
const entryBytes = (id: string) => 64 + 2 * id.length;
/** Idle counters looked at per update, from the front of a namespace. */
const SWEEP = 4;

export class MemoryCounterStore implements CounterStore {
  readonly maxKeys: number;
  readonly maxBytes: number;
  readonly #spaces = new Map<string, Space>();
  #keys = 0;
  #bytes = 0;
  /** The namespace swept besides the updated one, in turn. */
  #cursor: Iterator<Space> | null = null;

  constructor(options: MemoryCounterStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 100_000;
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be a positive integer, received ${maxKeys}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 1024)
      throw new RangeError(`maxBytes must be an integer of at least 1024, received ${maxBytes}`);
    this.maxKeys = maxKeys;
    this.maxBytes = maxBytes;
  }

  /** Counters held. */
  get size(): number {
    return this.#keys;
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The counters of one namespace (for tests and inspection). */
  countersOf(namespace: string): number {
    return this.#spaces.get(namespace)?.counters.size ?? 0;
  }

  update<R>(
    namespace: string,
    id: string,
    now: number,
    step: (state: CounterState | undefined) => [CounterState, R],
  ): R {
    let space = this.#spaces.get(namespace);
    if (!space) {
      space = { name: namespace, counters: new Map(), bytes: 0 };
      this.#spaces.set(namespace, space);
    }
    const prev = space.counters.get(id);
    if (prev) this.#remove(space, id, prev, false);
    const [state, result] = step(prev);
    space.counters.set(id, state);
    const cost = state.bytes + entryBytes(id);
    space.bytes += cost;
    this.#bytes += cost;
    this.#keys++;
    this.#sweep(space, now);
    const next = this.#nextSpace();
    if (next && next !== space) this.#sweep(next, now);
    while (this.#keys > this.maxKeys || this.#bytes > this.maxBytes)
      if (!this.#evict(this.#keys > this.maxKeys ? 'keys' : 'bytes', space, id)) break;
    return result;
  }

  #remove(space: Space, id: string, state: CounterState, dropEmpty = true): void {
    space.counters.delete(id);
    const cost = state.bytes + entryBytes(id);
    space.bytes -= cost;
    this.#bytes -= cost;
    this.#keys--;
    if (dropEmpty && space.counters.size === 0) this.#spaces.delete(space.name);
  }

  /** Drop idle counters from the front (least recently used) of a namespace. */
  #sweep(space: Space, now: number): void {
    for (let i = 0; i < SWEEP; i++) {
      const first = space.counters.entries().next();
      if (first.done || first.value[1].idleAt > now) break;
      this.#remove(space, first.value[0], first.value[1]);
    }
  }

  #nextSpace(): Space | null {
    if (this.#spaces.size < 2) return null;
    this.#cursor ??= this.#spaces.values();
    let r = this.#cursor.next();
    if (r.done) {
      this.#cursor = this.#spaces.values();
      r = this.#cursor.next();
    }
    return r.done ? null : r.value;
  }

  /**
   * Evict the least recently used counter of the namespace with the most keys (or bytes),
   * never `keep` of `kept` (the counter just written); false when nothing else is left.
   */
  #evict(by: 'keys' | 'bytes', kept: Space, keep: string): boolean {
    let worst: Space | null = null;
    let most = 0;
    for (const s of this.#spaces.values()) {
      const size = by === 'keys' ? s.counters.size : s.bytes;
      if (size > most && (s !== kept || s.counters.size > 1)) {
        worst = s;
        most = size;
      }
    }
    if (!worst) return false;
    for (const [id, state] of worst.counters) {
      if (worst === kept && id === keep) continue;
      this.#remove(worst, id, state);
      return true;
    }
    return false;
  }
}
