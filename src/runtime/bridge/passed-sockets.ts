/**
 * WebSocket ends that another worker or a Durable Object answered a call with (a 101), on their
 * way through the calling worker to the client: the caller can only return them in its own 101
 * (src/runtime/instance.ts takes them back by id). One not used within a minute is refused (its
 * owner sees a close). Ids are the host's: the caller's isolate sees them only as numbers it
 * hands back.
 */
import type { WorkerResponse, WorkerWebSocket } from '../types.ts';

const passing = new Map<number, WorkerWebSocket>();
let nextPassing = 1;

export function passOn(ws: WorkerWebSocket): number {
  const id = nextPassing++;
  passing.set(id, ws);
  setTimeout(() => {
    if (passing.delete(id)) ws.refuse('the WebSocket was not returned to a client');
  }, 60_000).unref();
  return id;
}

/** The object's end a caller's 101 response hands on (see src/runtime/instance.ts). */
export function takePassedSocket(id: number): WorkerWebSocket | undefined {
  const ws = passing.get(id);
  passing.delete(id);
  return ws;
}

/** A call's 101 response with a WebSocket, as the calling isolate gets it (`webSocket`: a passed id). */
export function passedUpgrade(res: WorkerResponse, url: string): object | null {
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
    webSocket: passOn(ws),
  };
}
