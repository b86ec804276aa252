/**
 * Hibernatable WebSockets of one Durable Object
 * (https://developers.cloudflare.com/durable-objects/best-practices/websockets/): the client
 * connections the object accepted with `ctx.acceptWebSocket()`, held here, outside the object's
 * isolate, so the object can be evicted while they stay open. Each event wakes the object if
 * it is not in memory (its constructor runs again, the sockets are handed back with their tags
 * and attachments) and is delivered to `webSocketMessage`/`webSocketClose`/`webSocketError`.
 * A message equal to the auto-response request is answered here without waking the object.
 */
import { serialize } from 'node:v8';
import type { WebSocket } from 'ws';
import { ObjectError } from './errors.ts';

/** What the isolate is handed on wake-up: [id, tags, attachment]. */
export type RestoredSocket = [number, string[], unknown];

interface Held {
  socket: WebSocket | null;
  tags: string[];
  attachment: unknown;
  autoResponseAt: number | null;
}

/** Back-pressure for client WebSockets whose messages enter an isolate (src/runtime/bridge/inflow.ts). */
export interface SocketFlow {
  track(socket: WebSocket, bytes: number, delivered: Promise<unknown>): void;
  forget(socket: WebSocket): void;
}

export const HIBERNATION_LIMITS = {
  MAX_SOCKETS: 32_768,
  MAX_TAGS: 10,
  MAX_TAG_LENGTH: 256,
  MAX_ATTACHMENT: 2048,
};

export class HibernationSet {
  readonly #held = new Map<number, Held>();
  #auto: { request: string; response: string } | null = null;

  constructor(
    /** Deliver an event to the object (waking it); resolves when its handler has run. */
    readonly deliver: (
      id: number,
      type: 'message' | 'close' | 'error',
      a?: unknown,
      b?: unknown,
    ) => Promise<void>,
    readonly onError: (err: Error) => void,
    /** Back-pressure: a socket sending faster than the object handles its messages pauses. */
    private readonly inflow: SocketFlow,
  ) {}

  get size(): number {
    return this.#held.size;
  }

  /** The object accepted end `id` for hibernation (its client is connected by attach()). */
  reserve(id: unknown, tags: unknown, attachment: unknown): void {
    if (typeof id !== 'number' || this.#held.has(id))
      throw new ObjectError('invalid WebSocket id', 'TypeError');
    if (this.#held.size >= HIBERNATION_LIMITS.MAX_SOCKETS)
      throw new ObjectError(
        `too many hibernatable WebSockets (limit ${HIBERNATION_LIMITS.MAX_SOCKETS})`,
        'Error',
      );
    if (!isTagList(tags)) throw new ObjectError('invalid tags', 'TypeError');
    this.#held.set(id, {
      socket: null,
      tags: tags as string[],
      attachment: checkAttachment(attachment),
      autoResponseAt: null,
    });
  }

  reserved(id: number): boolean {
    return this.#held.get(id)?.socket === null;
  }

  has(id: unknown): boolean {
    return typeof id === 'number' && this.#held.has(id);
  }

  attach(id: number, socket: WebSocket): void {
    const h = this.#held.get(id);
    if (!h) return void socket.close(1011, 'the WebSocket is gone');
    h.socket = socket;
    // Events of one socket reach the object in order; a socket that sends faster than the
    // object handles its messages pauses (the runtime's SocketFlow).
    let chain = Promise.resolve();
    const send = (type: 'message' | 'close' | 'error', a?: unknown, b?: unknown) => {
      chain = chain.then(() => this.deliver(id, type, a, b)).catch(this.onError);
      return chain;
    };
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text !== null && this.#auto && text === this.#auto.request) {
        socket.send(this.#auto.response);
        h.autoResponseAt = Date.now();
        return;
      }
      if (text !== null) return this.inflow.track(socket, text.length * 2, send('message', text));
      const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.inflow.track(
        socket,
        b.byteLength,
        send('message', b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)),
      );
    });
    socket.on('close', (code, reason) => {
      this.inflow.forget(socket);
      send('close', code === 1005 ? 1005 : code, reason.toString());
      chain = chain.then(() => void this.#held.delete(id));
    });
    socket.on('error', (err) => send('error', err.message));
  }

  send(id: unknown, data: unknown): void {
    const s = typeof id === 'number' ? this.#held.get(id)?.socket : null;
    if (!s || s.readyState !== s.OPEN) return;
    if (typeof data === 'string') s.send(data);
    else if (data instanceof ArrayBuffer) s.send(new Uint8Array(data));
    else throw new ObjectError('WebSocket data must be a string or bytes', 'TypeError');
  }

  close(id: unknown, code: unknown, reason: unknown): void {
    const s = typeof id === 'number' ? this.#held.get(id)?.socket : null;
    s?.close(typeof code === 'number' ? code : 1000, typeof reason === 'string' ? reason : '');
  }

  setAttachment(id: unknown, value: unknown): void {
    const h = typeof id === 'number' ? this.#held.get(id) : undefined;
    if (h) h.attachment = checkAttachment(value);
  }

  setAutoResponse(request: unknown, response: unknown): void {
    if (request === null) this.#auto = null;
    else if (typeof request === 'string' && typeof response === 'string') this.#auto = { request, response };
    else
      throw new ObjectError('setWebSocketAutoResponse(): request and response must be strings', 'TypeError');
  }

  autoResponseAt(id: unknown): number | null {
    return (typeof id === 'number' && this.#held.get(id)?.autoResponseAt) || null;
  }

  /** What a new isolate of the object gets back: every connected socket. */
  restore(): RestoredSocket[] {
    return [...this.#held].filter(([, h]) => h.socket).map(([id, h]) => [id, h.tags, h.attachment]);
  }

  closeAll(reason: string): void {
    for (const h of this.#held.values()) h.socket?.close(1001, reason);
    this.#held.clear();
  }
}

/** At most MAX_TAGS strings (an array from the isolate may claim any length: walk no further). */
function isTagList(v: unknown): v is string[] {
  if (!Array.isArray(v) || v.length > HIBERNATION_LIMITS.MAX_TAGS) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

function checkAttachment(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const size = serialize(value).byteLength;
  if (size > HIBERNATION_LIMITS.MAX_ATTACHMENT)
    throw new ObjectError(
      `A WebSocket attachment cannot be larger than ${HIBERNATION_LIMITS.MAX_ATTACHMENT} bytes (this one: ${size})`,
      'Error',
    );
  return value;
}
