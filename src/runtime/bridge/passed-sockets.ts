/**
 * WebSocket ends that another worker or a Durable Object answered a call with (a 101), on their
 * way through the calling worker to the client: the caller can only return them in its own 101
 * (src/runtime/instance.ts takes them back). One not used within a minute is refused (its owner
 * sees a close).
 *
 * The calling isolate holds a token for each: 128 random bits, redeemable once, and only by the
 * isolate the end was passed to (its tuple is tenant-controlled data: a guessed or stolen token
 * from another tenant's call must not reach that tenant's socket).
 */
import { randomBytes } from 'node:crypto';
import type { WorkerResponse, WorkerWebSocket } from '../types.ts';

const passing = new Map<string, { ws: WorkerWebSocket; holder: object }>();

/** Pass `ws` to the isolate `holder` (its IsolateOwner); the token it may return it by. */
export function passOn(ws: WorkerWebSocket, holder: object): string {
  const token = randomBytes(16).toString('hex');
  passing.set(token, { ws, holder });
  setTimeout(() => {
    if (passing.delete(token)) ws.refuse('the WebSocket was not returned to a client');
  }, 60_000).unref();
  return token;
}

/** The end a caller's 101 hands on, if `token` was passed to `holder` and not yet taken. */
export function takePassedSocket(token: unknown, holder: object): WorkerWebSocket | undefined {
  if (typeof token !== 'string') return undefined;
  const entry = passing.get(token);
  if (!entry || entry.holder !== holder) return undefined;
  passing.delete(token);
  return entry.ws;
}

/** A call's 101 response with a WebSocket, as the calling isolate gets it (`webSocket`: a passed id). */
export function passedUpgrade(res: WorkerResponse, url: string, holder: object): object | null {
  const ws = res.webSocket;
  if (!ws) return null;
  if (res.status !== 101) {
    ws.refuse('the response was not a 101');
    return null;
  }
  return {
    status: 101,
    statusText: '',
    headers: res.headers,
    url,
    redirected: false,
    body: null,
    webSocket: passOn(ws, holder),
  };
}
