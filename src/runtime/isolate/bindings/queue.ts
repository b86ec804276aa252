/**
 * Cloudflare Queues (https://developers.cloudflare.com/queues/configuration/javascript-apis/),
 * in the isolate, the producer: `send(body, { contentType, delaySeconds })` and
 * `sendBatch(messages, { delaySeconds })`, bodies serialized by content type here and stored
 * on the host (../../bindings/queue.ts). A part of the prelude (../parts/queue.ts), loaded by a
 * worker with a queue binding; the consumer's MessageBatch is ./queue-batch.ts.
 *
 * Content types: "json" (the default), "text", "bytes". "v8" (structured clone) is refused with
 * an error saying so: Outpost does not serialize it yet.
 */
import { callBinding } from '../bridge.ts';
import { TextEncoder } from '../encoding.ts';
import { delayOf } from './queue-batch.ts';

/** As src/runtime/bindings/queue.ts (checked again on the host). */
const MAX_MESSAGE = 128_000;
const MAX_BATCH = 100;
const TYPES = ['json', 'text', 'bytes', 'v8'];

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
