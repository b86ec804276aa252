/**
 * What the PoP uses to bridge an upgraded connection to a worker's WebSocket end, answered in a
 * 101. The request that answered with it stays live while the socket is open: its message
 * handlers run for it (as in Workers, where the request's I/O context lives on with its
 * WebSocket). An end accepted for hibernation (a Durable Object's) is held outside the isolate
 * instead (src/durable-objects/hibernation.ts).
 */
import type { HibernationSet } from '../durable-objects/index.ts';
import { takePassedSocket } from './bridge/passed-sockets.ts';
import type { SocketTable } from './bridge/websockets.ts';
import type { WorkerWebSocket } from './types.ts';

/** How long a worker's WebSocket end waits for the PoP to attach the client after its 101. */
const SOCKET_TAKE_UP_MS = 30_000;

/** What an end needs of its isolate and invocation (src/runtime/instance.ts). */
export interface SocketEndHost {
  /** The invocation stays live until the socket closes (its hold is released by a close event). */
  hold(id: number): void;
  /** Release the invocation's hold for socket `id`. */
  release(id: number): void;
  /** Hand the isolate an event of socket `id`. */
  event(id: number, type: string, a?: unknown, b?: unknown): void;
  readonly hibernation: HibernationSet | null;
  /** The isolate's live sockets, or null when it is gone. */
  sockets(): SocketTable | null;
}

const gone = (why: string): WorkerWebSocket => ({
  attach: (socket) => socket.close(1011, why),
  refuse: () => {},
});

/** Another worker's or a Durable Object's end, passed to this isolate: the client talks to it. */
export function passedEnd(token: string, holder: object): WorkerWebSocket {
  return takePassedSocket(token, holder) ?? gone('the WebSocket is gone');
}

/** The isolate's own end `id`. */
export function webSocketEnd(id: number, h: SocketEndHost): WorkerWebSocket {
  if (!Number.isInteger(id) || id <= 0) return gone('no such WebSocket');
  h.hold(id);
  // The PoP attaches the client or refuses soon after the 101; a handshake that dies on the
  // way (a client gone, a malformed upgrade) must not keep the request live for ever.
  const deadline = setTimeout(
    () => h.event(id, 'close', 1006, 'the WebSocket was not taken up'),
    SOCKET_TAKE_UP_MS,
  );
  deadline.unref();
  return {
    attach: (socket) => {
      clearTimeout(deadline);
      if (h.hibernation?.reserved(id)) {
        // Accepted for hibernation: the socket is held outside the isolate, and each of its
        // events is an invocation of its own (an object event).
        h.release(id);
        h.hibernation.attach(id, socket);
        h.event(id, 'open');
        return;
      }
      const table = h.sockets();
      if (!table) {
        h.release(id);
        socket.close(1011, 'worker is gone');
        return;
      }
      table.attach(id, socket);
      h.event(id, 'open');
    },
    refuse: (reason) => {
      clearTimeout(deadline);
      h.event(id, 'close', 1006, reason);
    },
  };
}
