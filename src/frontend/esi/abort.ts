// Cancellation inside the processor: Cancel tokens, racing a promise against one, reading a body
// so that a cancel stops the read and releases the source.
//
// The processor does not use AbortControllers for its own work: Node 20's are costly to make, and
// their EventTarget listeners costly to add and remove — together more than half of ESI's cost
// per include. A Cancel is a plain object: `aborted`, `reason`, and what to run on abort (child
// tokens, pending races). A child aborts with its parent until it is detached (a finished fetch
// detaches, so a page of many includes does not pile up hooks). The fetcher is still given a real
// AbortSignal, made only when it reads `signal` (Cancel.signal): most fetchers answer from a cache
// and never do.

const noop = () => {};

type Hook = Cancel | ((reason: unknown) => void);

export class Cancel {
  aborted = false;
  reason: unknown = undefined;
  /** Run on abort: child tokens (aborted in turn) and callbacks (race rejecters). */
  #hooks: Set<Hook> | null = null;
  #parent: Cancel | null;
  #ac: AbortController | null = null;

  /** A token that aborts when `parent` does (with its reason), until detached. */
  constructor(parent?: Cancel) {
    this.#parent = parent ?? null;
    if (!parent) return;
    if (parent.aborted) this.abort(parent.reason);
    else parent.#add(this);
  }

  /** An AbortSignal that follows this token, made on first use (it costs more than the token). */
  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.aborted) this.#ac.abort(this.reason);
    }
    return this.#ac.signal;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.detach();
    this.#ac?.abort(this.reason);
    const hooks = this.#hooks;
    this.#hooks = null;
    if (!hooks) return;
    for (const h of hooks) {
      if (typeof h === 'function') h(this.reason);
      else h.abort(this.reason);
    }
  }

  /** Stops following the parent (the work this token guards is over). */
  detach(): void {
    const parent = this.#parent;
    if (!parent) return;
    parent.#hooks?.delete(this);
    this.#parent = null;
  }

  /** `p`, or a rejection with the reason as soon as this token aborts. */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.aborted) {
      p.catch(noop);
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#add(reject);
      p.then(
        (v) => {
          this.#hooks?.delete(reject);
          resolve(v);
        },
        (e) => {
          this.#hooks?.delete(reject);
          reject(e);
        },
      );
    });
  }

  #add(h: Hook): void {
    (this.#hooks ??= new Set()).add(h);
  }
}

/** Tells a body's source it will not be read further (its iterator's return()). */
export function release(iterator: AsyncIterator<unknown> | null | undefined): void {
  if (!iterator?.return) return;
  try {
    Promise.resolve(iterator.return()).catch(noop);
  } catch {
    // a source that throws on return has nothing more to release
  }
}

/** Reads `body` whole, as `guarded` would (the same rules), without a generator's cost. */
export async function readAll(
  body: AsyncIterable<Uint8Array>,
  cancel: Cancel,
  onChunk: (chunk: Uint8Array) => void,
): Promise<Uint8Array[]> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let finished = false;
  try {
    for (;;) {
      const r = await cancel.race(it.next());
      if (r.done) {
        finished = true;
        return chunks;
      }
      onChunk(r.value);
      chunks.push(r.value);
    }
  } finally {
    if (!finished) release(it);
  }
}

/**
 * Reads `body` until it ends, `cancel` aborts (the read rejects with its reason) or the reader
 * stops; in the last two cases the source is released. `onChunk` sees every chunk first and may
 * throw to stop the read (a byte limit).
 */
export async function* guarded(
  body: AsyncIterable<Uint8Array>,
  cancel: Cancel,
  onChunk?: (chunk: Uint8Array) => void,
  onEnd?: () => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const r = await cancel.race(it.next());
      if (r.done) {
        finished = true;
        onEnd?.();
        return;
      }
      onChunk?.(r.value);
      yield r.value;
    }
  } finally {
    if (!finished) release(it);
  }
}
