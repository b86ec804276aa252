/**
 * Cloudflare Queues on NATS JetStream, for a network spread over machines
 * (https://developers.cloudflare.com/queues/configuration/batching-retries/ for the semantics;
 * store.ts for attempts and max_retries).
 *
 * One stream, OUTPOST_QUEUES, work-queue retention (a message is deleted when acknowledged),
 * file storage. Each queue has two subjects and a durable pull consumer on each:
 *   outpost.queues.<q>.ready   — deliverable messages; consumer `r_<q>`, whose AckWait is the
 *     lease (visibility timeout): a batch is a pull of up to max_batch_size, JetStream gives a
 *     message to one pull at a time and redelivers it when AckWait passes unacknowledged (the
 *     consumer crashed). ack = +ACK (waited for); retry = -NAK with the delay; attempts are the
 *     delivery count JetStream keeps plus the `Outpost-Base` header (attempts before this copy).
 *   outpost.queues.<q>.delayed — messages sent with delaySeconds; consumer `d_<q>`.
 * nats-server 2.9 (Debian's) has no delayed delivery (scheduled messages came in 2.12), and a
 * delayed message must not count an attempt while it waits, so delayed sends go to their own
 * subject with an `Outpost-Due` header. Before each lease, nextReady and depth, the store pulls
 * that subject: a message that is due is republished to `ready` (Nats-Msg-Id `<id>.p`, so a
 * crash between the publish and the ack cannot make two copies) and acknowledged; one that is
 * not is NAKed with the remaining delay, so JetStream hands it back when it is due.
 * Dead-lettering publishes the message (same id, body, timestamp; Outpost-Base 0) to the DLQ's
 * ready subject, then TERMs the original. A send's Nats-Msg-Id is its message id.
 *
 * Pulls are no_wait requests made by hand: the client's fetch() waits at least 1 s when fewer
 * messages than asked for are there, and a lease must answer at once.
 *
 * What this store cannot know: leases and retry delays of other processes (or of a closed
 * store) are the server's alone. depth() counts them as ready and nextReady() answers "in a
 * second" for them (POLL_MS). ack() and retry() act on messages this store leased; ids it did
 * not lease are ignored (their lease runs out and they are delivered again: at-least-once).
 * AckWait is the consumer's, so leases of one queue with different leaseMs update it.
 */

import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers, streamExists } from '../../config/index.ts';
import { type QueueSendMessage, validateDelay, validateMaxRetries, validateSend } from './limits.ts';
import { deliveries, pullNoWait, token } from './nats-wire.ts';
import {
  checkLease,
  newMessageId,
  type QueueDepth,
  type QueueMessageRecord,
  type QueueRetryResult,
  type QueueSendOptions,
  type QueueStore,
} from './store.ts';

export interface NatsQueueStoreOptions {
  servers: string | string[];
  /** How long a request to JetStream may take, ms (default 5000). */
  timeoutMs?: number;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
  /** The clock for delays, ms (default Date.now). The lease itself is the server's AckWait. */
  now?: () => number;
}

const STREAM = 'OUTPOST_QUEUES';
/** When nextReady cannot know (another process's lease), look again after this long. */
const POLL_MS = 1000;

interface Leased {
  reply: string;
  attempts: number;
  /** Kept to dead-letter it. */
  record: QueueMessageRecord;
  /** When the lease ends. */
  until: number;
}

interface Tracked {
  /** Messages this store leased: id → lease. */
  leased: Map<string, Leased>;
  /** Messages this store retried with a delay: id → when due. */
  retried: Map<string, number>;
  /** Delayed sends this store NAKed until due: id → when due. */
  delayed: Map<string, number>;
  /** The AckWait the ready consumer has, ms. */
  ackWaitMs: number;
}

