/**
 * Outgoing TCP sockets for `connect()` from `cloudflare:sockets`
 * (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/) and node:net/node:tls
 * on top of it. A socket is opened by the host through the worker's egress policy (the same
 * rules as fetch(): public unicast only unless the operator allows more, checked on the address
 * each name resolves to), counted as a subrequest of the invocation that opened it.
 *
 * Bytes from the socket reach the isolate as a host body it pulls (src/runtime/bridge/bodies.ts),
 * so a worker that stops reading stops the socket; bytes to it are one call per write,
 * answered once the socket has taken them (its buffer drained). The isolate's sockets are
 * closed with it.
 */
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { EgressPolicy } from '../egress.ts';
import { type BodyRegistry, fromAsyncIterable } from './bodies.ts';
import { NamedError } from './named-error.ts';

/** Sockets one isolate may hold open (Workers allows six open connections per request). */
const MAX_SOCKETS = 64;
const MAX_WRITE = 16 * 1024 * 1024;

/** Ports Workers refuses to connect to (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/#considerations). */
const BLOCKED_PORTS = new Set([25]);

export class TcpTable {
  readonly #sockets = new Map<number, Socket>();
  #next = 1;

  /** Open a socket; resolves once connected, with the body id its bytes arrive on. */
  async connect(
    hostname: unknown,
    port: unknown,
    secure: unknown,
    egress: EgressPolicy,
    bodies: BodyRegistry,
  ): Promise<{ id: number; body: number; remoteAddress: string; localAddress: string }> {
    if (typeof hostname !== 'string' || hostname === '' || hostname.length > 253)
      throw new NamedError('connect(): invalid hostname', 'TypeError');
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new NamedError('connect(): invalid port', 'TypeError');
    if (BLOCKED_PORTS.has(port))
      throw new NamedError(`connect(): connections to port ${port} are not allowed`, 'TypeError');
    if (this.#sockets.size >= MAX_SOCKETS)
      throw new NamedError(`Too many open sockets in this isolate (limit ${MAX_SOCKETS})`, 'Error');
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    try {
      egress.checkLiteral(host, port);
    } catch (err) {
      throw new NamedError((err as Error).message.replace(/^fetch/, 'connect()'), 'TypeError');
    }
    const options = { host, port, lookup: egress.lookupFor(port) };
    const socket: Socket =
      secure === true
        ? tlsConnect({ ...options, ...(isIP(host) ? {} : { servername: host }) })
        : tcpConnect(options);
    const id = this.#next++;
    this.#sockets.set(id, socket);
    socket.setTimeout(30_000, () => socket.destroy(new Error('connection timed out')));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        this.#sockets.delete(id);
        socket.destroy();
        const refused = (err as { cause?: Error }).cause ?? err;
        reject(new NamedError(`connect() to ${hostname}:${port} failed: ${refused.message}`, 'Error'));
      };
      socket.once('error', fail);
      socket.once(secure === true ? 'secureConnect' : 'connect', () => {
        socket.off('error', fail);
        socket.setTimeout(0);
        resolve();
      });
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.#sockets.delete(id));
    const body = bodies.add(fromAsyncIterable(socket as AsyncIterable<Uint8Array>, () => socket.destroy()));
    return {
      id,
      body,
      remoteAddress: `${socket.remoteAddress ?? host}:${socket.remotePort ?? port}`,
      localAddress: `${socket.localAddress ?? ''}:${socket.localPort ?? 0}`,
    };
  }

  async write(id: unknown, data: unknown): Promise<void> {
    const socket = typeof id === 'number' ? this.#sockets.get(id) : undefined;
    if (!socket || socket.destroyed || !socket.writable)
      throw new NamedError('This socket is closed.', 'Error');
    if (!(data instanceof ArrayBuffer) || data.byteLength > MAX_WRITE)
      throw new NamedError('socket write: invalid data', 'TypeError');
    await new Promise<void>((resolve, reject) =>
      socket.write(new Uint8Array(data), (err) =>
        err ? reject(new NamedError(err.message, 'Error')) : resolve(),
      ),
    );
  }

  /** Half-close (the writable side ended) or close entirely. */
  close(id: unknown, half: unknown): void {
    const socket = typeof id === 'number' ? this.#sockets.get(id) : undefined;
    if (!socket) return;
    if (half === true) socket.end();
    else {
      socket.destroy();
      this.#sockets.delete(id as number);
    }
  }

  closeAll(): void {
    for (const s of this.#sockets.values()) s.destroy();
    this.#sockets.clear();
  }
}
