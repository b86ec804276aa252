/**
 * Cloudflare Queues' consumer side in the isolate: the MessageBatch a `queue(batch, env, ctx)`
 * handler gets, its messages' `ack()`/`retry()` and the batch's `ackAll()`/`retryAll()`, whose
 * decisions go back to the host when `queue()` returns. In the prelude: the host cannot tell
 * before a worker's code runs whether it consumes a queue. The producer is ./queue.ts.
 */
import { TextDecoder } from '../encoding.ts';

/** As src/runtime/bindings/queue.ts (checked again on the host). */
const MAX_DELAY = 86_400;

export function delayOf(v: unknown, where: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELAY)
    throw new TypeError(`${where}: delaySeconds must be a whole number of seconds from 0 to ${MAX_DELAY}`);
  return v;
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
