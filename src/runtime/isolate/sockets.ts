/**
 * `cloudflare:sockets` (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/):
 * `connect(address, options)` → a Socket with `readable`, `writable`, `opened`, `closed` and
 * `close()`. The host opens the connection (src/runtime/bridge/tcp.ts: egress policy, a
 * subrequest); bytes in are a host body this side pulls, bytes out one call per write.
 * `secureTransport: "on"` is TLS from the start; "starttls" (upgrading later) is not supported
 * and says so.
 */
import { bodyStream, HostBody, newState } from './body.ts';
import { callAsync } from './bridge.ts';
import { catchInFrame, thenInFrame } from './context.ts';
import { utf8Encode } from './encoding.ts';
import { registerBuiltin } from './modules.ts';
import { streams } from './streams.ts';

interface Address {
  hostname: string;
  port: number;
}

function parseAddress(address: unknown): Address {
  if (typeof address === 'string') {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
    if (!m) throw new TypeError('connect(): the address must be "host:port" or { hostname, port }');
    return { hostname: m[1], port: Number(m[2]) };
  }
  if (address && typeof address === 'object') {
    const { hostname, port } = address as { hostname?: unknown; port?: unknown };
    if (typeof hostname === 'string' && typeof port === 'number') return { hostname, port };
  }
  throw new TypeError('connect(): the address must be "host:port" or { hostname, port }');
}

function bytesOf(chunk: unknown): ArrayBuffer {
  if (chunk instanceof ArrayBuffer) return chunk.slice(0);
  if (ArrayBuffer.isView(chunk))
    return chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
  if (typeof chunk === 'string') return utf8Encode(chunk).slice().buffer as ArrayBuffer;
  throw new TypeError('Socket writes take bytes (an ArrayBuffer or a view of one)');
}

class Socket {
  readonly readable: any;
  readonly writable: any;
  readonly opened: Promise<{ remoteAddress: string; localAddress: string }>;
  readonly closed: Promise<void>;
  #id: number | null = null;
  #close: () => void = () => {};

  constructor(address: Address, secure: boolean) {
    const { ReadableStream, WritableStream } = streams();
    let resolveClosed: () => void = () => {};
    let rejectClosed: (e: unknown) => void = () => {};
    this.closed = new Promise((res, rej) => {
      resolveClosed = res;
      rejectClosed = rej;
    });
    catchInFrame(this.closed, () => {});
    const open = callAsync('tcpConnect', address.hostname, address.port, secure) as Promise<{
      id: number;
      body: number;
      remoteAddress: string;
      localAddress: string;
    }>;
    this.opened = thenInFrame(open, (o) => ({
      remoteAddress: o.remoteAddress,
      localAddress: o.localAddress,
    }));
    catchInFrame(this.opened, () => {});
    thenInFrame(
      open,
      (o) => {
        this.#id = o.id;
      },
      (err) => rejectClosed(err),
    );
    let inner: any = null;
    let innerReader: any = null;
    this.readable = new ReadableStream({
      async pull(controller: any) {
        try {
          const o = await open;
          inner ??= bodyStream(newState(new HostBody(o.body)));
          innerReader ??= inner.getReader();
          const { done, value } = await innerReader.read();
          if (done) {
            controller.close();
            resolveClosed();
          } else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
          rejectClosed(err);
        }
      },
      cancel: () => this.close(),
    });
    this.writable = new WritableStream({
      write: async (chunk: unknown) => {
        const o = await open;
        await callAsync('tcpWrite', o.id, bytesOf(chunk));
      },
      close: async () => {
        const o = await open;
        await callAsync('tcpClose', o.id, true);
      },
      abort: () => this.close(),
    });
    this.#close = () => {
      if (this.#id !== null) catchInFrame(callAsync('tcpClose', this.#id, false), () => {});
      if (innerReader) catchInFrame(innerReader.cancel(), () => {});
      resolveClosed();
    };
  }

  close(): Promise<void> {
    this.#close();
    return this.closed;
  }

  startTls(): never {
    throw new Error('startTls() is not supported by Outpost: connect with { secureTransport: "on" }');
  }
}

export function connect(address: unknown, options?: unknown): Socket {
  const o = (options ?? {}) as { secureTransport?: unknown; allowHalfOpen?: unknown };
  const mode = o.secureTransport ?? 'off';
  if (mode !== 'off' && mode !== 'on' && mode !== 'starttls')
    throw new TypeError('connect(): secureTransport must be "off", "on" or "starttls"');
  if (mode === 'starttls')
    throw new TypeError('connect(): secureTransport "starttls" is not supported by Outpost; use "on"');
  return new Socket(parseAddress(address), mode === 'on');
}

registerBuiltin('cloudflare:sockets', () => Object.freeze({ __esModule: true, connect }));
