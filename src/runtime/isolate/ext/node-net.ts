/**
 * node:net (nodejs_compat): client sockets as workerd offers them — a Duplex over
 * `connect()` from cloudflare:sockets (the host opens the connection through the worker's
 * egress policy, as a subrequest). Servers (`createServer`) do not exist in Workers.
 */
import { Buffer } from 'node:buffer';
import { Duplex } from 'node:stream';

function ipv4(s: string): boolean {
  const parts = s.split('.');
  return (
    parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255 && (p === '0' || !p.startsWith('0')))
  );
}
function ipv6(s: string): boolean {
  try {
    return s.includes(':') && new (globalThis as any).URL(`http://[${s}]/`).hostname !== '';
  } catch {
    return false;
  }
}
export const isIPv4 = (s: unknown) => typeof s === 'string' && ipv4(s);
export const isIPv6 = (s: unknown) => typeof s === 'string' && ipv6(s);
export const isIP = (s: unknown) => (isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0);

interface ConnectOptions {
  host?: string;
  port?: number | string;
  servername?: string;
}

export class Socket extends Duplex {
  connecting = false;
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  encrypted = false;
  #socket: any = null;
  #writer: any = null;
  #reader: any = null;
  #reading = false;

  constructor(options: Record<string, unknown> = {}) {
    super({ allowHalfOpen: options.allowHalfOpen === true });
  }

  /** socket.connect(port[, host][, cb]) or socket.connect({ port, host }[, cb]). */
  connect(...args: any[]): this {
    const [options, cb] = normalize(args);
    return this.open(options, false, cb);
  }

  /** Used by node:tls too: `secure` is TLS from the start. */
  open(options: ConnectOptions, secure: boolean, cb?: () => void): this {
    const port = Number(options.port);
    const host = options.host ?? 'localhost';
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw Object.assign(
        new RangeError(`Port should be > 0 and < 65536. Received ${String(options.port)}.`),
        {
          code: 'ERR_SOCKET_BAD_PORT',
        },
      );
    if (cb) this.once(secure ? 'secureConnect' : 'connect', cb);
    this.connecting = true;
    this.encrypted = secure;
    const socket = outpost.connect(
      { hostname: host.includes(':') && !host.startsWith('[') ? `[${host}]` : host, port },
      { secureTransport: secure ? 'on' : 'off' },
    );
    this.#socket = socket;
    this.#writer = socket.writable.getWriter();
    this.#reader = socket.readable.getReader();
    outpost.promises.thenOf(
      socket.opened,
      (info: { remoteAddress: string; localAddress: string }) => {
        this.connecting = false;
        const split = (a: string) => {
          const i = a.lastIndexOf(':');
          return [a.slice(0, i), Number(a.slice(i + 1))] as const;
        };
        [this.remoteAddress, this.remotePort] = split(info.remoteAddress);
        [this.localAddress, this.localPort] = split(info.localAddress);
        this.emit('connect');
        if (secure) this.emit('secureConnect');
        this.emit('ready');
        if (this.#reading) this.#pump();
      },
      (err: Error) => this.destroy(err),
    );
    return this;
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) {
          this.push(null);
          return;
        }
        if (!this.push(Buffer.from(value))) {
          this.#reading = false;
          return;
        }
      }
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    if (!this.connecting && this.#reader) void this.#pump();
  }

  _write(chunk: any, encoding: string, cb: (err?: Error | null) => void): void {
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : Buffer.from(chunk);
    if (!this.#writer) {
      cb(new Error('This socket is not connected'));
      return;
    }
    outpost.promises.thenOf(this.#writer.write(bytes), () => cb(), cb);
  }

  _final(cb: (err?: Error | null) => void): void {
    if (!this.#writer) {
      cb();
      return;
    }
    outpost.promises.thenOf(this.#writer.close(), () => cb(), cb);
  }

  _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#socket) outpost.promises.catchOf(this.#socket.close(), () => {});
    cb(err);
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  /** Idle timeouts are the host's (30 s to connect); the callback is kept for the 'timeout' event. */
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address() {
    return {
      address: this.localAddress,
      port: this.localPort,
      family: isIP(this.localAddress) === 6 ? 'IPv6' : 'IPv4',
    };
  }
}

export function normalize(args: any[]): [ConnectOptions, (() => void) | undefined] {
  const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  if (args[0] && typeof args[0] === 'object') return [args[0], cb];
  return [{ port: args[0], host: typeof args[1] === 'string' ? args[1] : undefined }, cb];
}

export function connect(...args: any[]): Socket {
  const [options, cb] = normalize(args);
  return new Socket().open(options, false, cb);
}
export const createConnection = connect;

export function createServer(): never {
  throw new Error('node:net servers are not available in Workers (connections come in as fetch requests)');
}

export default { Socket, connect, createConnection, createServer, isIP, isIPv4, isIPv6 };
