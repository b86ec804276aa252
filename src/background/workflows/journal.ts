/**
 * Workflow state shared by the processes of a network on NATS (`--nats`): one process leads —
 * runs the engine, and journals each write of its store (store.ts JournalOp) to a JetStream
 * stream before the engine's answer leaves — and every other process applies the stream, in
 * order, to its own SQLite replica, so whichever process leads next holds the same state and
 * resumes every instance where the journal left it.
 *
 *   stream OUTPOST_WORKFLOWS, subject outpost.workflows.journal, file storage, all kept
 *   message: JSON array of ops (byte values as { "$b": base64 }); an op larger than a message
 *            goes in parts (header Outpost-Part: i/n), at most ~768 KB each (NATS caps at 1 MB)
 *
 * Fencing: every publish expects the stream's last sequence to be the one this writer last saw
 * (JetStream's expected-last-sequence check), so two writers can never both append: a new leader
 * first appends an `epoch` op at the end it caught up to, and from then on whatever a previous
 * leader (paused, cut off) still tries to append is refused — it learns it lost the lead, wipes
 * its replica (which may hold writes that never reached the journal) and rebuilds it from the
 * stream. Who leads is decided by a lease (lease.ts); the journal's check is what makes a stale
 * leader harmless.
 */

import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers, streamExists } from '../../config/index.ts';
import type { JournalOp, WorkflowStore } from './store.ts';

export const STREAM = 'OUTPOST_WORKFLOWS';
export const SUBJECT = 'outpost.workflows.journal';
const MAX_PART = 768 * 1024;

/** The journal refused an append: another process leads now. */
export class JournalConflict extends Error {
  constructor() {
    super('another process leads Workflows now: this one lost the lead');
    this.name = 'JournalConflict';
  }
}

function encode(ops: JournalOp[]): string {
  return JSON.stringify(ops, (_k, v) =>
    v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)
      ? { $b: Buffer.from(v.data).toString('base64') }
      : v,
  );
}

function decode(text: string): JournalOp[] {
  return JSON.parse(text, (_k, v) =>
    v && typeof v === 'object' && typeof v.$b === 'string' && Object.keys(v).length === 1
      ? Buffer.from(v.$b, 'base64')
      : v,
  ) as JournalOp[];
}

/**
 * Messages for a batch of ops, sized in bytes (NATS's limit is bytes): whole ops together up to
 * MAX_PART, a larger op cut into parts of MAX_PART bytes (a reader joins the bytes back).
 */
function messages(ops: JournalOp[]): { data: Uint8Array; part?: string }[] {
  const out: { data: Uint8Array; part?: string }[] = [];
  let batch: Buffer[] = [];
  let size = 0;
  const close = () => {
    if (batch.length) out.push({ data: Buffer.from(`[${batch.map((b) => b.toString('utf8')).join(',')}]`) });
    batch = [];
    size = 0;
  };
  for (const op of ops) {
    const one = Buffer.from(encode([op]).slice(1, -1));
    if (one.byteLength + 2 > MAX_PART) {
      close();
      const whole = Buffer.concat([Buffer.from('['), one, Buffer.from(']')]);
      const n = Math.ceil(whole.byteLength / MAX_PART);
      for (let i = 0; i < n; i++)
        out.push({ data: whole.subarray(i * MAX_PART, (i + 1) * MAX_PART), part: `${i + 1}/${n}` });
      continue;
    }
    if (size + one.byteLength + 3 > MAX_PART) close();
    batch.push(one);
    size += one.byteLength + 1;
  }
  close();
  return out;
}

export interface WorkflowJournalOptions {
  servers: string;
  store: WorkflowStore;
  onError?: (err: Error) => void;
  timeoutMs?: number;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
}