export class NatsQueueStore implements QueueStore {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #queues = new Map<string, Promise<Tracked>>();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, options: NatsQueueStoreOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#js = jetstream(nc, { timeout: this.#timeoutMs });
    this.#now = options.now ?? Date.now;
  }

  static async connect(options: NatsQueueStoreOptions): Promise<NatsQueueStore> {
    const nc = await connect({ servers: natsServers(options.servers) });
    try {
      const jsm = await jetstreamManager(nc, {
        timeout: Math.max(options.timeoutMs ?? 5000, NATS_CREATE_TIMEOUT_MS),
      });
      await jetStreamSetup('the Queues stream', async () => {
        if (await streamExists(jsm, STREAM)) return;
        await jsm.streams
          .add({
            name: STREAM,
            subjects: ['outpost.queues.>'],
            retention: RetentionPolicy.Workqueue,
            storage: StorageType.File,
            duplicate_window: 120_000_000_000,
            num_replicas: options.replicas ?? 1,
          })
          .catch(async (err) => {
            // Another process made it meanwhile (processes start together): use theirs.
            if (!(await streamExists(jsm, STREAM))) throw err;
          });
      });
      return new NatsQueueStore(nc, jsm, options);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  /** The queue's consumers, made on first use; the ready consumer's AckWait set to leaseMs. */
  #queue(queue: string, leaseMs?: number): Promise<Tracked> {
    let p = this.#queues.get(queue);
    if (!p) {
      p = (async () => {
        const t = token(queue);
        let ackWaitMs = 0;
        for (const [kind, ackMs] of [
          ['r', leaseMs ?? 30_000],
          ['d', 30_000],
        ] as const) {
          const name = `${kind}_${t}`;
          try {
            const info = await this.#jsm.consumers.info(STREAM, name);
            if (kind === 'r') ackWaitMs = (info.config.ack_wait ?? 0) / 1e6;
          } catch {
            await this.#jsm.consumers.add(STREAM, {
              durable_name: name,
              filter_subject: `outpost.queues.${t}.${kind === 'r' ? 'ready' : 'delayed'}`,
              ack_policy: AckPolicy.Explicit,
              deliver_policy: DeliverPolicy.All,
              ack_wait: Math.round(ackMs * 1e6),
              max_deliver: -1,
              max_ack_pending: -1,
            });
            if (kind === 'r') ackWaitMs = ackMs;
          }
        }
        return { leased: new Map(), retried: new Map(), delayed: new Map(), ackWaitMs };
      })();
      this.#queues.set(queue, p);
      p.catch(() => this.#queues.delete(queue));
    }
    return p.then(async (q) => {
      if (leaseMs !== undefined && Math.abs(q.ackWaitMs - leaseMs) > 0.5) {
        await this.#jsm.consumers.update(STREAM, `r_${token(queue)}`, {
          ack_wait: Math.round(leaseMs * 1e6),
        });
        q.ackWaitMs = leaseMs;
      }
      return q;
    });
  }

  #publish(subject: string, id: string, msgId: string, h: Record<string, string>, body: Uint8Array) {
    const hdrs = headers();
    hdrs.set('Outpost-Id', id);
    for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
    return this.#js.publish(subject, body, { msgID: msgId, headers: hdrs });
  }

  /** Move due delayed sends to ready; NAK the rest until they are due. */
  async #promote(queue: string, q: Tracked): Promise<void> {
    const t = token(queue);
    for (;;) {
      const msgs = await pullNoWait(this.#nc, STREAM, `d_${t}`, 100, this.#timeoutMs);
      const now = this.#now();
      await Promise.all(
        msgs.map(async (m) => {
          const h = m.headers;
          const id = h?.get('Outpost-Id') ?? '';
          const due = Number(h?.get('Outpost-Due'));
          if (due > now) {
            q.delayed.set(id, due);
            m.respond(`-NAK ${JSON.stringify({ delay: Math.ceil((due - now) * 1e6) })}`);
            return;
          }
          await this.#publish(
            `outpost.queues.${t}.ready`,
            id,
            `${id}.p`,
            {
              'Outpost-Ts': h?.get('Outpost-Ts') ?? '0',
              'Outpost-Type': h?.get('Outpost-Type') ?? 'v8',
              'Outpost-Base': h?.get('Outpost-Base') ?? '0',
            },
            m.data,
          );
          q.delayed.delete(id);
          await this.#nc.request(m.reply ?? '', '+ACK', { timeout: this.#timeoutMs });
        }),
      );
      if (msgs.length < 100) break;
    }
    await this.#nc.flush();
  }

  async send(queue: string, messages: QueueSendMessage[], options: QueueSendOptions = {}): Promise<void> {
    validateSend(messages, options.kind);
    await this.#queue(queue);
    const t = token(queue);
    const now = this.#now();
    await Promise.all(
      messages.map((m) => {
        const id = newMessageId();
        const delay = m.delaySeconds ?? 0;
        const h: Record<string, string> = {
          'Outpost-Ts': String(now),
          'Outpost-Type': m.contentType,
          'Outpost-Base': '0',
        };
        if (delay > 0) h['Outpost-Due'] = String(now + delay * 1000);
        return this.#publish(`outpost.queues.${t}.${delay > 0 ? 'delayed' : 'ready'}`, id, id, h, m.body);
      }),
    );
  }

  async lease(queue: string, max: number, leaseMs: number): Promise<QueueMessageRecord[]> {
    checkLease(max, leaseMs);
    const q = await this.#queue(queue, leaseMs);
    await this.#promote(queue, q);
    const msgs = await pullNoWait(this.#nc, STREAM, `r_${token(queue)}`, max, this.#timeoutMs);
    const until = this.#now() + leaseMs;
    return msgs.map((m) => {
      const h = m.headers;
      const id = h?.get('Outpost-Id') ?? '';
      const attempts = Number(h?.get('Outpost-Base') ?? 0) + deliveries(m.reply ?? '');
      const record: QueueMessageRecord = {
        id,
        queue,
        body: m.data,
        contentType: h?.get('Outpost-Type') ?? 'v8',
        timestamp: Number(h?.get('Outpost-Ts') ?? 0),
        attempts,
      };
      q.leased.set(id, { reply: m.reply ?? '', attempts, record, until });
      q.retried.delete(id);
      return record;
    });
  }

  async ack(queue: string, ids: string[]): Promise<void> {
    const q = await this.#queue(queue);
    await Promise.all(
      ids.map(async (id) => {
        const l = q.leased.get(id);
        if (!l) return;
        await this.#nc.request(l.reply, '+ACK', { timeout: this.#timeoutMs });
        q.leased.delete(id);
      }),
    );
  }

  async retry(
    queue: string,
    ids: string[],
    delaySeconds: number,
    maxRetries: number,
    deadLetterQueue?: string,
  ): Promise<QueueRetryResult> {
    const delay = validateDelay(delaySeconds);
    validateMaxRetries(maxRetries);
    const q = await this.#queue(queue);
    const out: QueueRetryResult = { retried: [], deadLettered: [], dropped: [] };
    const dlq = deadLetterQueue === undefined ? undefined : token(deadLetterQueue);
    if (deadLetterQueue !== undefined) await this.#queue(deadLetterQueue);
    for (const id of ids) {
      const l = q.leased.get(id);
      if (!l) continue;
      q.leased.delete(id);
      if (l.attempts <= maxRetries) {
        this.#nc.publish(l.reply, delay > 0 ? `-NAK ${JSON.stringify({ delay: delay * 1e9 })}` : '-NAK');
        if (delay > 0) q.retried.set(id, this.#now() + delay * 1000);
        out.retried.push(id);
        continue;
      }
      if (dlq !== undefined) {
        const r = l.record;
        await this.#publish(
          `outpost.queues.${dlq}.ready`,
          id,
          `${id}.dlq.${dlq}`,
          { 'Outpost-Ts': String(r.timestamp), 'Outpost-Type': r.contentType, 'Outpost-Base': '0' },
          r.body,
        );
      }
      out[dlq === undefined ? 'dropped' : 'deadLettered'].push(id);
      this.#nc.publish(l.reply, '+TERM');
    }
    await this.#nc.flush();
    return out;
  }

  async nextReady(queue: string): Promise<number | null> {
    const q = await this.#queue(queue);
    await this.#promote(queue, q);
    const c = await this.#counts(queue, q);
    if (c.readyTotal + c.delayedTotal === 0) return null;
    const now = this.#now();
    if (c.ready > 0) return now;
    let next = Number.POSITIVE_INFINITY;
    for (const l of q.leased.values()) next = Math.min(next, l.until);
    for (const d of q.retried.values()) next = Math.min(next, d);
    for (const d of q.delayed.values()) next = Math.min(next, d);
    const known = q.leased.size + q.retried.size + q.delayed.size;
    if (known < c.readyTotal + c.delayedTotal) next = Math.min(next, now + POLL_MS);
    return next;
  }

  async depth(queue: string): Promise<QueueDepth> {
    const q = await this.#queue(queue);
    await this.#promote(queue, q);
    const c = await this.#counts(queue, q);
    return { ready: c.ready, delayed: c.delayedTotal + c.retried, leased: c.leased };
  }

  /** Messages on each subject, and what this store knows of the ready ones. */
  async #counts(queue: string, q: Tracked) {
    const t = token(queue);
    const info = await this.#jsm.streams.info(STREAM, { subjects_filter: `outpost.queues.${t}.>` });
    const subjects = info.state.subjects ?? {};
    const readyTotal = subjects[`outpost.queues.${t}.ready`] ?? 0;
    const delayedTotal = subjects[`outpost.queues.${t}.delayed`] ?? 0;
    const now = this.#now();
    for (const [id, l] of q.leased) if (l.until <= now) q.leased.delete(id);
    for (const [id, d] of q.retried) if (d <= now) q.retried.delete(id);
    for (const [id, d] of q.delayed) if (d <= now) q.delayed.delete(id);
    const leased = q.leased.size;
    const retried = q.retried.size;
    return { readyTotal, delayedTotal, leased, retried, ready: Math.max(0, readyTotal - leased - retried) };
  }

  async close(): Promise<void> {
    if (!this.#nc.isClosed()) await this.#nc.close();
  }
}
