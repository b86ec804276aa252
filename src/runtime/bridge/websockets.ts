/**
 * Host ends of a worker's WebSockets (the `ws` library): sockets the PoP accepted for a 101
 * response, and connections the worker opened (`new WebSocket(url)`, fetch with
 * `Upgrade: websocket`). Ids come from the isolate (src/runtime/isolate/websocket.ts); events go
 * back to it through `deliver` (the wsEvent entry). Disposing the isolate closes them all.
 */
import WebSocket from 'ws';
import type { EgressPolicy } from '../egress.ts';
import { LOOP_HEADER } from '../loops.ts';
import { Inflow } from './inflow.ts';
import { isStringList, MAX_HEADER_LIST } from './lists.ts';
import { NamedError } from './named-error.ts';

export type Deliver = (
  id: number,
  type: 'open' | 'message' | 'close' | 'error',
  a?: unknown,
  b?: unknown,
) => Promise<unknown> | undefined;

/** Sockets one isolate may hold open at once. */
export const MAX_SOCKETS = 1000;
const MAX_MESSAGE = 32 * 1024 * 1024; // Workers' message size limit (32 MiB)
/** Subprotocols one connection may offer (a handful in practice). */
const MAX_PROTOCOLS = 256;

function toArrayBuffer(data: WebSocket.RawData): ArrayBuffer {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export class SocketTable {
  #sockets = new Map<number, WebSocket>();
  /** Messages in flight into the isolate: a socket that sends faster than it is handled pauses. */
  readonly inflow = new Inflow();
  constructor(private readonly deliver: Deliver) {}

  get size(): number {
    return this.#sockets.size;
  }

  #track(id: number, socket: WebSocket): void {
    this.#sockets.set(id, socket);
    socket.on('message', (data, isBinary) => {
      const message = isBinary ? toArrayBuffer(data) : data.toString();
      const size = typeof message === 'string' ? message.length * 2 : message.byteLength;
      this.inflow.track(socket, size, this.deliver(id, 'message', message));
    });
    socket.on('close', (code, reason) => {
      this.#sockets.delete(id);
      this.inflow.forget(socket);
      this.deliver(id, 'close', code === 1005 ? 1005 : code, reason.toString());
    });
    socket.on('error', (err) => this.deliver(id, 'error', err.message));
  }

  #reserve(id: unknown): number {
    if (typeof id !== 'number' || !Number.isInteger(id) || this.#sockets.has(id))
      throw new NamedError('invalid WebSocket id', 'TypeError');
    if (this.#sockets.size >= MAX_SOCKETS)
      throw new NamedError(`Too many open WebSockets in this isolate (limit ${MAX_SOCKETS})`, 'Error');
    return id;
  }

  /** The PoP upgraded a client connection for the end `id` the worker returned. */
  attach(id: number, socket: WebSocket): void {
    this.#reserve(id);
    this.#track(id, socket);
  }

  /** Open a connection for the worker. Resolves once open, with the negotiated protocol. */
  connect(
    id: unknown,
    url: unknown,
    protocols: unknown,
    headers: unknown,
    egress: EgressPolicy,
    loopHops: string,
  ): Promise<{ protocol: string }> {
    if (typeof url !== 'string' || !/^(https?|wss?):\/\//.test(url))
      throw new NamedError('WebSocket URL must be http(s) or ws(s)', 'TypeError');
    if (!isStringList(protocols, MAX_PROTOCOLS))
      throw new NamedError('invalid WebSocket protocols', 'TypeError');
    if (!isStringList(headers, MAX_HEADER_LIST, true))
      throw new NamedError('invalid WebSocket headers', 'TypeError');
    const h: Record<string, string> = {};
    for (let i = 0; i < headers.length; i += 2) h[headers[i]] = headers[i + 1];
    for (const k of Object.keys(h)) if (k.toLowerCase() === LOOP_HEADER) delete h[k];
    h[LOOP_HEADER] = loopHops;
    // The egress policy (src/runtime/egress.ts): literal addresses now, names as they resolve.
    const target = new URL(url.replace(/^http/, 'ws'));
    const port = Number(target.port) || (target.protocol === 'wss:' ? 443 : 80);
    try {
      egress.checkLiteral(target.hostname.replace(/^\[(.*)\]$/, '$1'), port);
    } catch (err) {
      throw new NamedError((err as Error).message.replace(/^fetch/, 'WebSocket connection'), 'TypeError');
    }
    const n = this.#reserve(id);
    const socket = new WebSocket(target.href, protocols as string[], {
      lookup: egress.lookupFor(port),
      headers: h,
      maxPayload: MAX_MESSAGE,
      handshakeTimeout: 30_000,
    });
    this.#sockets.set(n, socket);
    return new Promise((resolve, reject) => {
      const fail = (message: string) => {
        this.#sockets.delete(n);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(new NamedError(`WebSocket connection to ${url} failed: ${message}`, 'Error'));
      };
      socket.once('unexpected-response', (_req, res) => fail(`the server answered ${res.statusCode}`));
      socket.once('error', (err) => fail(err.message));
      socket.once('open', () => {
        socket.removeAllListeners();
        this.#sockets.delete(n);
        this.#track(n, socket);
        resolve({ protocol: socket.protocol });
      });
    });
  }

  send(id: unknown, data: unknown): void {
    const socket = typeof id === 'number' ? this.#sockets.get(id) : undefined;
    if (!socket || socket.readyState !== WebSocket.OPEN) return; // closed meanwhile: Workers drops it too
    if (typeof data === 'string') socket.send(data);
    else if (data instanceof ArrayBuffer) socket.send(new Uint8Array(data));
    else throw new NamedError('WebSocket data must be a string or bytes', 'TypeError');
  }

  close(id: unknown, code: unknown, reason: unknown): void {
    const socket = typeof id === 'number' ? this.#sockets.get(id) : undefined;
    if (!socket) return;
    const c = typeof code === 'number' ? code : 1000;
    socket.close(c, typeof reason === 'string' ? reason : '');
  }

  closeAll(reason: string): void {
    for (const socket of this.#sockets.values()) {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.close(1011, reason.slice(0, 120));
    }
    this.#sockets.clear();
  }
}
