/**
 * Rate-limit counters shared by every process of a network (`outpost node`, or `outpost dev`
 * sessions with `--nats`): each counter is one key of a JetStream KV bucket, and a hit is a
 * compare-and-set on it — read the counter and its revision, run the step, write the new state
 * only if the revision is still the one read (JetStream refuses with "wrong last sequence"
 * otherwise), else read again and retry. JetStream orders the writes to a key, so every allowed
 * hit was counted on the state all earlier ones left: a limit holds exactly across processes,
 * as it does in one. The price is two round trips to NATS per hit; a process's hits on one
 * counter that arrive while its compare-and-set is in flight go together in the next one, so a
 * hot key costs round trips per batch, and races only between processes (`shards` spreads a
 * key hot across many processes over several counters).
 *
 * State is kept in binary: a fixed window's start and count; a sliding window's live hit times
 * (8 bytes each: a sliding counter shared this way holds at most MAX_SHARED_SLIDING hits, checked
 * when the policies are loaded). Keys are the SHA-256 of namespace and counter id (NATS keys
 * allow a narrow alphabet). Counters expire with the bucket's max age (a day, the longest
 * period): an idle counter holds nothing a later hit reads.
 */
import { createHash } from 'node:crypto';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { isCasFailure, jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers } from '../../config/index.ts';
import { type CounterState, MIN_LOG, STATE_BYTES } from './algorithms.ts';
import type { SharedCounterStore } from './store.ts';
import { MAX_PERIOD_SEC } from './types.ts';

const BUCKET = 'outpost_ratelimit';
/** Hits a shared sliding counter (one shard of one key) may hold: 512 KiB of state. */
export const MAX_SHARED_SLIDING = 65_536;
/** Compare-and-set attempts per batch before giving up (each lost one means another process counted). */
const MAX_ATTEMPTS = 32;
/** Hits of one process counted by one compare-and-set at most. */
const MAX_BATCH = 256;
/** Hits waiting for one counter in one process at most; past it a hit fails at once. */
const MAX_WAITING = 4096;
/** How long one read or write may wait for NATS, ms: a request waits for its counter. */
const TIMEOUT_MS = 1000;
/** The bucket's bytes at most; past it the oldest writes go (each write re-appends a key: LRU). */
const MAX_BUCKET_BYTES = 1024 * 1024 * 1024;
/** Room a NATS message needs beside a full shared sliding window's bytes. */
const PAYLOAD_SLACK = 4096;

interface Waiting {
  step: (state: CounterState | undefined) => [CounterState, unknown];
  /** Whether the step's result counted a hit (the state then must be written). */
  counted: (result: unknown) => boolean;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** A counter's state as stored: kind, period, idle time, then the window or the live hits. */
export function encodeState(s: CounterState): Uint8Array {
  if (s.kind === 'fixed') {
    const out = new Float64Array(5);
    out.set([0, s.periodMs, s.idleAt, s.start, s.count]);
    return new Uint8Array(out.buffer);
  }
  const out = new Float64Array(3 + s.size);
  out.set([1, s.periodMs, s.idleAt]);
  const cap = s.log.length;
  for (let i = 0; i < s.size; i++) out[3 + i] = s.log[(s.head + i) % cap];
  return new Uint8Array(out.buffer);
}

/**
 * The state encodeState wrote, or undefined for bytes that are not a sane one (counted afresh):
 * times finite and non-negative, a fixed window's start on its period with a whole count, a
 * sliding log in order and within the shared bound. Anything that reaches the bucket (another
 * version, a hand-made write) cannot make a key unlimited or blocked forever.
 */
export function decodeState(bytes: Uint8Array): CounterState | undefined {
  if (bytes.byteLength < 24 || bytes.byteLength % 8 !== 0) return undefined;
  const f = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (const x of f) if (!Number.isFinite(x) || x < 0) return undefined;
  const periodMs = f[1];
  if (!Number.isInteger(periodMs) || periodMs < 1000 || periodMs > MAX_PERIOD_SEC * 1000) return undefined;
  if (f[0] === 0 && f.length === 5) {
    if (f[3] % periodMs !== 0 || !Number.isInteger(f[4])) return undefined;
    return { kind: 'fixed', periodMs, idleAt: f[2], start: f[3], count: f[4], bytes: STATE_BYTES };
  }
  if (f[0] !== 1 || f.length - 3 > MAX_SHARED_SLIDING) return undefined;
  for (let i = 4; i < f.length; i++) if (f[i] < f[i - 1]) return undefined;
  const size = f.length - 3;
  const log = new Float64Array(Math.max(MIN_LOG, size));
  log.set(f.subarray(3));
  return {
    kind: 'sliding',
    periodMs: f[1],
    idleAt: f[2],
    log,
    head: 0,
    size,
    bytes: STATE_BYTES + 8 * log.length,
  };
}

/** A compare-and-set that lost, or a write refused while the stream's leader changes (10163): tried again. */
function lostRace(err: unknown): boolean {
  return (
    isCasFailure(err) ||
    (err as { code?: number })?.code === 10163 ||
    /temporarily unavailable/i.test(String(err))
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class NatsCounterStore implements SharedCounterStore {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #servers: string;
  #connected = true;

  private constructor(nc: NatsConnection, kv: KV, servers: string) {
    this.#nc = nc;
    this.#kv = kv;
    this.#servers = servers;
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.#connected = false;
        else if (s.type === 'reconnect') this.#connected = true;
      }
    })().catch(() => {});
  }

