/**
 * WebSocket and WebSocketPair as Workers has them
 * (https://developers.cloudflare.com/workers/runtime-apis/websockets/).
 *
 * An end is either linked to its peer in this isolate (a WebSocketPair) or bridged to a host
 * socket (the client end handed to the PoP in a 101 response, or an outgoing connection from
 * `new WebSocket(url)` / `fetch()` with `Upgrade: websocket`). Host sockets are named by ids
 * this isolate allocates; the host delivers their events through the `wsEvent` entry.
 *
 * Workers' rule: a server-side end (from a pair, or from fetch) must be accept()ed before it
 * sends or receives; events that arrive earlier wait in a queue.
 */
import { callAsync, callSync } from './bridge.ts';
import { currentFrame, enter, type Frame, thenInFrame } from './context.ts';
import { toBytes, utf8Encode } from './encoding.ts';
import { DOMException, Event, EventTarget } from './events.ts';
import { URL } from './url.ts';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export class MessageEvent extends Event {
  readonly data: unknown;
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data ?? null;
  }
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

export class ErrorEvent extends Event {
  readonly message: string;
  readonly error: unknown;
  constructor(type: string, init: { message?: string; error?: unknown } = {}) {
    super(type);
    this.message = init.message ?? '';
    this.error = init.error ?? null;
  }
}

/** Ends bridged to host sockets, by id. */
const hostEnds = new Map<number, WebSocket>();
let nextId = 1;
const kInternal = Symbol('internal');

type Link =
  | { kind: 'none' }
  | { kind: 'peer'; peer: WebSocket }
  | { kind: 'host'; id: number }
  /** A Durable Object's end, passed through stub.fetch(): only to be returned in a 101. */
  | { kind: 'object'; token: string };

function validCloseCode(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999);
}

