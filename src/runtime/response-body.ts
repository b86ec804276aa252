/**
 * The body of a worker's response, as the PoP serves it: bytes the isolate returned whole, a
 * host body passed through (a subrequest's response returned as is), or a stream the host pulls
 * chunk by chunk from the isolate. The invocation stays accounted (CPU limit, busy) until its
 * body ends or is cancelled; a breach meanwhile fails the next pull with the limit's error.
 */
import type { BodyRegistry, ChunkSource } from './bridge/bodies.ts';
import type { DispatchResult } from './dispatch-result.ts';
import type { LimitExceededError } from './errors.ts';

/** What a response body needs of its isolate and invocation (src/runtime/instance.ts). */
export interface BodyHost {
  readonly bodies: BodyRegistry;
  /** The next chunk of the isolate's stream `id` (null at its end). */
  pull(id: number): Promise<ArrayBuffer | null>;
  /** Cancel the isolate's stream `id`. */
  cancelStream(id: number, reason: string): void;
  /** The invocation's response is over (its body ended or was cancelled). */
  finish(): void;
  /** The invocation's breach, if it had one. */
  breach(): LimitExceededError | null;
  /** The error a failed pull is reported as. */
  explain(err: unknown): Error;
}

/**
 * A body the isolate gave whole (text, bytes or none) as bytes or null; undefined when it is
 * a host body or a stream (responseBody). A whole body needs nothing more of its invocation.
 */
const encoder = new TextEncoder();

/** Text up to this long is copied by a loop while it is ASCII (see utf8). */
const SHORT_TEXT = 64;

/**
 * `text` as UTF-8 in an array of its own. Lone surrogates become U+FFFD, as the isolate's
 * encoder makes them. Not Buffer.from: a small Buffer is a view of a shared pool, and a consumer
 * taking its `.buffer` (or a Buffer's `slice()`, which does not copy) would hand other requests'
 * bytes to an isolate. Short ASCII text (`hello`, a small JSON answer) is copied by a loop:
 * ~35 ns against ~260 ns for TextEncoder's call into C++; past ~100 characters the call wins.
 */
export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n > SHORT_TEXT) return encoder.encode(text);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(text);
    out[i] = c;
  }
  return out;
}

export function wholeBody(result: DispatchResult): Uint8Array | null | undefined {
  if (result.kind === 'text' && typeof result.body === 'string') return utf8(result.body);
  if (result.kind === 'bytes' && result.body instanceof ArrayBuffer) return new Uint8Array(result.body);
  if (result.kind === 'host' || result.kind === 'stream') return undefined;
  return null;
}

export function responseBody(result: DispatchResult, h: BodyHost): Uint8Array | ChunkSource | null {
  const whole = wholeBody(result);
  if (whole !== undefined) {
    h.finish();
    return whole;
  }
  if (result.kind === 'host' && typeof result.body === 'number') {
    const source = h.bodies.take(result.body);
    if (!source) {
      h.finish();
      return null;
    }
    return tracked(source, h);
  }
  if (result.kind === 'stream' && typeof result.body === 'number') {
    const id = result.body;
    const source: ChunkSource = {
      next: async () => {
        const chunk = await h.pull(id).catch((err) => {
          throw h.explain(err);
        });
        return chunk === null ? null : new Uint8Array(chunk);
      },
      cancel: (reason) => h.cancelStream(id, reason ?? 'client disconnected'),
    };
    return tracked(source, h);
  }
  h.finish();
  return null;
}

/** A response that will not be served (a limit was hit meanwhile): its body is let go. */
export function discardBody(result: DispatchResult, h: Pick<BodyHost, 'bodies' | 'cancelStream'>): void {
  if (result.kind === 'host' && typeof result.body === 'number') h.bodies.cancel(result.body);
  if (result.kind === 'stream' && typeof result.body === 'number')
    h.cancelStream(result.body, 'limit exceeded');
}

/** Keep the invocation accounted (CPU limit, busy) until its streamed body ends. */
function tracked(source: ChunkSource, h: BodyHost): ChunkSource {
  return {
    next: async () => {
      const breach = h.breach();
      if (breach) throw breach;
      try {
        const chunk = await source.next();
        if (chunk === null) h.finish();
        return chunk;
      } catch (err) {
        h.finish();
        throw h.breach() ?? err;
      }
    },
    cancel: (reason) => {
      source.cancel(reason);
      h.finish();
    },
  };
}