  /** `replicas`: of the counters' bucket when this makes it (3 on a three-server cluster). */
  static async connect(servers: string, replicas = 1): Promise<NatsCounterStore> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: natsServers(servers),
        name: 'outpost-ratelimit',
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
    } catch (err) {
      throw new Error(`rate limiting: cannot connect to NATS at ${servers}: ${(err as Error).message}`);
    }
    try {
      const maxPayload = nc.info?.max_payload ?? 0;
      if (maxPayload < 8 * (MAX_SHARED_SLIDING + 3) + PAYLOAD_SLACK)
        throw new Error(
          `rate limiting: the NATS server's max_payload (${maxPayload} bytes) is below what a shared sliding window may hold (${8 * (MAX_SHARED_SLIDING + 3) + PAYLOAD_SLACK}); raise it (the default is 1 MiB)`,
        );
      const kv = await jetStreamSetup('the rate-limit counters bucket', async () => {
        await new Kvm(jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS })).create(BUCKET, {
          ttl: MAX_PERIOD_SEC * 1000,
          history: 1,
          replicas,
          max_bytes: MAX_BUCKET_BYTES,
        });
        // A full bucket drops its oldest writes rather than refusing new ones: a flood of keys
        // evicts idle counters instead of failing every counter open.
        const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
        const stream = `KV_${BUCKET}`;
        const info = await jsm.streams.info(stream);
        if (info.config.discard !== 'old')
          await jsm.streams.update(stream, { ...info.config, discard: DiscardPolicy.Old });
        return new Kvm(jetstream(nc, { timeout: TIMEOUT_MS })).open(BUCKET);
      });
      return new NatsCounterStore(nc, kv, servers);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  static keyOf(namespace: string, id: string): string {
    return createHash('sha256').update(namespace).update('\0').update(id).digest('hex');
  }

  /**
   * Hits waiting for a counter, by key: one compare-and-set per counter is in flight per
   * process, carrying every hit that arrived meanwhile (their steps run in order on the state it
   * read), so contention for a key is between processes, not between a process's own requests.
   */
  readonly #queues = new Map<string, Waiting[]>();

  update<R>(
    namespace: string,
    id: string,
    _now: number,
    step: (state: CounterState | undefined) => [CounterState, R],
    counted: (result: R) => boolean = () => true,
  ): Promise<R> {
    if (this.#nc.isClosed()) return Promise.reject(new Error('rate limiting: the NATS connection is closed'));
    // Disconnected (reconnecting): fail at once rather than each request waiting out a timeout.
    if (!this.#connected)
      return Promise.reject(
        new Error(`rate limiting: NATS at ${this.#servers} is unreachable (reconnecting)`),
      );
    const key = NatsCounterStore.keyOf(namespace, id);
    return new Promise<R>((resolve, reject) => {
      const w: Waiting = {
        step,
        counted: counted as (r: unknown) => boolean,
        resolve: resolve as (r: unknown) => void,
        reject,
      };
      const queue = this.#queues.get(key);
      if (queue) {
        if (queue.length >= MAX_WAITING)
          return reject(new Error(`rate limiting: ${MAX_WAITING} hits already wait for this counter`));
        return void queue.push(w);
      }
      this.#queues.set(key, [w]);
      void this.#drain(key);
    });
  }

  /**
   * Counts what waits for `key`, batch after batch, until nothing does. A failure that is not a
   * lost race fails every hit waiting for the key at once (they would meet it too).
   */
  async #drain(key: string): Promise<void> {
    const queue = this.#queues.get(key) as Waiting[];
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const results = await this.#apply(key, batch);
        for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
      } catch (err) {
        for (const w of batch) w.reject(err as Error);
        for (const w of queue.splice(0)) w.reject(err as Error);
      }
    }
    this.#queues.delete(key);
  }

  /** One batch's steps on the counter, written with compare-and-set (retried on a lost race). */
  async #apply(key: string, batch: Waiting[]): Promise<unknown[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let e: Awaited<ReturnType<KV['get']>>;
      try {
        e = await this.#kv.get(key);
      } catch (err) {
        throw new Error(`rate limiting: NATS at ${this.#servers}: ${(err as Error).message}`);
      }
      let state = e?.operation === 'PUT' ? decodeState(e.value) : undefined;
      const results: unknown[] = [];
      let counts = false;
      for (const w of batch) {
        const [next, r] = w.step(state);
        state = next;
        results.push(r);
        if (w.counted(r)) counts = true;
      }
      // Nothing counted (every hit refused): the decisions hold as of this read, and no write
      // is made — a flood on a key over its limit makes no traffic to race with.
      if (!counts) return results;
      const bytes = encodeState(state as CounterState);
      try {
        // A key never written is created: the create fails if another process created it
        // first, as an update fails on a revision that moved on.
        if (e) await this.#kv.update(key, bytes, e.revision);
        else await this.#kv.create(key, bytes);
        return results;
      } catch (err) {
        if (!lostRace(err))
          throw new Error(`rate limiting: NATS at ${this.#servers}: ${(err as Error).message}`);
      }
      // Lost: another process counted first. A short random pause spreads the next tries.
      if (attempt >= 2) await pause(Math.random() * Math.min(50, 2 ** attempt));
    }
    throw new Error(
      `rate limiting: the counter lost ${MAX_ATTEMPTS} races in a row to other processes (a hot key: give its policy shards)`,
    );
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
