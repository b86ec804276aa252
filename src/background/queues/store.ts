/**
 * The storage interface of Cloudflare Queues (https://developers.cloudflare.com/queues/):
 * at-least-once delivery of messages a producer sent, leased in batches to a consumer for a
 * visibility timeout, acknowledged (deleted) or retried, and after too many attempts moved to a
 * dead-letter queue or dropped (https://developers.cloudflare.com/queues/configuration/
 * batching-retries/). One conformance suite (conformance.ts) runs against each implementation:
 * SQLite (sqlite-store.ts) and NATS JetStream (nats-store.ts).
 *
 * `attempts` counts deliveries: 1 on the first lease, +1 on each later one (after a retry or an
 * expired lease). A retry of a message whose attempts exceed `maxRetries` dead-letters it:
 * with max_retries 3 a message is delivered at most 4 times, as miniflare does.
 */
import { randomBytes } from 'node:crypto';
import type { QueueSendMessage } from './limits.ts';

export interface QueueMessageRecord {
  /** 32 hex characters, unique. */
  id: string;
  queue: string;
  body: Uint8Array;
  contentType: string;
  /** When it was sent, ms since the epoch (kept when it moves to a dead-letter queue). */
  timestamp: number;
  /** Deliveries so far, this one included. */
  attempts: number;
}

export interface QueueRetryResult {
  /** Deliverable again after the delay. */
  retried: string[];
  /** Moved to the dead-letter queue (same id and timestamp, attempts start again). */
  deadLettered: string[];
  /** Deleted: too many attempts and no dead-letter queue. */
  dropped: string[];
}

export interface QueueDepth {
  /** Deliverable now (including messages whose lease expired). */
  ready: number;
  /** Waiting for their delay (on send or retry). */
  delayed: number;
  /** In a batch whose lease has not expired. */
  leased: number;
}

export interface QueueSendOptions {
  /** Which producer call this is, for the error texts (default: sendBatch). */
  kind?: 'send' | 'sendBatch';
}

export interface QueueStore {
  /** Store messages (validated against QUEUE_LIMITS; all or none). */
  send(queue: string, messages: QueueSendMessage[], options?: QueueSendOptions): Promise<void>;
  /** Lease up to `max` deliverable messages, oldest first, for `leaseMs`; attempts incremented. */
  lease(queue: string, max: number, leaseMs: number): Promise<QueueMessageRecord[]>;
  /** Delete these messages (ids not in the queue are ignored). */
  ack(queue: string, ids: string[]): Promise<void>;
  /** Make them deliverable again after `delaySeconds`, or dead-letter/drop those past maxRetries. */
  retry(
    queue: string,
    ids: string[],
    delaySeconds: number,
    maxRetries: number,
    deadLetterQueue?: string,
  ): Promise<QueueRetryResult>;
  /** Earliest time (ms) a message of this queue becomes deliverable, or null when empty. */
  nextReady(queue: string): Promise<number | null>;
  depth(queue: string): Promise<QueueDepth>;
  close(): Promise<void>;
}

/** A new message id: 32 random hex characters. */
export function newMessageId(): string {
  return randomBytes(16).toString('hex');
}

export function checkLease(max: number, leaseMs: number): void {
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`lease: max must be an integer ≥ 1, received ${max}`);
  if (!Number.isFinite(leaseMs) || leaseMs <= 0)
    throw new RangeError(`lease: leaseMs must be a number > 0, received ${leaseMs}`);
}
