/**
 * Analytics Engine over NATS JetStream, for a network spread over machines (`--nats`): data
 * points go to one JetStream stream, and every process applies the stream, in order, to its own
 * SQLite file (../store.ts `apply`), which answers its queries — so a query on any machine sees
 * the points written on every machine, a few milliseconds after they were written.
 *
 *   stream OUTPOST_ANALYTICS, subject outpost.analytics, file storage, max_age = retention days
 *   message: JSON [[account, dataset, timestamp, index1, [blobs…], [doubles…]], …] (trailing ''
 *            blobs and 0 doubles left out), at most ~512 KB (NATS's default payload cap is 1 MB)
 *
 * Publishing: the points of a flush are cut into messages, each with a message id, queued here
 * and sent in order; a message that fails (NATS unreachable, no acknowledgement in time) is sent
 * again with the same id later, and JetStream's duplicate window drops the copy if the first got
 * through after all. While NATS is down the queue holds up to MAX_QUEUED_BYTES; older messages
 * are dropped past that, with one warning. Reading: an ordered consumer from the sequence after
 * the last one the file holds; the file records each message's sequence with its points, so a
 * restart neither loses nor repeats any, and a new file is built from the whole stream.
 */

import { randomUUID } from 'node:crypto';
import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers } from '../config/index.ts';
import { AE_LIMITS } from './limits.ts';
import type { AnalyticsEngine, AnalyticsLog, StoredPoint } from './store.ts';

export const STREAM = 'OUTPOST_ANALYTICS';
export const SUBJECT = 'outpost.analytics';
const MAX_MESSAGE_BYTES = 512 * 1024;
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

type Wire = [string, string, number, string, string[], (number | null)[]];

function trimmed<T>(list: T[], empty: T): T[] {
  let n = list.length;
  while (n > 0 && list[n - 1] === empty) n--;
  return list.slice(0, n);
}

function encode(p: StoredPoint): string {
  const w: Wire = [
    p.account,
    p.dataset,
    p.timestamp,
    p.row.index1,
    trimmed(p.row.blobs, ''),
    trimmed(p.row.doubles, 0),
  ];
  return JSON.stringify(w);
}

/** A message's points; a malformed one (not written by Outpost) is an error naming it. */
export function decode(data: Uint8Array): StoredPoint[] {
  const list = JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
  if (!Array.isArray(list))
    throw new Error('Analytics Engine: a message of the stream is not a list of points');
  return list.map((w: Wire) => {
    if (
      !Array.isArray(w) ||
      w.length !== 6 ||
      typeof w[0] !== 'string' ||
      typeof w[1] !== 'string' ||
      typeof w[2] !== 'number' ||
      !Array.isArray(w[4]) ||
      !Array.isArray(w[5])
    )
      throw new Error('Analytics Engine: a message of the stream holds a malformed point');
    const blobs = [...w[4].map(String)];
    const doubles = [...w[5]];
    while (blobs.length < AE_LIMITS.MAX_BLOBS) blobs.push('');
    while (doubles.length < AE_LIMITS.MAX_DOUBLES) doubles.push(0);
    return { account: w[0], dataset: w[1], timestamp: w[2], row: { index1: String(w[3]), blobs, doubles } };
  });
}

