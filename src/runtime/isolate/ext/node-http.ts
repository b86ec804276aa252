/**
 * node:http and node:https (nodejs_compat; compatibility date 2025-08-15 or
 * enable_nodejs_http_modules): as workerd provides them
 * (https://developers.cloudflare.com/workers/runtime-apis/nodejs/http/).
 *
 * Client: `request`/`get` are built on the worker's `fetch()` — a subrequest like any other,
 * through the PoP's cache and egress policy, counted against the request's limits. The body a
 * ClientRequest is written is sent when it ends; the response streams into an IncomingMessage.
 *
 * Server (compatibility date 2025-09-01 or enable_nodejs_http_server_modules): `createServer`
 * and `server.listen(port)` register a handler under a port number only; nothing listens on a
 * socket. `httpServerHandler({ port })` from `cloudflare:node` turns that into a fetch handler:
 * each Request becomes an IncomingMessage and a ServerResponse whose writes stream out as the
 * Response body (frameworks such as Express run on this).
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Readable, Writable } from 'node:stream';

export const METHODS = [
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'CONNECT',
  'TRACE',
  'QUERY',
].sort();
export const STATUS_CODES: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  418: "I'm a Teapot",
  422: 'Unprocessable Entity',
  425: 'Too Early',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

const G = globalThis as any;

type HeaderValue = string | number | string[];

function headerObject(entries: Iterable<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of entries) {
    const name = k.toLowerCase();
    if (name === 'set-cookie')
      ((out[name] as string[] | undefined) ?? ((out[name] = [] as string[]) as string[])).push(v);
    else out[name] = name in out ? `${out[name]}, ${v}` : v;
  }
  return out;
}

export class IncomingMessage extends Readable {
  statusCode?: number;
  statusMessage?: string;
  method?: string;
  url = '';
  headers: Record<string, string | string[]> = {};
  rawHeaders: string[] = [];
  httpVersion = '1.1';
  httpVersionMajor = 1;
  httpVersionMinor = 1;
  complete = false;
  socket: { remoteAddress?: string; encrypted?: boolean; destroy(): void } = { destroy() {} };
  trailers: Record<string, string> = {};
  _read(): void {}
  setTimeout(): this {
    return this;
  }
}

/** Feed a web ReadableStream into a Node Readable, pulling as the Readable is read. */
function pipeWeb(body: any, into: IncomingMessage): void {
  if (!body) {
    into.complete = true;
    into.push(null);
    return;
  }
  const reader = body.getReader();
  const pump = async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!into.push(Buffer.from(value))) await new Promise((r) => into.once('drain', r).once('resume', r));
      }
      into.complete = true;
      into.push(null);
    } catch (err) {
      into.destroy(err as Error);
    }
  };
  into._read = () => {};
  void pump();
}

// ---- client ----

interface RequestOptions {
  protocol?: string;
  host?: string;
  hostname?: string;
  port?: number | string;
  path?: string;
  method?: string;
  headers?: Record<string, HeaderValue>;
  auth?: string;
  signal?: any;
  timeout?: number;
}

function urlOf(options: RequestOptions, defaultProtocol: string): string {
  const protocol = options.protocol ?? defaultProtocol;
  const host = options.hostname ?? options.host?.replace(/:\d+$/, '') ?? 'localhost';
  const port = options.port ?? options.host?.match(/:(\d+)$/)?.[1];
  const auth = options.auth ? `${options.auth}@` : '';
  return `${protocol}//${auth}${host.includes(':') ? `[${host}]` : host}${port ? `:${port}` : ''}${options.path ?? '/'}`;
}

export class ClientRequest extends Writable {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly protocol: string;
  #headers = new Map<string, [string, HeaderValue]>();
  #chunks: Uint8Array[] = [];
  #url: string;
  #controller = new G.AbortController();
  aborted = false;

  constructor(url: string, options: RequestOptions, cb?: (res: IncomingMessage) => void) {
    // Not destroyed once written: the request is sent at 'finish', and destroying aborts it.
    super({ autoDestroy: false });
    this.#url = url;
    const u = new G.URL(url);
    this.method = (options.method ?? 'GET').toUpperCase();
    this.path = `${u.pathname}${u.search}`;
    this.host = u.hostname;
    this.protocol = u.protocol;
    for (const [k, v] of Object.entries(options.headers ?? {})) this.setHeader(k, v);
    if (cb) this.once('response', cb);
    options.signal?.addEventListener?.('abort', () => this.destroy(new Error('The operation was aborted')));
    this.once('finish', () => void this.#send());
  }

  setHeader(name: string, value: HeaderValue): this {
    this.#headers.set(name.toLowerCase(), [name, value]);
    return this;
  }
  getHeader(name: string): HeaderValue | undefined {
    return this.#headers.get(name.toLowerCase())?.[1];
  }
  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }
  getHeaders(): Record<string, HeaderValue> {
    return Object.fromEntries([...this.#headers].map(([k, [, v]]) => [k, v]));
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): void {}
  setSocketKeepAlive(): void {}
  flushHeaders(): void {}
  abort(): void {
    this.aborted = true;
    this.destroy();
  }
  _write(chunk: any, encoding: string, cb: (err?: Error | null) => void): void {
    this.#chunks.push(
      typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : Buffer.from(chunk),
    );
    cb();
  }
  _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#controller.abort();
    cb(err);
  }

