/**
 * Automatic moves (off by default; `outpost node --do-auto-move N`): an object stays where its
 * first call placed it, which is wrong once its callers are elsewhere (a room whose users are now
 * in another region, an object created by a migration script). The owner counts where each
 * object's calls come from, by the caller's PoP; when, within one window, N calls arrived and at
 * least `share` of them came from one other PoP, the object is moved to a node of that PoP (the
 * move of `outpost do move`: calls are held meanwhile, no acknowledged write is lost).
 *
 * Counting is per window (it starts with an object's first call and is cleared when it ends, or
 * when a move is decided), so a burst long ago does not move an object today, and an object
 * called from two places about equally never moves (no ping-pong). Memory: one small record per
 * object live on this node, forgotten when the object leaves it.
 */

export interface AutoMoveOptions {
  /** Calls within one window before a move is considered. */
  calls: number;
  /** The least share of those calls from one other PoP that moves the object there (0.5–1]. */
  share: number;
  /** The window, ms. */
  windowMs: number;
}

export const AUTO_MOVE_DEFAULTS: Omit<AutoMoveOptions, 'calls'> = { share: 0.8, windowMs: 60_000 };

interface Tally {
  start: number;
  total: number;
  byPop: Map<string, number>;
}

export class CallOrigins {
  readonly #objects = new Map<string, Tally>();

  constructor(
    readonly options: AutoMoveOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(options.calls) || options.calls < 1)
      throw new RangeError(`automatic moves: calls must be a positive integer, received ${options.calls}`);
    if (!(options.share > 0.5 && options.share <= 1))
      throw new RangeError(
        `automatic moves: share must be above 0.5 and at most 1, received ${options.share}`,
      );
    if (!(options.windowMs > 0)) throw new RangeError(`automatic moves: windowMs must be positive`);
  }

  /**
   * Count a call to object `key` from PoP `from`, the object being at `here`. Returns the PoP it
   * should move to, once (the count starts over), or null.
   */
  record(key: string, from: string, here: string): string | null {
    const now = this.now();
    let t = this.#objects.get(key);
    if (!t || now - t.start > this.options.windowMs) {
      t = { start: now, total: 0, byPop: new Map() };
      this.#objects.set(key, t);
    }
    t.total++;
    if (from !== here) t.byPop.set(from, (t.byPop.get(from) ?? 0) + 1);
    if (t.total < this.options.calls) return null;
    let best: string | null = null;
    let most = 0;
    for (const [pop, n] of t.byPop)
      if (n > most) {
        most = n;
        best = pop;
      }
    this.#objects.delete(key);
    return best !== null && most >= this.options.share * t.total ? best : null;
  }

  /** The object left this node. */
  forget(key: string): void {
    this.#objects.delete(key);
  }

  get size(): number {
    return this.#objects.size;
  }
}
