/**
 * Cloudflare Queues in wrangler config (https://developers.cloudflare.com/queues/configuration/configure-queues/):
 *
 *   [[queues.producers]]
 *   binding = "MY_QUEUE"        # env.MY_QUEUE.send(...)
 *   queue = "my-queue"
 *   delivery_delay = 0          # seconds every message of this producer waits (0 to 86400)
 *
 *   [[queues.consumers]]
 *   queue = "my-queue"          # this worker's queue() handler consumes it
 *   max_batch_size = 10         # 1 to 100
 *   max_batch_timeout = 5       # seconds to wait for a full batch (0 to 60)
 *   max_retries = 3             # 0 to 100
 *   dead_letter_queue = "my-dlq"
 *   retry_delay = 0             # seconds before a retried message is delivered again (0 to 86400)
 *   max_concurrency = 1         # batches of this queue in flight at once (1 to 250)
 */
import { ConfigError } from '../errors.ts';
import type { QueueConsumer, QueueProducerBinding } from '../types.ts';
import { BINDING_NAME, isTable } from './name.ts';

/** Cloudflare's queue names: letters, digits and dashes, at most 63. */
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const PRODUCER_KEYS = new Set(['binding', 'queue', 'delivery_delay']);
const CONSUMER_KEYS = new Set([
  'queue',
  'max_batch_size',
  'max_batch_timeout',
  'max_retries',
  'dead_letter_queue',
  'retry_delay',
  'max_concurrency',
  'type',
  'visibility_timeout_ms',
]);

function queueName(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || !QUEUE_NAME.test(v))
    throw new ConfigError(file, key, 'a queue name (letters, digits and dashes, at most 63)', v);
  return v;
}

function int(file: string, key: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(file, key, `a whole number from ${min} to ${max}`, v);
  return v;
}

function table(file: string, raw: unknown): Record<string, unknown> {
  if (!isTable(raw))
    throw new ConfigError(file, 'queues', 'a table { producers = [...], consumers = [...] }', raw);
  for (const k of Object.keys(raw))
    if (k !== 'producers' && k !== 'consumers')
      throw new ConfigError(file, `queues.${k}`, 'one of the known keys (producers, consumers)', k);
  return raw;
}

export function parseQueueProducers(file: string, raw: unknown): (QueueProducerBinding & { key: string })[] {
  if (raw === undefined) return [];
  const producers = table(file, raw).producers ?? [];
  if (!Array.isArray(producers))
    throw new ConfigError(file, 'queues.producers', 'an array of { binding, queue }', producers);
  return producers.map((p, i) => {
    const key = `queues.producers[${i}]`;
    if (!isTable(p)) throw new ConfigError(file, key, 'a table { binding = "NAME", queue = "name" }', p);
    for (const k of Object.keys(p))
      if (!PRODUCER_KEYS.has(k))
        throw new ConfigError(
          file,
          `${key}.${k}`,
          'one of the known keys (binding, queue, delivery_delay)',
          k,
        );
    if (typeof p.binding !== 'string' || !BINDING_NAME.test(p.binding))
      throw new ConfigError(file, `${key}.binding`, 'a JavaScript identifier', p.binding);
    return {
      key,
      binding: p.binding,
      queue: queueName(file, `${key}.queue`, p.queue),
      deliveryDelay: int(file, `${key}.delivery_delay`, p.delivery_delay, 0, 0, 86_400),
    };
  });
}

export function parseQueueConsumers(file: string, raw: unknown): QueueConsumer[] {
  if (raw === undefined) return [];
  const consumers = table(file, raw).consumers ?? [];
  if (!Array.isArray(consumers))
    throw new ConfigError(file, 'queues.consumers', 'an array of { queue, … }', consumers);
  const seen = new Set<string>();
  return consumers.map((c, i) => {
    const key = `queues.consumers[${i}]`;
    if (!isTable(c)) throw new ConfigError(file, key, 'a table { queue = "name", … }', c);
    for (const k of Object.keys(c))
      if (!CONSUMER_KEYS.has(k))
        throw new ConfigError(
          file,
          `${key}.${k}`,
          `one of the known keys (${[...CONSUMER_KEYS].join(', ')})`,
          k,
        );
    if (c.type !== undefined && c.type !== 'worker')
      throw new ConfigError(
        file,
        `${key}.type`,
        '"worker" (pull consumers over HTTP are not supported)',
        c.type,
      );
    const queue = queueName(file, `${key}.queue`, c.queue);
    if (seen.has(queue))
      throw new ConfigError(file, `${key}.queue`, 'a queue this worker does not consume twice', queue);
    seen.add(queue);
    const dlq =
      c.dead_letter_queue === undefined
        ? undefined
        : queueName(file, `${key}.dead_letter_queue`, c.dead_letter_queue);
    if (dlq === queue)
      throw new ConfigError(file, `${key}.dead_letter_queue`, 'another queue than the one consumed', dlq);
    return {
      queue,
      maxBatchSize: int(file, `${key}.max_batch_size`, c.max_batch_size, 10, 1, 100),
      maxBatchTimeout: int(file, `${key}.max_batch_timeout`, c.max_batch_timeout, 5, 0, 60),
      maxRetries: int(file, `${key}.max_retries`, c.max_retries, 3, 0, 100),
      retryDelay: int(file, `${key}.retry_delay`, c.retry_delay, 0, 0, 86_400),
      maxConcurrency: int(file, `${key}.max_concurrency`, c.max_concurrency, 1, 1, 250),
      ...(dlq ? { deadLetterQueue: dlq } : {}),
    };
  });
}
