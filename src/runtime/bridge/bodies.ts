/**
 * Host-side body streams the isolate pulls by id: the incoming request body and subrequest
 * response bodies. Pull-based, so back-pressure is the isolate's reading pace. A body whose
 * id is never read again is cancelled when its owner (the worker instance) goes away.
 */
import { IdTable } from '../id-table.ts';

export interface ChunkSource {
  /** The next chunk, or null at the end. */
  next(): Promise<Uint8Array | null>;
  cancel(reason?: string): void;
}

export function fromAsyncIterable(
  iterable: AsyncIterable<Uint8Array | string>,
  onCancel?: (reason?: string) => void,
): ChunkSource {
  const it = iterable[Symbol.asyncIterator]();
  let done = false;
  return {
    async next() {
      if (done) return null;
      const r = await it.next();
      if (r.done) {
        done = true;
        return null;
      }
      return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    },
    cancel(reason) {
      if (done) return;
      done = true;
      onCancel?.(reason);
      it.return?.().catch(() => {});
    },
  };
}

export function fromBytes(bytes: Uint8Array): ChunkSource {
  let sent = false;
  return {
    async next() {
      if (sent) return null;
      sent = true;
      return bytes;
    },
    cancel() {
      sent = true;
    },
  };
}

/** Copy a chunk into a standalone ArrayBuffer for the isolate (the copy is what crosses). */
export function toArrayBuffer(chunk: Uint8Array): ArrayBuffer {
  if (
    chunk.byteOffset === 0 &&
    chunk.byteLength === chunk.buffer.byteLength &&
    chunk.buffer instanceof ArrayBuffer
  )
    return chunk.buffer;
  return chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
}

/**
 * Host bodies one isolate may hold open at once (a response body not yet read or cancelled;
 * each may hold a socket or a file descriptor). One isolate serves many requests at once (256
 * concurrent requests with a few subrequests each is a tested load), so the bound is per
 * isolate and generous; it keeps one tenant from exhausting the host's descriptors alone.
 * Bodies are not yet released when the request that made them ends (docs/security.md).
 */
export const MAX_OPEN_BODIES = 4096;

export class BodyRegistry {
  /** Not a Map: entries come and go per request body (../id-table.ts). */
  #bodies = new IdTable<ChunkSource>();
  #next = 1;

  add(source: ChunkSource): number {
    if (this.#bodies.size >= MAX_OPEN_BODIES) {
      source.cancel('too many open bodies');
      throw new Error(
        `Too many response bodies open at once (limit ${MAX_OPEN_BODIES}): read or cancel the ones you have`,
      );
    }
    const id = this.#next++;
    this.#bodies.set(id, source);
    return id;
  }

  /** Remove and return a body (the host pipes it directly instead of the isolate reading it). */
  take(id: number): ChunkSource | undefined {
    const s = this.#bodies.get(id);
    this.#bodies.delete(id);
    return s;
  }

  async read(id: number): Promise<ArrayBuffer | null> {
    const source = this.#bodies.get(id);
    if (!source) throw new Error('TypeError: This body has already been read or was cancelled.');
    const chunk = await source.next();
    if (chunk === null) {
      this.#bodies.delete(id);
      return null;
    }
    return toArrayBuffer(chunk);
  }

  cancel(id: number, reason?: string): void {
    this.#bodies.get(id)?.cancel(reason);
    this.#bodies.delete(id);
  }

  cancelAll(reason: string): void {
    // A copy: a cancel may come back here.
    for (const s of [...this.#bodies.values()]) s.cancel(reason);
    this.#bodies.clear();
  }

  get size(): number {
    return this.#bodies.size;
  }
}
