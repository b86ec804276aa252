import type { IncomingMessage } from 'node:http';
import type { ChunkSource } from '../runtime/index.ts';

/** Largest request body that crosses into the isolate with its request when already received. */
export const WHOLE_BODY_MAX = 64 * 1024;

/**
 * A request body of `declared` bytes (Content-Length, at most `max`) that has already arrived
 * whole, read as bytes; null when it has not (or has no length): it is then pulled as a
 * stream. Bytes cross into the isolate with the request itself, where a stream costs the
 * isolate two host calls, each a round trip between threads (a small JSON POST: ~70 µs of CPU).
 */
export async function receivedWhole(
  req: IncomingMessage,
  declared: number,
  max: number,
): Promise<Uint8Array | null> {
  if (declared <= 0 || declared > max || req.headers['transfer-encoding'] !== undefined) return null;
  // Bytes that came in the packet of the headers are pushed after the request event, in the
  // same parse: one microtask later they are there (a body still on its way is not waited for).
  if (req.readableLength < declared) await null;
  if (req.readableLength < declared) return null;
  const chunk = req.read(declared) as Buffer | null;
  if (chunk === null) return null;
  if (chunk.byteLength !== declared) {
    req.unshift(chunk);
    return null;
  }
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The incoming request body as a pull source for the isolate. Reading is paced by the worker
 * (the socket is paused in between: back-pressure to the client). Cancelling — the worker did
 * not read it all — drains the rest so the connection stays usable; passing `max` bytes is
 * the one case that closes it.
 */
export function incomingBody(req: IncomingMessage, max: number, onTooLarge: () => void): ChunkSource {
  let seen = 0;
  let failed: Error | null = null;
  let cancelled = false;
  req.on('error', (err) => {
    failed = err;
  });
  return {
    next() {
      return new Promise<Uint8Array | null>((resolve, reject) => {
        const cleanup = () => {
          req.off('readable', attempt);
          req.off('end', attempt);
          req.off('error', attempt);
          req.off('close', attempt);
        };
        function attempt() {
          if (cancelled) {
            cleanup();
            return resolve(null);
          }
          const chunk = req.read() as Buffer | null;
          if (chunk !== null) {
            seen += chunk.byteLength;
            cleanup();
            if (seen > max) {
              // Stop reading (the socket stays paused) and let the front answer 413 with
              // `connection: close`; destroying here would reset the client before it hears why.
              onTooLarge();
              cancelled = true;
              return reject(new Error(`TypeError: request body larger than ${max} bytes`));
            }
            return resolve(chunk);
          }
          if (failed) {
            cleanup();
            return reject(new Error(`TypeError: request body failed: ${(failed as Error).message}`));
          }
          if (req.readableEnded || req.destroyed) {
            cleanup();
            return resolve(null);
          }
        }
        req.on('readable', attempt);
        req.on('end', attempt);
        req.on('error', attempt);
        req.on('close', attempt);
        attempt();
      });
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      req.resume(); // discard what the worker did not read
    },
  };
}

/**
 * A body source whose first `n` bytes can be read before the worker reads it (the WAF inspects
 * a prefix): what was read is buffered and handed to the worker first, then the rest flows as
 * before. `replace` swaps the whole body (a sanitized one).
 */
export class PeekableBody implements ChunkSource {
  #buffered: Uint8Array[] = [];
  #replaced: Uint8Array | null = null;
  #ended = false;
  constructor(readonly source: ChunkSource) {}

  /** Up to `n` bytes of the body, and whether there is more beyond them. */
  async prefix(n: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
    let have = this.#buffered.reduce((sum, c) => sum + c.byteLength, 0);
    while (have <= n && !this.#ended) {
      const chunk = await this.source.next();
      if (chunk === null) this.#ended = true;
      else {
        this.#buffered.push(chunk);
        have += chunk.byteLength;
      }
    }
    const all = Buffer.concat(this.#buffered);
    return { bytes: all.subarray(0, n), truncated: all.byteLength > n };
  }

  /** The body becomes `bytes` (the rest of the original is discarded). */
  replace(bytes: Uint8Array): void {
    this.#replaced = bytes;
    this.#buffered = [];
    this.source.cancel();
  }

  async next(): Promise<Uint8Array | null> {
    if (this.#replaced) {
      const r = this.#replaced;
      this.#replaced = new Uint8Array(0);
      return r.byteLength ? r : null;
    }
    const first = this.#buffered.shift();
    if (first) return first;
    if (this.#ended) return null;
    return this.source.next();
  }

  cancel(): void {
    this.#buffered = [];
    this.source.cancel();
  }
}