export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  #state = CONNECTING;
  #link: Link = { kind: 'none' };
  #accepted = false;
  #needsAccept = false;
  #queue: Event[] = [];
  #url: string | null = null;
  #protocol = '';
  /** Set when this end was handed to the host in a 101 response. */
  #handedOff = false;
  /** Messages the host delivered before this end saw its open. */
  #early: Event[] = [];
  /** Set when a Durable Object accepted this end for hibernation (ctx.acceptWebSocket): its tags. */
  #tags: string[] | null = null;
  /** serializeAttachment()'s value (a structured clone). */
  #attachment: unknown = null;
  /** Messages this end sent before the host connected it (a server end sending before its 101 is out). */
  #outbox: (string | ArrayBuffer)[] | null = null;
  binaryType: 'arraybuffer' | 'blob' = 'arraybuffer';
  /**
   * The invocation whose code accept()ed this end (or created it with `new WebSocket()`): its
   * listeners run for that invocation (context.ts), whoever delivered the event.
   */
  #frame: Frame | undefined = undefined;

  constructor(url: string | typeof kInternal, protocols?: string | string[]) {
    super();
    if (url === kInternal) return;
    const u = new URL(String(url));
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
      throw new DOMException(
        `The URL's scheme must be either 'ws' or 'wss'. '${u.protocol}' is not allowed.`,
        'SyntaxError',
      );
    this.#url = u.href;
    const list =
      protocols === undefined ? [] : Array.isArray(protocols) ? protocols.map(String) : [String(protocols)];
    const id = nextId++;
    this.#link = { kind: 'host', id };
    hostEnds.set(id, this);
    // A client created with `new WebSocket()` is accepted implicitly (browser semantics).
    this.#accepted = true;
    this.#frame = currentFrame();
    thenInFrame(
      callAsync('wsConnect', id, u.href.replace(/^ws/, 'http'), list, []),
      (r: { protocol: string }) => {
        this.#protocol = r.protocol;
        this.#open();
      },
      (err: Error) => this.#fail(err.message),
    );
  }

  get url(): string | null {
    return this.#url;
  }
  get readyState(): number {
    return this.#state;
  }
  get protocol(): string {
    return this.#protocol;
  }
  get extensions(): string {
    return '';
  }

  /** Keep a value with this WebSocket (a Durable Object's survives hibernation; up to 2 KiB). */
  serializeAttachment(value: unknown): void {
    const copy = value === undefined ? null : structuredClone(value);
    if (this.#tags && this.#link.kind === 'host') callSync('wsAttachment', this.#link.id, copy);
    this.#attachment = copy;
  }

  deserializeAttachment(): unknown {
    return this.#attachment === null ? null : structuredClone(this.#attachment);
  }

  /** Server-side ends (pairs, fetch upgrades) start receiving here. */
  accept(): void {
    if (this.#link.kind === 'object')
      throw new TypeError("A Durable Object's WebSocket can only be returned in a Response (status 101).");
    if (this.#handedOff) throw new TypeError("Can't accept() WebSocket that was already used in a response.");
    if (this.#accepted) throw new TypeError("Can't accept() WebSocket twice.");
    this.#accepted = true;
    this.#frame = currentFrame();
    if (this.#state === CONNECTING) this.#state = OPEN;
    const queued = this.#queue.splice(0);
    queueMicrotask(() => {
      for (const e of queued) this.#emit(e);
    });
  }

  send(data: unknown): void {
    if (this.#needsAccept && !this.#accepted)
      throw new TypeError(
        'You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.',
      );
    if (this.#state === CONNECTING)
      throw new DOMException(
        "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
        'InvalidStateError',
      );
    if (this.#link.kind === 'object')
      throw new TypeError("A Durable Object's WebSocket can only be returned in a Response (status 101).");
    if (this.#state !== OPEN) throw new TypeError("Can't call WebSocket send() after close().");
    const payload =
      typeof data === 'string'
        ? data
        : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? toBytes(data, 'WebSocket.send').slice().buffer
          : String(data);
    const link = this.#link;
    if (link.kind === 'peer')
      link.peer.#deliver(
        new MessageEvent('message', { data: typeof payload === 'string' ? payload : payload.slice(0) }),
      );
    else if (link.kind === 'host') {
      beforeSend();
      if (this.#outbox) this.#outbox.push(payload);
      else callSync('wsSend', link.id, payload);
    }
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined && !validCloseCode(Number(code)))
      throw new DOMException(
        `The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
        'InvalidAccessError',
      );
    const r = reason === undefined ? '' : String(reason);
    if (utf8Encode(r).byteLength > 123)
      throw new DOMException('The close reason must not be greater than 123 UTF-8 bytes.', 'SyntaxError');
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    this.#state = CLOSING;
    const c = code === undefined ? 1000 : Number(code);
    const link = this.#link;
    if (link.kind === 'peer') {
      link.peer.#deliver(new CloseEvent('close', { code: c, reason: r, wasClean: true }));
      this.#closed(c, r);
    } else if (link.kind === 'host') {
      beforeSend(); // a close leaves after the writes before it, as a message does
      callSync('wsClose', link.id, c, r);
    }
  }

  #open(): void {
    const out = this.#outbox;
    if (out && this.#link.kind === 'host') {
      this.#outbox = null;
      if (out.length > 0) beforeSend();
      for (const payload of out) callSync('wsSend', this.#link.id, payload);
    }
    if (this.#state !== CONNECTING) return;
    this.#state = OPEN;
    this.#deliver(new Event('open'));
    for (const e of this.#early.splice(0)) this.#deliver(e);
  }

  #fail(message: string): void {
    this.#deliver(new ErrorEvent('error', { message }));
    this.#closed(1006, '');
  }

  #closed(code: number, reason: string): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    if (this.#link.kind === 'host') hostEnds.delete(this.#link.id);
    this.#deliver(new CloseEvent('close', { code, reason, wasClean: code !== 1006 }));
  }

  /** An event for this end: dispatched now if accepted, else queued until accept(). */
  #deliver(e: Event): void {
    if (e.type === 'close' && this.#state !== CLOSED && this.#link.kind === 'peer') {
      // The peer closed: this end is closed too (Workers completes the handshake for us).
      this.#state = CLOSED;
    }
    if (this.#needsAccept && !this.#accepted) this.#queue.push(e);
    else queueMicrotask(() => this.#emit(e));
  }

  #emit(e: Event): void {
    enter(this.#frame ?? currentFrame(), () => {
      try {
        this.dispatchEvent(e);
      } catch (err) {
        (globalThis as any).reportError(err);
      }
    });
  }

  static [kInternal] = {
    pairEnd(): WebSocket {
      const ws = new WebSocket(kInternal);
      ws.#needsAccept = true;
      return ws;
    },
    link(a: WebSocket, b: WebSocket): void {
      a.#link = { kind: 'peer', peer: b };
      b.#link = { kind: 'peer', peer: a };
    },
    /** The end goes out in a 101 response: its peer now talks to the host socket `id`. */
    handOff(ws: WebSocket): number | string {
      if (ws.#handedOff) throw new TypeError('This WebSocket was already used in a response.');
      if (ws.#link.kind === 'object') {
        // Another worker's or an object's end, bridged by the host: its token says which.
        ws.#handedOff = true;
        return ws.#link.token;
      }
      if (ws.#accepted)
        throw new TypeError("Can't return a WebSocket in a Response after calling accept() on it.");
      const link = ws.#link;
      if (link.kind !== 'peer')
        throw new TypeError('Only the client end of a WebSocketPair can be returned in a Response.');
      ws.#handedOff = true;
      const id = nextId++;
      const server = link.peer;
      server.#link = { kind: 'host', id };
      // A hibernatable end's socket is held by the host, outside this isolate.
      if (server.#tags) callSync('wsHibernate', id, server.#tags, server.#attachment);
      // What the server end sent before the client is connected goes out once it is.
      server.#outbox = ws.#queue.flatMap((e) =>
        e.type === 'message' ? [(e as MessageEvent).data as string | ArrayBuffer] : [],
      );
      ws.#queue = [];
      hostEnds.set(id, server);
      if (server.#accepted) server.#state = OPEN;
      return id;
    },
    /** The client end a Durable Object answered with (host id `id`), as seen by the caller. */
    fromObject(token: string): WebSocket {
      const ws = new WebSocket(kInternal);
      ws.#link = { kind: 'object', token };
      return ws;
    },
    /** ctx.acceptWebSocket(ws, tags): accept a pair's server end for hibernation. */
    hibernate(ws: WebSocket, tags: string[]): void {
      if (ws.#link.kind !== 'peer' || !ws.#needsAccept)
        throw new TypeError('acceptWebSocket() takes the server end of a WebSocketPair.');
      if (ws.#accepted || ws.#tags) throw new TypeError("Can't accept() WebSocket twice.");
      ws.#tags = tags;
      ws.#accepted = true;
      if (ws.#state === CONNECTING) ws.#state = OPEN;
      ws.#queue = [];
    },
    /** A hibernated end handed back to a new isolate of its object. */
    restore(id: number, tags: string[], attachment: unknown): WebSocket {
      const ws = new WebSocket(kInternal);
      ws.#link = { kind: 'host', id };
      ws.#tags = tags;
      ws.#attachment = attachment;
      ws.#accepted = true;
      ws.#state = OPEN;
      hostEnds.set(id, ws);
      if (id >= nextId) nextId = id + 1;
      return ws;
    },
    /** The hibernatable ends that are open, optionally only those with `tag`. */
    hibernated(tag?: string): WebSocket[] {
      return [...hostEnds.values()].filter(
        (ws) => ws.#tags && ws.#state !== CLOSED && (tag === undefined || ws.#tags.includes(tag)),
      );
    },
    tagsOf(ws: WebSocket): string[] {
      if (!ws.#tags)
        throw new TypeError('getTags(): this WebSocket was not accepted with acceptWebSocket().');
      return [...ws.#tags];
    },
    hostId(ws: WebSocket): number | null {
      return ws.#link.kind === 'host' ? ws.#link.id : null;
    },
    /** An event for a hibernatable end, delivered to the object's handler instead of listeners. */
    hibernationEvent(id: number, type: string, a: unknown): WebSocket | undefined {
      const ws = hostEnds.get(id);
      if (!ws || !ws.#tags) return undefined;
      if (type === 'close' || type === 'error') {
        ws.#state = CLOSED;
        hostEnds.delete(id);
      } else if (type === 'message' && typeof a !== 'string' && !(a instanceof ArrayBuffer)) return undefined;
      return ws;
    },
    /** An end for a host socket opened by fetch() with Upgrade: websocket (needs accept()). */
    connected(id: number, protocol: string, url: string): WebSocket {
      const ws = new WebSocket(kInternal);
      ws.#needsAccept = true;
      ws.#link = { kind: 'host', id };
      ws.#protocol = protocol;
      ws.#url = url;
      hostEnds.set(id, ws);
      return ws;
    },
    allocate(): number {
      return nextId++;
    },
    setProtocol(ws: WebSocket, protocol: string): void {
      ws.#protocol = protocol;
    },
    forget(id: number): void {
      hostEnds.delete(id);
    },
    hostEvent(ws: WebSocket, type: string, a: unknown, b: unknown): void {
      if (type === 'open') {
        ws.#protocol = String(a ?? '');
        ws.#open();
      } else if (type === 'message') {
        const e = new MessageEvent('message', { data: a });
        if (ws.#state === CONNECTING && !ws.#needsAccept) ws.#early.push(e);
        else if (ws.#state !== CLOSED) ws.#deliver(e);
      } else if (type === 'close') ws.#closed(Number(a), String(b ?? ''));
      else if (type === 'error') ws.#fail(String(a ?? 'WebSocket error'));
    },
  };
}

export class WebSocketPair {
  0: WebSocket;
  1: WebSocket;
  constructor() {
    const client = WebSocket[kInternal].pairEnd();
    const server = WebSocket[kInternal].pairEnd();
    WebSocket[kInternal].link(client, server);
    this[0] = client;
    this[1] = server;
  }
  *[Symbol.iterator]() {
    yield this[0];
    yield this[1];
  }
}

export const internals = WebSocket[kInternal];

/**
 * Runs before a message or a close goes to the host. In a Durable Object's isolate it commits the object's
 * staged writes (durable.ts sets it: the output gate), so that a commit that fails throws from
 * send() having cleared what the storage cache learnt from those writes, as every other commit
 * the object makes does; the host would otherwise commit them itself, unseen by the cache.
 */
let beforeSend: () => void = () => {};
export function onBeforeSend(f: () => void): void {
  beforeSend = f;
}

/** The `wsEvent` entry: the host reports something that happened on socket `id`. */
export function wsEvent(id: number, type: string, a: unknown, b: unknown): void {
  const ws = hostEnds.get(id);
  if (ws) internals.hostEvent(ws, type, a, b);
}

/** `new WebSocketRequestResponsePair(request, response)`: the auto-response of hibernatable sockets. */
export class WebSocketRequestResponsePair {
  readonly request: string;
  readonly response: string;
  constructor(request: unknown, response: unknown) {
    if (typeof request !== 'string' || typeof response !== 'string')
      throw new TypeError('WebSocketRequestResponsePair: request and response must be strings');
    this.request = request;
    this.response = response;
  }
}
