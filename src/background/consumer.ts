/**
 * A queue's consumer (`[[queues.consumers]]`): takes batches from the queue store and hands
 * each to the worker's `queue(batch, env, ctx)`, then acknowledges or retries every message as
 * the handler decided (https://developers.cloudflare.com/queues/configuration/batching-retries/).
 *
 * - A batch goes out when `max_batch_size` messages are deliverable, or when the first of
 *   fewer has waited `max_batch_timeout` seconds.
 * - Each batch is leased: while the handler runs no other batch holds its messages; a process
 *   killed mid-batch leaves them to be delivered again when the lease expires (at-least-once).
 * - A handler that throws (or breaches a limit) retries every message it did not acknowledge;
 *   retries wait `retry_delay` (or the delay the handler gave); past `max_retries` a message
 *   goes to the dead-letter queue, or is dropped (logged) without one.
 * - At most `max_concurrency` batches of the queue are with the worker at once.
 * One consumer per queue for the whole network, so a message is with one invocation at a time.
 */
import type { QueueConsumer } from '../config/index.ts';
import type { QueueMessageRecord, QueueStore } from './queues/index.ts';

/** What the worker's queue() decided (src/runtime/isolate/bindings/queue.ts). */
export interface BatchOutcome {
  acks: string[];
  retries: { id: string; delaySeconds: number | undefined }[];
  /** The handler threw: its message. */
  error?: string;
}

/**
 * A leased batch as the isolate's queue() takes it: each body copied into a fresh ArrayBuffer
 * (the store's bytes are never handed to an isolate).
 */
export function deliveredBatch(queue: string, batch: QueueMessageRecord[]) {
  return {
    queue,
    messages: batch.map((m) => {
      const body = new ArrayBuffer(m.body.byteLength);
      new Uint8Array(body).set(m.body);
      return { id: m.id, timestamp: m.timestamp, body, contentType: m.contentType, attempts: m.attempts };
    }),
  };
}

export interface ConsumerOptions {
  store: QueueStore;
  /** The queue's id in the store, and its dead-letter queue's. */
  queue: string;
  deadLetterQueue?: string;
  config: QueueConsumer;
  /** Runs the worker's queue() with this batch. Throws when the invocation itself failed. */
  deliver(messages: QueueMessageRecord[]): Promise<BatchOutcome>;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Messages were moved to this queue (its dead-letter queue): its consumer may look now. */
  notify?(queue: string): void;
  /** How long a batch is leased, ms (default 5 minutes: longer than any invocation's wall limit). */
  leaseMs?: number;
  /** How long a message is kept, ms (default 4 days, Cloudflare's default retention). */
  retentionMs?: number;
  /** The clock for retention, ms (default Date.now). */
  now?: () => number;
}

/** How soon a consumer looks again at a message due by its clock that the store did not count yet, ms. */
const DUE_RECHECK_MS = 10;

/** Cloudflare's default message retention period: 4 days. */
export const RETENTION_MS = 4 * 86_400_000;

export class QueueConsumerLoop {
  readonly #o: ConsumerOptions;
  #running = false;
  #wake: (() => void) | null = null;
  /** A wake() that came while the loop was not asleep: it looks again instead of sleeping. */
  #kicked = false;
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | null = null;
  /** When fewer than a full batch became deliverable (the batch timeout runs from there). */
  #firstReadyAt: number | null = null;

  constructor(options: ConsumerOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run().catch((err) =>
      this.#o.log('error', `queue ${this.#o.config.queue}: the consumer stopped: ${(err as Error).message}`),
    );
  }

  /** Something was sent: look again now. */
  wake(): void {
    const w = this.#wake;
    this.#wake = null;
    if (w) w();
    else this.#kicked = true;
  }

