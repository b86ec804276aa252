/**
 * One Durable Object's replicated journal: the subject `outpost.do.log.<key>` of the JetStream
 * stream OUTPOST_DO_LOG (replicated as the network's other streams: R3 on a three-server
 * cluster). The object's owner appends what each commit changed; JetStream acknowledges an
 * append once a majority of its servers stored it, and only then may the object's output leave
 * (the output gate waits for `barrier()`: Cloudflare's output gate waits for replication the same
 * way, https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/).
 *
 * Fencing: every append is a compare-and-set on the subject's last sequence
 * (`Nats-Expected-Last-Subject-Sequence`). A new owner appends a fence record first, so an older
 * owner that still believes it owns the object (paused, partitioned) fails its next append with
 * "wrong last sequence" and is fenced: it answers nothing more and drops its copy. Two owners can
 * therefore never both extend the journal, whatever their clocks say. An append whose answer was
 * lost is sent again with the same `Nats-Msg-Id`, which JetStream de-duplicates (per stream, so
 * an id names the object, the node, the epoch and the batch).
 *
 * Group commit: while an append is in flight, later commits wait and go out together as one
 * record, so a hot object pays one replication round trip per group, not per event.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { encodeRecord, type JournalOp, PART_HEADER, parts } from './records.ts';

export const LOG_STREAM = 'OUTPOST_DO_LOG';
export const LOG_SUBJECTS = 'outpost.do.log.>';
export const logSubject = (key: string) => `outpost.do.log.${key}`;

/** This node no longer owns the object: another wrote to its journal since (or took its lease). */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

/** JetStream's answer to a compare-and-set that lost: someone appended since. */
export const WRONG_LAST_SEQUENCE = 10071;

const RETRIES = 4;

export interface JournalWriterOptions {
  js: JetStreamClient;
  key: string;
  node: string;
  epoch: number;
  /** The subject's last sequence this owner has applied (its fence record's). */
  lastSeq: number;
  /** The largest message NATS takes, bytes. */
  maxPayload: number;
  /** Called once when an append fails for good (fenced, or NATS gone): the object must go. */
  onBroken: (err: Error) => void;
  /**
   * After each acknowledged append, before the barrier resolves (the alarm index is written here,
   * so an alarm is known network-wide before the object says it set it).
   */
  onAppended?: (ops: JournalOp[]) => Promise<void> | void;
  timeoutMs?: number;
}

export class JournalWriter {
  #pending: JournalOp[] = [];
  #flushing = false;
  /** Operations pushed, and acknowledged, since this writer began. */
  #pushed = 0;
  #acked = 0;
  #batch = 0;
  #broken: Error | null = null;
  #waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  lastSeq: number;

  constructor(readonly o: JournalWriterOptions) {
    this.lastSeq = o.lastSeq;
  }

  get broken(): Error | null {
    return this.#broken;
  }

  /** Operations not yet acknowledged. */
  get unacknowledged(): number {
    return this.#pushed - this.#acked;
  }

  push(op: JournalOp): void {
    if (this.#broken) throw this.#broken;
    this.#pending.push(op);
    this.#pushed++;
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  /** Resolves once everything pushed so far is replicated; rejects when it never will be. */
  barrier(): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#acked >= this.#pushed) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ upTo: this.#pushed, resolve, reject }));
  }

  /** Stop: what is not replicated yet never will be (the object is being dropped). */
  break(err: Error): void {
    if (this.#broken) return;
    this.#broken = err;
    this.#pending = [];
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.o.onBroken(err);
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#broken) {
        const ops = this.#pending;
        this.#pending = [];
        await this.#append(ops);
        this.#acked += ops.length;
        await this.o.onAppended?.(ops);
        const done = this.#waiters.filter((w) => w.upTo <= this.#acked);
        this.#waiters = this.#waiters.filter((w) => w.upTo > this.#acked);
        for (const w of done) w.resolve();
      }
    } catch (err) {
      this.break(err as Error);
    } finally {
      this.#flushing = false;
      // Pushed while the last append's answer was being handled.
      if (this.#pending.length > 0 && !this.#broken) {
        this.#flushing = true;
        queueMicrotask(() => void this.#flush());
      }
    }
  }

  async #append(ops: JournalOp[]): Promise<void> {
    const o = this.o;
    const bytes = encodeRecord({ e: o.epoch, n: o.node, ops });
    // Room for headers and the protocol line in each message.
    const pieces = parts(bytes, Math.max(1024, o.maxPayload - 4096));
    const batch = ++this.#batch;
    for (let i = 0; i < pieces.length; i++) {
      const h = natsHeaders();
      if (pieces.length > 1) h.set(PART_HEADER, `${i + 1}/${pieces.length}`);
      this.lastSeq = await appendOnce(o.js, o.key, pieces[i], this.lastSeq, {
        msgID: `${o.key}.${o.node}.${o.epoch}.${batch}.${i}`,
        headers: h,
        timeoutMs: o.timeoutMs ?? 5000,
      });
    }
  }
}

/**
 * One compare-and-set append after `lastSeq`; its sequence. Retried (same message id) when the
 * answer did not come; "wrong last sequence" is final: someone else appended.
 */
export async function appendOnce(
  js: JetStreamClient,
  key: string,
  data: Uint8Array,
  lastSeq: number,
  o: { msgID: string; headers?: ReturnType<typeof natsHeaders>; timeoutMs: number },
): Promise<number> {
  let last: unknown;
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    try {
      const ack = await js.publish(logSubject(key), data, {
        expect: { lastSubjectSequence: lastSeq },
        msgID: o.msgID,
        timeout: o.timeoutMs,
        ...(o.headers ? { headers: o.headers } : {}),
      });
      return ack.seq;
    } catch (err) {
      if ((err as { code?: number }).code === WRONG_LAST_SEQUENCE)
        throw new FencedError(
          `the journal moved on without this node (another owner wrote to it): ${(err as Error).message}`,
        );
      last = err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
  throw new Error(`replicating a Durable Object commit failed: ${(last as Error)?.message ?? last}`);
}