  async #send(): Promise<void> {
    const headers = new G.Headers();
    for (const [, [name, value]] of this.#headers)
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v));
    const body =
      this.#chunks.length && this.method !== 'GET' && this.method !== 'HEAD'
        ? Buffer.concat(this.#chunks)
        : undefined;
    try {
      const res = await G.fetch(this.#url, {
        method: this.method,
        headers,
        body,
        redirect: 'manual',
        signal: this.#controller.signal,
      });
      const msg = new IncomingMessage();
      msg.statusCode = res.status;
      msg.statusMessage = res.statusText || STATUS_CODES[res.status] || '';
      const pairs: [string, string][] = [...res.headers];
      msg.headers = headerObject(pairs);
      msg.rawHeaders = pairs.flat();
      pipeWeb(res.body, msg);
      this.emit('response', msg);
    } catch (err) {
      this.emit('error', err);
    }
  }
}

export class Agent extends EventEmitter {
  options: Record<string, unknown>;
  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = options;
  }
  destroy(): void {}
}
export const globalAgent = new Agent();

function parseArgs(
  defaultProtocol: string,
  args: any[],
): [string, RequestOptions, ((res: IncomingMessage) => void) | undefined] {
  let url: string | undefined;
  let options: RequestOptions = {};
  let cb: ((res: IncomingMessage) => void) | undefined;
  for (const a of args) {
    if (typeof a === 'string') url = a;
    else if (a instanceof G.URL) url = a.href;
    else if (typeof a === 'function') cb = a;
    else if (a && typeof a === 'object') options = { ...options, ...a };
  }
  if (url !== undefined) {
    const u = new G.URL(url);
    const full = {
      protocol: u.protocol,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
    };
    options = { ...full, ...options, ...(options.path ? {} : { path: full.path }) };
  }
  return [urlOf(options, defaultProtocol), options, cb];
}

export function makeClient(defaultProtocol: 'http:' | 'https:') {
  const request = (...args: any[]) => {
    const [url, options, cb] = parseArgs(defaultProtocol, args);
    return new ClientRequest(url, options, cb);
  };
  const get = (...args: any[]) => {
    const req = request(...args);
    req.end();
    return req;
  };
  return { request, get };
}

// ---- server ----

export class ServerResponse extends Writable {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  sendDate = true;
  readonly req: IncomingMessage;
  #headers = new Map<string, [string, HeaderValue]>();
  #start: (head: { status: number; statusText: string; headers: [string, string][] }) => void;
  #write: (chunk: Uint8Array) => Promise<void>;
  #close: () => void;

  constructor(
    req: IncomingMessage,
    start: (head: { status: number; statusText: string; headers: [string, string][] }) => void,
    write: (chunk: Uint8Array) => Promise<void>,
    close: () => void,
  ) {
    super();
    this.req = req;
    this.#start = start;
    this.#write = write;
    this.#close = close;
    this.once('finish', () => {
      this.#head();
      this.#close();
    });
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent)
      throw Object.assign(new Error('Cannot set headers after they are sent to the client'), {
        code: 'ERR_HTTP_HEADERS_SENT',
      });
    this.#headers.set(name.toLowerCase(), [name, value]);
    return this;
  }
  appendHeader(name: string, value: HeaderValue): this {
    const prev = this.getHeader(name);
    const list = [
      ...(prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)]),
      ...(Array.isArray(value) ? value : [String(value)]),
    ];
    return this.setHeader(name, list);
  }
  getHeader(name: string): HeaderValue | undefined {
    return this.#headers.get(name.toLowerCase())?.[1];
  }
  getHeaders(): Record<string, HeaderValue> {
    return Object.fromEntries([...this.#headers].map(([k, [, v]]) => [k, v]));
  }
  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }
  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase());
  }
  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }
  writeHead(
    status: number,
    message?: string | Record<string, HeaderValue>,
    headers?: Record<string, HeaderValue> | HeaderValue[],
  ): this {
    this.statusCode = status;
    if (typeof message === 'string') this.statusMessage = message;
    else headers = message;
    if (Array.isArray(headers))
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(String(headers[i]), headers[i + 1]);
    else if (headers) for (const [k, v] of Object.entries(headers)) this.setHeader(k, v);
    this.#head();
    return this;
  }
  flushHeaders(): void {
    this.#head();
  }
  setTimeout(): this {
    return this;
  }
  writeContinue(): void {}
  #head(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const headers: [string, string][] = [];
    for (const [, [name, value]] of this.#headers)
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name, String(v)]);
    this.#start({
      status: this.statusCode,
      statusText: this.statusMessage || STATUS_CODES[this.statusCode] || '',
      headers,
    });
  }
  _write(chunk: any, encoding: string, cb: (err?: Error | null) => void): void {
    this.#head();
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : Buffer.from(chunk);
    outpost.promises.thenOf(this.#write(bytes), () => cb(), cb);
  }
}