  async close(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(): Promise<void> {
    const { store, queue, config } = this.#o;
    while (this.#running) {
      if (this.#inFlight.size >= config.maxConcurrency) {
        await Promise.race(this.#inFlight);
        continue;
      }
      const depth = await store.depth(queue);
      const now = Date.now();
      if (depth.ready > 0) this.#firstReadyAt ??= now;
      const full = depth.ready >= config.maxBatchSize;
      const waited = this.#firstReadyAt !== null && now - this.#firstReadyAt >= config.maxBatchTimeout * 1000;
      if (full || (depth.ready > 0 && waited)) {
        const batch = await store.lease(queue, config.maxBatchSize, this.#o.leaseMs ?? 300_000);
        this.#firstReadyAt = null;
        if (batch.length) {
          const p = this.#handle(batch).finally(() => this.#inFlight.delete(p));
          this.#inFlight.add(p);
        }
        continue;
      }
      // Sleep until the batch timeout, the next delayed message, or a send, whichever is first.
      const next = await store.nextReady(queue);
      let until = Number.POSITIVE_INFINITY;
      if (this.#firstReadyAt !== null) until = this.#firstReadyAt + config.maxBatchTimeout * 1000;
      if (next !== null && next > now) until = Math.min(until, next);
      // Due by now, yet not counted ready: the store read its clock before this loop did (or its
      // clock is behind). Look again shortly; sleeping until a send could be a minute (found by
      // a CI run: a delayed message due just as the consumer woke waited out the sleep).
      else if (next !== null && depth.ready === 0) until = Math.min(until, now + DUE_RECHECK_MS);
      await this.#sleep(Number.isFinite(until) ? Math.max(1, until - Date.now()) : 60_000);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#kicked) {
      this.#kicked = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
      this.#timer = setTimeout(done, ms);
      this.#timer.unref();
    });
  }

  async #handle(all: QueueMessageRecord[]): Promise<void> {
    const { store, queue, config } = this.#o;
    // Past the retention period (Cloudflare's default, 4 days): deleted, not delivered.
    const cutoff = (this.#o.now?.() ?? Date.now()) - (this.#o.retentionMs ?? RETENTION_MS);
    const expired = all.filter((m) => m.timestamp < cutoff);
    if (expired.length) {
      await store.ack(
        queue,
        expired.map((m) => m.id),
      );
      this.#o.log(
        'warn',
        `queue ${config.queue}: ${expired.length} message(s) older than the retention period deleted`,
      );
    }
    const leased = expired.length ? all.filter((m) => m.timestamp >= cutoff) : all;
    // A message leased more than max_retries + 1 times whose leases ran out (its consumer's
    // process died each time) is not delivered again: it goes where a retried one would.
    const spent = leased.filter((m) => m.attempts > config.maxRetries + 1);
    if (spent.length)
      await this.#retry(
        spent.map((m) => m.id),
        0,
      );
    const batch = spent.length ? leased.filter((m) => m.attempts <= config.maxRetries + 1) : leased;
    if (batch.length === 0) return;
    let outcome: BatchOutcome;
    try {
      outcome = sanitize(await this.#o.deliver(batch), batch);
    } catch (err) {
      // The invocation failed (a limit, a script that does not load): every message is retried.
      outcome = {
        acks: [],
        retries: batch.map((m) => ({ id: m.id, delaySeconds: undefined })),
        error: (err as Error).message,
      };
    }
    if (outcome.error)
      this.#o.log(
        'error',
        `queue ${config.queue}: queue() failed on a batch of ${batch.length}: ${outcome.error}`,
      );
    if (outcome.acks.length) await store.ack(queue, outcome.acks);
    // Retries grouped by delay (the handler's, else the consumer's retry_delay).
    const byDelay = new Map<number, string[]>();
    for (const r of outcome.retries) {
      const d = r.delaySeconds ?? config.retryDelay;
      byDelay.set(d, [...(byDelay.get(d) ?? []), r.id]);
    }
    for (const [delay, ids] of byDelay) await this.#retry(ids, delay);
  }

  async #retry(ids: string[], delay: number): Promise<void> {
    const { store, queue, config } = this.#o;
    const r = await store.retry(queue, ids, delay, config.maxRetries, this.#o.deadLetterQueue);
    if (r.deadLettered.length) {
      this.#o.log(
        'warn',
        `queue ${config.queue}: ${r.deadLettered.length} message(s) moved to ${config.deadLetterQueue}`,
      );
      if (this.#o.deadLetterQueue) this.#o.notify?.(this.#o.deadLetterQueue);
    }
    if (r.dropped.length)
      this.#o.log(
        'warn',
        `queue ${config.queue}: ${r.dropped.length} message(s) dropped after ${config.maxRetries} retries (no dead_letter_queue)`,
      );
  }
}

/**
 * The decisions as the host acts on them: what the isolate returned is tenant-reachable data, so
 * only ids of this batch count (each once, an ack winning over nothing else, the first decision
 * kept), delays are whole seconds within Cloudflare's 24 h, and a message with no valid decision
 * is retried.
 */
function sanitize(raw: BatchOutcome, batch: QueueMessageRecord[]): BatchOutcome {
  const ids = new Set(batch.map((m) => m.id));
  const decided = new Set<string>();
  const out: BatchOutcome = { acks: [], retries: [] };
  const o = (raw ?? {}) as Partial<BatchOutcome>;
  for (const id of Array.isArray(o.acks) ? o.acks : [])
    if (typeof id === 'string' && ids.has(id) && !decided.has(id)) {
      decided.add(id);
      out.acks.push(id);
    }
  for (const r of Array.isArray(o.retries) ? o.retries : []) {
    const id = (r as { id?: unknown })?.id;
    if (typeof id !== 'string' || !ids.has(id) || decided.has(id)) continue;
    decided.add(id);
    const d = (r as { delaySeconds?: unknown }).delaySeconds;
    const delaySeconds =
      typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 86_400 ? d : undefined;
    out.retries.push({ id, delaySeconds });
  }
  for (const id of ids) if (!decided.has(id)) out.retries.push({ id, delaySeconds: undefined });
  if (typeof o.error === 'string') out.error = o.error.slice(0, 2000);
  return out;
}
