import type { IncomingMessage } from 'node:http';
import type { ChunkSource } from '../runtime/index.ts';

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
