// Abort plumbing: racing a promise against an AbortSignal, reading a body so that an abort stops
// the read and releases the source, and linking one controller to another.

const noop = () => {};

/** `p`, or a rejection with the signal's reason as soon as it aborts. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(noop);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Aborts `target` when `source` aborts; returns the unlink. */
export function link(source: AbortSignal | undefined, target: AbortController): () => void {
  if (!source) return noop;
  const onAbort = () => target.abort(source.reason);
  if (source.aborted) {
    onAbort();
    return noop;
  }
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
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

/**
 * Reads `body` until it ends, `signal` aborts (the read rejects with its reason) or the reader
 * stops; in the last two cases the source is released. `onChunk` sees every chunk first and may
 * throw to stop the read (a byte limit).
 */
export async function* guarded(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
  onChunk?: (chunk: Uint8Array) => void,
  onEnd?: () => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const r = await raceAbort(it.next(), signal);
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