export class NatsWorkflowJournal {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #store: WorkflowStore;
  readonly #onError: (err: Error) => void;
  readonly #timeoutMs: number;
  #following: ConsumerMessages | null = null;
  #reading: Promise<void> = Promise.resolve();
  /** Parts of an op being read. */
  #parts: Buffer[] = [];
  /** Leading: ops written and not yet appended; waiters for what has been recorded so far. */
  #queue: JournalOp[] = [];
  #recorded = 0;
  #appended = 0;
  #waiters: { upTo: number; resolve(): void; reject(e: Error): void }[] = [];
  #pumping: Promise<void> | null = null;
  #leading = false;
  #lost: ((err: Error) => void) | null = null;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, o: WorkflowJournalOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#js = jetstream(nc, { timeout: this.#timeoutMs });
    this.#store = o.store;
    this.#onError = o.onError ?? (() => {});
  }

  static async connect(o: WorkflowJournalOptions): Promise<NatsWorkflowJournal> {
    const nc = await connect({ servers: natsServers(o.servers), name: 'outpost-workflows' });
    try {
      const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const lastSeq = await jetStreamSetup('the Workflows stream', async () => {
        if (!(await streamExists(jsm, STREAM)))
          await jsm.streams
            .add({
              name: STREAM,
              subjects: [SUBJECT],
              storage: StorageType.File,
              num_replicas: o.replicas ?? 1,
            })
            .catch(async (err) => {
              // Another process made it meanwhile (processes start together): use theirs.
              if (!(await streamExists(jsm, STREAM))) throw err;
            });
        return (await jsm.streams.info(STREAM)).state.last_seq;
      });
      const j = new NatsWorkflowJournal(nc, jsm, o);
      if (o.store.appliedSeq > lastSeq) {
        // The replica was applied from a stream that is gone: it starts over.
        o.store.wipe();
      }
      return j;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  async #lastSeq(): Promise<number> {
    return (await this.#jsm.streams.info(STREAM)).state.last_seq;
  }

  #apply(data: Uint8Array, seq: number, part: string | undefined): void {
    if (part) {
      const [i, n] = part.split('/').map(Number);
      if (i === 1) this.#parts = [];
      this.#parts.push(Buffer.from(data));
      if (i < n) {
        this.#store.appliedSeq = seq;
        return;
      }
    }
    const whole = part ? Buffer.concat(this.#parts) : Buffer.from(data);
    this.#parts = [];
    try {
      // One message, one transaction: applied whole, or (it cannot be) skipped whole.
      this.#store.applyAll(decode(whole.toString('utf8')), seq);
    } catch (err) {
      this.#onError(new Error(`Workflows: journal message ${seq} skipped: ${(err as Error).message}`));
      this.#store.appliedSeq = seq;
    }
  }

  /** Follow the journal: apply what other processes append, from where the replica stopped. */
  async follow(): Promise<void> {
    if (this.#following) return;
    const consumer = await this.#js.consumers.get(STREAM, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#store.appliedSeq + 1,
    });
    const messages = await consumer.consume();
    this.#following = messages;
    this.#reading = (async () => {
      try {
        for await (const m of messages)
          this.#apply(m.data, m.seq, m.headers?.get('Outpost-Part') || undefined);
      } catch (err) {
        this.#onError(err as Error);
      } finally {
        if (this.#following === messages) this.#following = null;
      }
    })();
  }

  async #unfollow(): Promise<void> {
    const f = this.#following;
    this.#following = null;
    if (f) {
      await f.close().catch(() => {});
      await this.#reading;
    }
  }

  /** Apply everything up to the stream's end now (a leader-to-be catching up). */
  async #catchUp(): Promise<void> {
    for (;;) {
      const last = await this.#lastSeq();
      const from = this.#store.appliedSeq + 1;
      if (from > last) return;
      const consumer = await this.#js.consumers.get(STREAM, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      const batch = await consumer.fetch({
        max_messages: Math.min(1000, last - from + 1),
        expires: this.#timeoutMs,
      });
      let got = 0;
      for await (const m of batch) {
        got++;
        this.#apply(m.data, m.seq, m.headers?.get('Outpost-Part') || undefined);
        if (m.seq >= last) break;
      }
      if (got === 0) throw new Error(`Workflows: the journal did not deliver messages ${from}..${last}`);
    }
  }

  /**
   * Become the writer: stop following, catch up, append an epoch at the end (refused, and
   * retried after catching up again, while a previous leader is still appending). From then on
   * the store's writes are journaled. `onLost` hears when an append is refused later.
   */
  async lead(writer: string, onLost: (err: Error) => void): Promise<void> {
    await this.#unfollow();
    for (let attempt = 0; ; attempt++) {
      await this.#catchUp();
      try {
        await this.#append([{ t: 'epoch', writer }]);
        break;
      } catch (err) {
        if (!(err instanceof JournalConflict) || attempt >= 20) throw err;
      }
    }
    this.#leading = true;
    this.#lost = onLost;
    this.#store.journal = (op) => this.#record(op);
  }

  /** Stop writing (the lead is lost or given up): the replica is rebuilt from the journal. */
  async stepDown(): Promise<void> {
    this.#leading = false;
    this.#lost = null;
    this.#store.journal = null;
    const err = new JournalConflict();
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#queue = [];
    await this.#pumping?.catch(() => {});
    // It may hold writes that never reached the journal: start again from the journal's start.
    this.#store.wipe();
    this.#recorded = this.#appended = 0;
    await this.follow();
  }

  #record(op: JournalOp): void {
    this.#queue.push(op);
    this.#recorded++;
    this.#pump();
  }

  /** Resolves once every write recorded so far is in the journal; rejects when the lead is lost. */
  flush(): Promise<void> {
    if (!this.#leading) return Promise.reject(new JournalConflict());
    if (this.#appended >= this.#recorded) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ upTo: this.#recorded, resolve, reject }));
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = (async () => {
      try {
        while (this.#queue.length > 0 && this.#leading) {
          const ops = this.#queue.splice(0);
          await this.#append(ops);
          this.#appended += ops.length;
          this.#waiters = this.#waiters.filter((w) => {
            if (w.upTo > this.#appended) return true;
            w.resolve();
            return false;
          });
        }
      } catch (err) {
        // Whatever the reason (refused, or NATS did not answer: it may even have landed), this
        // writer stops at once: nothing recorded after a failed append may be appended after it.
        const lost = this.#lost;
        this.#leading = false;
        this.#lost = null;
        this.#store.journal = null;
        this.#queue = [];
        for (const w of this.#waiters.splice(0)) w.reject(err as Error);
        lost?.(err as Error);
      } finally {
        this.#pumping = null;
      }
    })();
  }

  /** Append at the end this writer last saw; a JournalConflict when someone else appended. */
  async #append(ops: JournalOp[]): Promise<void> {
    for (const m of messages(ops)) {
      const h = headers();
      if (m.part) h.set('Outpost-Part', m.part);
      try {
        const ack = await this.#js.publish(SUBJECT, m.data, {
          expect: { lastSequence: this.#store.appliedSeq },
          headers: h,
          timeout: this.#timeoutMs,
        });
        this.#store.appliedSeq = ack.seq;
      } catch (err) {
        if (/wrong last sequence/i.test(String((err as Error)?.message))) throw new JournalConflict();
        throw err;
      }
    }
  }

  get connected(): boolean {
    return !this.#nc.isClosed();
  }

  async close(): Promise<void> {
    this.#leading = false;
    this.#store.journal = null;
    this.#queue = [];
    const err = new JournalConflict();
    for (const w of this.#waiters.splice(0)) w.reject(err);
    await this.#pumping?.catch(() => {});
    await this.#unfollow();
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
