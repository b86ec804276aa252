/**
 * Cloudflare Queues on SQLite (better-sqlite3): every queue of a network in one file, WAL, so
 * a message a producer was told is sent survives a crash or kill -9 of the process.
 *
 * One row per message. `visible_at` is when it may next be delivered: the send time plus its
 * delay, then, once leased, the end of the lease (the visibility timeout), then after a retry
 * the retry time. A message is deliverable when `visible_at <= now`, so a lease that expires
 * (the consumer crashed) needs no sweeper: the message is simply deliverable again, and its next
 * lease counts another attempt. `leased` tells a leased message from a delayed one (depth).
 * Leases run in an IMMEDIATE transaction, so two leases, even from two processes on the same
 * file, never return the same message. Order is oldest first by `seq`, the insertion order.
 * See store.ts for attempts and max_retries
 * (https://developers.cloudflare.com/queues/configuration/batching-retries/).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type QueueSendMessage, validateDelay, validateMaxRetries, validateSend } from './limits.ts';
import {
  checkLease,
  newMessageId,
  type QueueDepth,
  type QueueMessageRecord,
  type QueueRetryResult,
  type QueueSendOptions,
  type QueueStore,
} from './store.ts';

export interface SqliteQueueStoreOptions {
  /** The database file (':memory:' for none). */
  file: string;
  /** The clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

interface Row {
  seq: number;
  id: string;
  queue: string;
  body: Buffer;
  content_type: string;
  timestamp: number;
  attempts: number;
  visible_at: number;
  leased: number;
}

export class SqliteQueueStore implements QueueStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #send: (queue: string, messages: QueueSendMessage[], now: number) => void;
  readonly #lease: (queue: string, max: number, leaseMs: number, now: number) => Row[];
  readonly #ack: (queue: string, ids: string[]) => void;
  readonly #retry: (
    queue: string,
    ids: string[],
    delayMs: number,
    maxRetries: number,
    dlq: string | undefined,
    now: number,
  ) => QueueRetryResult;
  readonly #next: Database.Statement;
  readonly #depth: Database.Statement;

  constructor(options: SqliteQueueStoreOptions) {
    this.#now = options.now ?? Date.now;
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    const db = new Database(options.file);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    // synchronous=FULL: a send that returned is on disk even if the machine loses power.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS queue_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        queue TEXT NOT NULL,
        body BLOB NOT NULL,
        content_type TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        visible_at INTEGER NOT NULL,
        leased INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at);`);

    const insert = db.prepare(
      'INSERT INTO queue_messages (id, queue, body, content_type, timestamp, attempts, visible_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#send = db.transaction((queue: string, messages: QueueSendMessage[], now: number) => {
      for (const m of messages)
        insert.run(
          newMessageId(),
          queue,
          Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
          m.contentType,
          now,
          0,
          now + (m.delaySeconds ?? 0) * 1000,
        );
    });

    const pick = db.prepare(
      'SELECT * FROM queue_messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?',
    );
    const take = db.prepare(
      'UPDATE queue_messages SET attempts = attempts + 1, visible_at = ?, leased = 1 WHERE seq = ?',
    );
    const lease = db.transaction((queue: string, max: number, leaseMs: number, now: number) => {
      const rows = pick.all(queue, now, max) as Row[];
      for (const r of rows) {
        take.run(now + leaseMs, r.seq);
        r.attempts += 1;
      }
      return rows;
    });
    this.#lease = (...a) => lease.immediate(...a);

    const del = db.prepare('DELETE FROM queue_messages WHERE queue = ? AND id = ?');
    this.#ack = db.transaction((queue: string, ids: string[]) => {
      for (const id of ids) del.run(queue, id);
    });

    const one = db.prepare('SELECT * FROM queue_messages WHERE queue = ? AND id = ?');
    const again = db.prepare('UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE seq = ?');
    const move = db.prepare(
      'INSERT INTO queue_messages (id, queue, body, content_type, timestamp, attempts, visible_at) VALUES (?, ?, ?, ?, ?, 0, ?)',
    );
    const retry = db.transaction(
      (
        queue: string,
        ids: string[],
        delayMs: number,
        maxRetries: number,
        dlq: string | undefined,
        now: number,
      ) => {
        const out: QueueRetryResult = { retried: [], deadLettered: [], dropped: [] };
        for (const id of ids) {
          const r = one.get(queue, id) as Row | undefined;
          if (!r) continue;
          if (r.attempts <= maxRetries) {
            again.run(now + delayMs, r.seq);
            out.retried.push(id);
            continue;
          }
          del.run(queue, id);
          if (dlq === undefined) {
            out.dropped.push(id);
            continue;
          }
          // To the back of the dead-letter queue: same id, body and timestamp; attempts anew.
          move.run(r.id, dlq, r.body, r.content_type, r.timestamp, now);
          out.deadLettered.push(id);
        }
        return out;
      },
    );
    this.#retry = (...a) => retry.immediate(...a);

    this.#next = db.prepare('SELECT min(visible_at) FROM queue_messages WHERE queue = ?').pluck();
    this.#depth = db.prepare(`
      SELECT coalesce(sum(visible_at <= @now), 0) AS ready,
             coalesce(sum(visible_at > @now AND leased = 0), 0) AS delayed,
             coalesce(sum(visible_at > @now AND leased = 1), 0) AS leased
      FROM queue_messages WHERE queue = @queue`);
  }

  async send(queue: string, messages: QueueSendMessage[], options: QueueSendOptions = {}): Promise<void> {
    validateSend(messages, options.kind);
    this.#send(queue, messages, this.#now());
  }

  async lease(queue: string, max: number, leaseMs: number): Promise<QueueMessageRecord[]> {
    checkLease(max, leaseMs);
    return this.#lease(queue, max, leaseMs, this.#now()).map((r) => ({
      id: r.id,
      queue: r.queue,
      body: new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength),
      contentType: r.content_type,
      timestamp: r.timestamp,
      attempts: r.attempts,
    }));
  }

  async ack(queue: string, ids: string[]): Promise<void> {
    this.#ack(queue, ids);
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
    return this.#retry(queue, ids, delay * 1000, maxRetries, deadLetterQueue, this.#now());
  }

  async nextReady(queue: string): Promise<number | null> {
    return (this.#next.get(queue) as number | null) ?? null;
  }

  async depth(queue: string): Promise<QueueDepth> {
    return this.#depth.get({ queue, now: this.#now() }) as QueueDepth;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
