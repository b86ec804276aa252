/**
 * Back-pressure for WebSocket messages entering an isolate. Each message is a task on the
 * isolate's thread; a client that sends faster than the worker's handlers run would otherwise
 * queue without bound in host memory (isolated-vm's task queue). Each socket is paused (TCP
 * reads stop, so the sender's window fills) while more than a socket's share is in flight, or
 * while the isolate as a whole has too much in flight; it resumes once delivery catches up.
 */
import type WebSocket from 'ws';

/** In flight for one socket: past either, it is paused. */
export const SOCKET_HIGH_BYTES = 1024 * 1024;
export const SOCKET_HIGH_MESSAGES = 256;
/** In flight for all sockets into one isolate. */
export const ISOLATE_HIGH_BYTES = 16 * 1024 * 1024;

interface Flow {
  bytes: number;
  messages: number;
}

export class Inflow {
  #bytes = 0;
  readonly #flows = new Map<WebSocket, Flow>();
  readonly #paused = new Set<WebSocket>();

  /** Bytes in flight into the isolate (for tests and stats). */
  get bytes(): number {
    return this.#bytes;
  }

  /** A message of `size` bytes from `socket` is being delivered; `delivered` settles once it ran. */
  track(socket: WebSocket, size: number, delivered: Promise<unknown> | undefined): void {
    if (!delivered) return;
    let flow = this.#flows.get(socket);
    if (!flow) {
      flow = { bytes: 0, messages: 0 };
      this.#flows.set(socket, flow);
    }
    const f = flow;
    f.bytes += size;
    f.messages++;
    this.#bytes += size;
    if (this.#over(f) && !this.#paused.has(socket)) {
      this.#paused.add(socket);
      socket.pause();
    }
    const done = () => {
      f.bytes -= size;
      f.messages--;
      this.#bytes -= size;
      if (f.messages === 0) this.#flows.delete(socket);
      this.#resumeWhatFits();
    };
    delivered.then(done, done);
  }

  /** The socket closed: forget it. */
  forget(socket: WebSocket): void {
    this.#paused.delete(socket);
  }

  #over(f: Flow): boolean {
    return (
      f.bytes > SOCKET_HIGH_BYTES || f.messages > SOCKET_HIGH_MESSAGES || this.#bytes > ISOLATE_HIGH_BYTES
    );
  }

  #resumeWhatFits(): void {
    if (this.#paused.size === 0 || this.#bytes > ISOLATE_HIGH_BYTES / 2) return;
    for (const socket of this.#paused) {
      const f = this.#flows.get(socket);
      if (f && (f.bytes > SOCKET_HIGH_BYTES / 2 || f.messages > SOCKET_HIGH_MESSAGES / 2)) continue;
      this.#paused.delete(socket);
      socket.resume();
    }
  }
}
