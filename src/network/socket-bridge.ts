/**
 * The calling node's end of a WebSocket to a Durable Object on another node (object-peer.ts):
 * the client's socket here, the peer socket to the owner there, messages copied one by one, in
 * order, with back-pressure both ways.
 *
 * Back-pressure: a side that sends faster than the other side's connection takes would otherwise
 * be buffered here without bound (a client uploading to a slow object, an object broadcasting to
 * a slow client). Each direction counts the bytes handed to the destination and not yet written
 * to its connection (ws calls a send's callback once its frame is written to the socket); past
 * HIGH_WATER the source socket stops being read (`pause()`: TCP slows the sender, as it would
 * against the object's own node), and it is read again once the count is back under LOW_WATER.
 * Messages the object sends before the client is attached wait, under the same bound.
 *
 * A close crosses with its code; a peer that went away abnormally (1006) ends the client's socket
 * abnormally too.
 */
import { type RawData, WebSocket } from 'ws';
import type { WorkerWebSocket } from '../runtime/index.ts';

/** Bytes one direction lets wait for the destination's connection before it stops reading. */
export const HIGH_WATER = 1024 * 1024;
/** ...and the count under which it reads again. */
export const LOW_WATER = 256 * 1024;

const sizeOf = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;

/** One direction: messages from `from` sent on to a destination, `from` paused while it lags. */
export class Flow {
  /** Bytes sent on (or held for the destination) and not yet written to its connection. */
  waiting = 0;
  /** The most `waiting` has been (tests and diagnostics). */
  peak = 0;

  constructor(private readonly from: WebSocket) {}

  /** `n` more bytes wait for the destination: past HIGH_WATER, `from` is no longer read. */
  add(n: number): void {
    this.waiting += n;
    if (this.waiting > this.peak) this.peak = this.waiting;
    if (this.waiting > HIGH_WATER && !this.from.isPaused) this.from.pause();
  }

  /** Send a message whose bytes add() counted. */
  write(to: WebSocket, data: RawData, binary: boolean, n: number): void {
    // The callback runs once the frame is written to the connection, or with an error when the
    // destination closed (the bytes are gone then, too).
    to.send(data, { binary }, () => {
      this.waiting -= n;
      if (this.waiting < LOW_WATER && this.from.isPaused) this.from.resume();
    });
  }

  send(to: WebSocket, data: RawData, binary: boolean): void {
    const n = sizeOf(data);
    this.add(n);
    this.write(to, data, binary, n);
  }
}

export function bridge(peer: WebSocket): WorkerWebSocket & { flows(): { up: Flow | null; down: Flow } } {
  let client: WebSocket | null = null;
  let up: Flow | null = null;
  const down = new Flow(peer);
  const early: [RawData, boolean, number][] = [];
  let ended: [number, Buffer] | null = null;
  const closeClient = (c: WebSocket, code: number, reason: Buffer) => {
    if (code === 1006) c.terminate();
    else if (code === 1005) c.close();
    else c.close(code, reason);
  };
  peer.on('message', (data, binary) => {
    if (client) return down.send(client, data, binary);
    const n = sizeOf(data);
    down.add(n);
    early.push([data, binary, n]);
  });
  peer.on('close', (code, reason) => {
    // A paused socket would not read the other side's close frame.
    client?.resume();
    if (client) closeClient(client, code, reason);
    else ended = [code, reason];
  });
  peer.on('error', () => {});
  return {
    attach(c) {
      client = c;
      const flow = new Flow(c);
      up = flow;
      for (const [data, binary, n] of early.splice(0)) down.write(c, data, binary, n);
      if (ended) return closeClient(c, ended[0], ended[1]);
      c.on('message', (data, binary) => {
        if (peer.readyState === WebSocket.OPEN) flow.send(peer, data, binary);
      });
      c.on('close', (code, reason) => {
        peer.resume();
        if (code === 1005 || code === 1006) peer.close();
        else peer.close(code, reason);
      });
      c.on('error', () => peer.terminate());
    },
    refuse(reason) {
      // Paused by what the object sent early, it would not read the close's answer.
      peer.resume();
      peer.close(1011, reason.slice(0, 120));
    },
    flows: () => ({ up, down }),
  };
}