export class Server extends EventEmitter {
  listening = false;
  #port: number | null = null;
  constructor(options?: unknown, handler?: (req: IncomingMessage, res: ServerResponse) => void) {
    super();
    if (!outpost.httpServer())
      throw new Error(
        'node:http servers need compatibility_date = "2025-09-01" or later, or the "enable_nodejs_http_server_modules" compatibility flag',
      );
    const h = typeof options === 'function' ? options : handler;
    if (h) this.on('request', h as never);
  }
  listen(...args: any[]): this {
    const port =
      typeof args[0] === 'number'
        ? args[0]
        : typeof args[0] === 'object' && args[0]
          ? Number(args[0].port)
          : 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`Invalid port ${String(args[0])}`);
    const cb = args.find((a) => typeof a === 'function');
    if (ports.has(port))
      throw Object.assign(new Error(`listen EADDRINUSE: address already in use :::${port}`), {
        code: 'EADDRINUSE',
      });
    ports.set(port, this);
    this.#port = port;
    this.listening = true;
    queueMicrotask(() => {
      this.emit('listening');
      cb?.();
    });
    return this;
  }
  close(cb?: () => void): this {
    if (this.#port !== null) ports.delete(this.#port);
    this.listening = false;
    queueMicrotask(() => {
      this.emit('close');
      cb?.();
    });
    return this;
  }
  address() {
    return this.#port === null ? null : { port: this.#port, family: 'IPv4', address: '0.0.0.0' };
  }
  setTimeout(): this {
    return this;
  }
}

const ports = new Map<number, Server>();

export function createServer(
  options?: unknown,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  return new Server(options, handler);
}

/** `cloudflare:node`'s handleAsNodeRequest(port, request): the Response of a listening server. */
export async function handleAsNodeRequest(port: number, request: any): Promise<any> {
  const server = ports.get(port);
  if (!server)
    throw new Error(`No node:http server is listening on port ${port} (call server.listen(${port}) first)`);
  const url = new G.URL(request.url);
  const req = new IncomingMessage();
  req.method = request.method;
  req.url = `${url.pathname}${url.search}`;
  const pairs: [string, string][] = [...request.headers];
  req.headers = headerObject(pairs);
  req.rawHeaders = pairs.flat();
  req.socket = {
    remoteAddress: request.headers.get('cf-connecting-ip') ?? undefined,
    encrypted: url.protocol === 'https:',
    destroy() {},
  };
  pipeWeb(request.body, req);
  return new Promise((resolve, reject) => {
    const { readable, writable } = new G.TransformStream();
    const writer = writable.getWriter();
    let started = false;
    const res = new ServerResponse(
      req,
      (head) => {
        started = true;
        const nullBody = req.method === 'HEAD' || head.status === 204 || head.status === 304;
        resolve(
          new G.Response(nullBody ? null : readable, {
            status: head.status,
            statusText: head.statusText,
            headers: head.headers,
          }),
        );
        if (nullBody) outpost.promises.catchOf(writer.close(), () => {});
      },
      (chunk) => writer.write(chunk),
      () => void outpost.promises.catchOf(writer.close(), () => {}),
    );
    res.on('error', (err: Error) => (started ? writer.abort(err) : reject(err)));
    try {
      server.emit('request', req, res);
    } catch (err) {
      reject(err);
    }
  });
}

/** `cloudflare:node`'s httpServerHandler({ port }): a fetch handler for a listening server. */
export function httpServerHandler(options: { port: number } | number): { fetch(request: any): Promise<any> } {
  const port = typeof options === 'number' ? options : Number(options?.port);
  if (!Number.isInteger(port)) throw new TypeError('httpServerHandler() needs { port }');
  return { fetch: (request: any) => handleAsNodeRequest(port, request) };
}

const client = makeClient('http:');
export const request = client.request;
export const get = client.get;
export const maxHeaderSize = 16384;
export const validateHeaderName = (name: string) => {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name}"]`), {
      code: 'ERR_INVALID_HTTP_TOKEN',
    });
};
export const validateHeaderValue = (_name: string, value: unknown) => {
  if (value === undefined)
    throw Object.assign(new TypeError('Invalid value "undefined" for header'), {
      code: 'ERR_HTTP_INVALID_HEADER_VALUE',
    });
};

export default {
  METHODS,
  STATUS_CODES,
  Agent,
  globalAgent,
  ClientRequest,
  IncomingMessage,
  ServerResponse,
  Server,
  createServer,
  request,
  get,
  maxHeaderSize,
  validateHeaderName,
  validateHeaderValue,
};