/** Points cut into messages of at most MAX_MESSAGE_BYTES (a point alone is ~16 KB at most). */
function messages(points: StoredPoint[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let size = 2;
  for (const p of points) {
    const e = encode(p);
    const bytes = Buffer.byteLength(e) + 1;
    if (cur.length && size + bytes > MAX_MESSAGE_BYTES) {
      out.push(`[${cur.join(',')}]`);
      cur = [];
      size = 2;
    }
    cur.push(e);
    size += bytes;
  }
  if (cur.length) out.push(`[${cur.join(',')}]`);
  return out;
}

async function ensureStream(jsm: JetStreamManager, retentionDays: number, replicas: number): Promise<void> {
  const config = {
    name: STREAM,
    subjects: [SUBJECT],
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(retentionDays * 86400_000),
  };
  let current: number;
  try {
    current = (await jsm.streams.info(STREAM)).config.max_age;
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    try {
      await jsm.streams.add(config);
      return;
    } catch (e) {
      // Another process made it meanwhile (nodes start together): use theirs.
      if (!/already in use/i.test(String((e as Error).message))) throw e;
      current = (await jsm.streams.info(STREAM)).config.max_age;
    }
  }
  // Only a changed retention is written: an update while a replicated stream is still being
  // placed stalled its creation on a three-server cluster.
  if (current !== config.max_age) await jsm.streams.update(STREAM, { max_age: config.max_age });
}

export interface NatsAnalyticsOptions {
  servers: string | string[];
  engine: AnalyticsEngine;
  /** How long a publish waits for JetStream's acknowledgement, ms (default 3000). */
  timeoutMs?: number;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
  /** A failure (publishing, or a message the stream holds that cannot be applied). */
  onError?: (err: Error) => void;
}

export class NatsAnalyticsLog implements AnalyticsLog {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #timeoutMs: number;
  readonly #onError: (err: Error) => void;
  #queue: { id: string; data: string }[] = [];
  #queuedBytes = 0;
  #acked = 0;
  #pumping: Promise<void> | null = null;
  #messages: ConsumerMessages | null = null;
  #reading: Promise<void> = Promise.resolve();
  #failing = false;
  #dropped = 0;
  #closed = false;

  /** Whether its NATS connection is open (the metrics' outpost_nats_connected). */
  get connected(): boolean {
    return !this.#nc.isClosed();
  }

  private constructor(nc: NatsConnection, o: NatsAnalyticsOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#timeoutMs = o.timeoutMs ?? 3000;
    this.#onError = o.onError ?? (() => {});
  }

  /** Connect, make the stream if it is not there, and apply it to `engine` from where it stopped. */
  static async connect(o: NatsAnalyticsOptions): Promise<NatsAnalyticsLog> {
    const nc = await connect({ servers: natsServers(o.servers), name: 'outpost-analytics' });
    try {
      const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const { state } = await jetStreamSetup('the Analytics Engine stream', async () => {
        await ensureStream(jsm, o.engine.retentionDays, o.replicas ?? 1);
        return jsm.streams.info(STREAM);
      });
      const log = new NatsAnalyticsLog(nc, o);
      let from = o.engine.appliedSeq + 1;
      if (o.engine.appliedSeq > state.last_seq) {
        // The file was applied from a stream that is gone: this one starts over.
        o.onError?.(
          new Error(
            `Analytics Engine: the stream ${STREAM} is newer than this file (sequence ${state.last_seq} < ${o.engine.appliedSeq}); applying it from its start`,
          ),
        );
        o.engine.apply([], 0);
        from = 1;
      }
      const consumer = await log.#js.consumers.get(STREAM, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      log.#messages = await consumer.consume();
      log.#reading = log.#read(log.#messages, o.engine);
      o.engine.attachLog(log);
      return log;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  async #read(messages: ConsumerMessages, engine: AnalyticsEngine): Promise<void> {
    try {
      for await (const m of messages) {
        try {
          engine.apply(decode(m.data), m.seq);
        } catch (err) {
          // Skipped, not retried: a message that cannot be read now never will be.
          this.#onError(
            new Error(`Analytics Engine: message ${m.seq} of ${STREAM} skipped: ${(err as Error).message}`),
          );
          engine.apply([], m.seq);
        }
      }
    } catch (err) {
      if (!this.#closed) this.#onError(err as Error);
    }
  }

  append(points: StoredPoint[]): void {
    if (this.#closed) return;
    for (const data of messages(points)) {
      this.#queue.push({ id: randomUUID(), data });
      this.#queuedBytes += data.length;
    }
    while (this.#queuedBytes > MAX_QUEUED_BYTES && this.#queue.length > 1) {
      const old = this.#queue.shift() as { data: string };
      this.#queuedBytes -= old.data.length;
      this.#dropped++;
    }
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = null;
    });
  }

  /** Send the queue in order; a failure waits and sends the same message (same id) again. */
  async #pump(): Promise<void> {
    let wait = 250;
    while (this.#queue.length && !this.#closed) {
      const head = this.#queue[0];
      try {
        const ack = await this.#js.publish(SUBJECT, head.data, { msgID: head.id, timeout: this.#timeoutMs });
        this.#queue.shift();
        this.#queuedBytes -= head.data.length;
        this.#acked = Math.max(this.#acked, ack.seq);
        wait = 250;
        if (this.#failing || this.#dropped) {
          this.#onError(
            new Error(
              `Analytics Engine: publishing to NATS again${this.#dropped ? ` (${this.#dropped} messages of data points were dropped while it could not be reached)` : ''}`,
            ),
          );
          this.#failing = false;
          this.#dropped = 0;
        }
      } catch (err) {
        if (!this.#failing)
          this.#onError(
            new Error(`Analytics Engine: publishing to NATS failed, will retry: ${(err as Error).message}`),
          );
        this.#failing = true;
        await new Promise((r) => setTimeout(r, wait).unref());
        wait = Math.min(wait * 2, 5000);
      }
    }
  }

  async acknowledged(timeoutMs: number): Promise<number> {
    const pumping = this.#pumping;
    if (pumping) await Promise.race([pumping, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    return this.#acked;
  }

  /** Messages waiting to be published (tests). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Stop reading and close the connection (settle the engine first to send what is queued). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#messages?.stop();
    await this.#reading;
    await this.#nc.close().catch(() => {});
  }
}
