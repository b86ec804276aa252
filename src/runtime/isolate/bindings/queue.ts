/**
 * Cloudflare Queues (https://developers.cloudflare.com/queues/configuration/javascript-apis/),
 * in the isolate: the producer's `send(body, { contentType, delaySeconds })` and
 * `sendBatch(messages, { delaySeconds })`, bodies serialized by content type here and stored
 * on the host (../../bindings/queue.ts); and the consumer's MessageBatch, its messages'
 * `ack()`/`retry()` and the batch's `ackAll()`/`retryAll()`, whose decisions go back to the host
 * when `queue()` returns.
 *
 * Content types: "json" (the default), "text", "bytes". "v8" (structured clone) is refused with
 * an error saying so: Outpost does not serialize it yet.
 */
import { callBinding } from '../bridge.ts';
import { TextDecoder, TextEncoder } from '../encoding.ts';

/** As src/runtime/bindings/queue.ts (checked again on the host). */
const MAX_MESSAGE = 128_000;
const MAX_BATCH = 100;
const MAX_DELAY = 86_400;
const TYPES = ['json', 'text', 'bytes', 'v8'];

function delayOf(v: unknown, where: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELAY)
    throw new TypeError(`${where}: delaySeconds must be a whole number of seconds from 0 to ${MAX_DELAY}`);
  return v;
}

function serialize(body: unknown, contentType: unknown): { body: ArrayBuffer; contentType: string } {
  const type = contentType ?? 'json';
  if (typeof type !== 'string' || !TYPES.includes(type))
    throw new TypeError(
      `Queue send: contentType must be "json", "text", "bytes" or "v8", received ${String(type)}`,
    );
  let bytes: Uint8Array;
  if (type === 'v8')
    throw new TypeError(
      'Queue send: contentType "v8" is not supported by Outpost yet; use "json" (the default)',
    );
  if (type === 'text') {
    if (typeof body !== 'string') throw new TypeError('Queue send: a "text" message body must be a string');
    bytes = new TextEncoder().encode(body);
  } else if (type === 'bytes') {
    if (body instanceof ArrayBuffer) bytes = new Uint8Array(body.slice(0));
    else if (ArrayBuffer.isView(body))
      bytes = new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    else throw new TypeError('Queue send: a "bytes" message body must be an ArrayBuffer or a view of one');
  } else {
    const json = JSON.stringify(body);
    if (json === undefined) throw new TypeError('Queue send: the message body cannot be serialized as JSON');
    bytes = new TextEncoder().encode(json);
  }
  if (bytes.byteLength > MAX_MESSAGE)
    throw new TypeError(`Queue send: message too large (${bytes.byteLength} bytes, limit 128 KB)`);
  return { body: bytes.buffer as ArrayBuffer, contentType: type };
}

export class Queue {
  readonly #binding: string;

  constructor(binding: string) {
    this.#binding = binding;
  }

  async send(body: unknown, options?: { contentType?: unknown; delaySeconds?: unknown }): Promise<void> {
    const m = serialize(body, options?.contentType);
    await callBinding('queue', this.#binding, 'send', [
      { ...m, delaySeconds: delayOf(options?.delaySeconds, 'Queue send') },
    ] as never);
  }

  async sendBatch(messages: unknown, options?: { delaySeconds?: unknown }): Promise<void> {
    if (messages === null || typeof messages !== 'object' || !(Symbol.iterator in (messages as object)))
      throw new TypeError(
        'Queue sendBatch: messages must be an iterable of { body, contentType?, delaySeconds? }',
      );
    const list = [
      ...(messages as Iterable<{ body?: unknown; contentType?: unknown; delaySeconds?: unknown }>),
    ];
    if (list.length === 0 || list.length > MAX_BATCH)
      throw new TypeError(
        `Queue sendBatch: a batch holds 1 to ${MAX_BATCH} messages, received ${list.length}`,
      );
    const batchDelay = delayOf(options?.delaySeconds, 'Queue sendBatch');
    const out = list.map((m) => ({
      ...serialize(m?.body, m?.contentType),
      delaySeconds: m?.delaySeconds === undefined ? batchDelay : delayOf(m.delaySeconds, 'Queue sendBatch'),
    }));
    await callBinding('queue', this.#binding, 'send', out as never);
  }

  get [Symbol.toStringTag](): string {
    return 'Queue';
  }
}

/** A delivered message as the host hands it over. */
export interface DeliveredMessage {
  id: string;
  timestamp: number;
  body: ArrayBuffer;
  contentType: string;
  attempts: number;
}

/** What the consumer decided for each message (the first decision for a message wins). */
export interface BatchDecisions {
  acks: string[];
  retries: { id: string; delaySeconds: number | undefined }[];
}

function deserialize(m: DeliveredMessage): unknown {
  if (m.contentType === 'bytes') return m.body;
  const text = new TextDecoder().decode(m.body);
  return m.contentType === 'text' ? text : JSON.parse(text);
}

/**
 * The MessageBatch a `queue(batch, env, ctx)` handler gets, and `settle(failed)`: the decisions
 * once it has returned — messages nobody decided are acknowledged when it succeeded and retried
 * when it threw (https://developers.cloudflare.com/queues/configuration/batching-retries/).
 */
export function messageBatch(queue: string, delivered: DeliveredMessage[]) {
  const decided = new Map<string, { ack: true } | { ack: false; delaySeconds: number | undefined }>();
  const decide = (id: string, d: { ack: true } | { ack: false; delaySeconds: number | undefined }) => {
    if (!decided.has(id)) decided.set(id, d);
  };
  const retryDelay = (o: unknown) =>
    delayOf((o as { delaySeconds?: unknown } | undefined)?.delaySeconds, 'retry');
  const messages = Object.freeze(
    delivered.map((m) =>
      Object.freeze({
        id: m.id,
        timestamp: new Date(m.timestamp),
        body: deserialize(m),
        attempts: m.attempts,
        ack: () => decide(m.id, { ack: true }),
        retry: (o?: { delaySeconds?: number }) =>
          decide(m.id, {
            ack: false,
            delaySeconds: o?.delaySeconds === undefined ? undefined : retryDelay(o),
          }),
      }),
    ),
  );
  const batch = Object.freeze({
    queue,
    messages,
    ackAll: () => {
      for (const m of delivered) decide(m.id, { ack: true });
    },
    retryAll: (o?: { delaySeconds?: number }) => {
      const delaySeconds = o?.delaySeconds === undefined ? undefined : retryDelay(o);
      for (const m of delivered) decide(m.id, { ack: false, delaySeconds });
    },
  });
  const settle = (failed: boolean): BatchDecisions => {
    const out: BatchDecisions = { acks: [], retries: [] };
    for (const m of delivered) {
      const d =
        decided.get(m.id) ??
        (failed ? { ack: false as const, delaySeconds: undefined } : { ack: true as const });
      if (d.ack) out.acks.push(m.id);
      else out.retries.push({ id: m.id, delaySeconds: d.delaySeconds });
    }
    return out;
  };
  return { batch, settle };
}
