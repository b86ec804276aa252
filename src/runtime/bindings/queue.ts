/**
 * Queues producers (`[[queues.producers]]`), host side: `send()` and `sendBatch()` put messages
 * on the queue store of the network (src/background/queues/), where the consumer's loop takes
 * them. The isolate side (src/runtime/isolate/bindings/queue.ts) serializes bodies by content
 * type and checks Cloudflare's limits; they are checked again here, since tenant code can call
 * the syscall with anything. Queue names belong to the account: another account's queue of
 * the same name is another queue.
 */
import { NamedError } from '../bridge/named-error.ts';
import type { HostBinding } from './types.ts';

/** Cloudflare's limits (https://developers.cloudflare.com/queues/platform/limits/). */
export const QUEUE_LIMITS = {
  messageBytes: 128_000,
  batchMessages: 100,
  batchBytes: 256_000,
  delaySeconds: 86_400,
} as const;

const TYPES = new Set(['json', 'text', 'bytes', 'v8']);

/** The store's name of a queue of an account. */
export const queueId = (account: string, queue: string) => `${account}/${queue}`;

export const queueBinding: HostBinding<'queue'> = {
  describe: () => ({ type: 'queue' }),
  connect: (b, wire) => ({
    send: async (_o, _ctx, [messages]) => {
      if (!Array.isArray(messages) || messages.length === 0 || messages.length > QUEUE_LIMITS.batchMessages)
        throw new NamedError(
          `Queue send failed: a batch holds 1 to ${QUEUE_LIMITS.batchMessages} messages`,
          'Error',
        );
      let total = 0;
      const out = messages.map((m) => {
        const { body, contentType, delaySeconds } = (m ?? {}) as Record<string, unknown>;
        if (!(body instanceof ArrayBuffer) || typeof contentType !== 'string' || !TYPES.has(contentType))
          throw new NamedError('invalid queue send call', 'TypeError');
        if (body.byteLength > QUEUE_LIMITS.messageBytes)
          throw new NamedError(
            `Queue send failed: message too large (${body.byteLength} bytes, limit 128 KB)`,
            'Error',
          );
        total += body.byteLength;
        const delay = typeof delaySeconds === 'number' ? delaySeconds : 0;
        if (!Number.isInteger(delay) || delay < 0 || delay > QUEUE_LIMITS.delaySeconds)
          throw new NamedError('invalid queue send call: delaySeconds', 'TypeError');
        // The host keeps a copy: the isolate's buffer is never kept (docs/runtime.md).
        return {
          body: new Uint8Array(body.slice(0)),
          contentType,
          delaySeconds: Math.max(delay, b.deliveryDelay),
        };
      });
      if (total > QUEUE_LIMITS.batchBytes)
        throw new NamedError(
          `Queue sendBatch failed: batch too large (${total} bytes, limit 256 KB)`,
          'Error',
        );
      const sink = wire.queues();
      if (!sink) throw new NamedError(`env.${b.binding}: this runtime has no queue store`, 'Error');
      await sink.send(queueId(wire.version.account, b.queue), out);
    },
  }),
};
