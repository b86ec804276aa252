/**
 * KV over NATS JetStream, for a network spread over machines: a JetStream KV bucket per
 * namespace holds the data; each PoP process keeps a local replica of every namespace it uses,
 * fed by a watch, and answers reads and lists from it — so reads keep working while NATS is
 * unreachable. Writes go to the bucket and fail with a clear error when NATS cannot be reached
 * (checked before publishing, so a failed write is not sent later by the client's reconnect
 * buffer). A write that was sent but got no acknowledgement in time (a frozen or partitioned
 * server) has an unknown outcome: the server may still apply it when it resumes, so the error
 * says so (504) instead of claiming the write was not made; only an answer from the server
 * (JetStream refused it, or nothing listens on the bucket's subject) proves it was not.
 * Propagation is NATS's own (milliseconds); `cacheTtl` still applies at the PoP
 * (src/kv/pop.ts).
 *
 * Values carry an envelope (metadata, expiration, the writing PoP and time) since JetStream KV
 * has neither metadata nor per-key expiry on nats-server 2.9 (Debian's): expired values are
 * dropped on read and list. Keys are hex-encoded (NATS keys allow a narrow alphabet; KV keys
 * are any UTF-8).
 */
import { createHash } from 'node:crypto';
import { JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, NoRespondersError, RequestError } from '@nats-io/transport-node';
import { DEFAULT_QUOTAS, NATS_CREATE_TIMEOUT_MS, natsServers } from '../config/index.ts';
import { KvError } from './limits.ts';
import { checkQuota, recordBytes } from './quota.ts';
import {
  decodeCursor,
  encodeCursor,
  expired,
  type KvKeyState,
  type KvListResult,
  type KvRecord,
  type KvStore,
  type KvWrite,
} from './store.ts';

export interface NatsKvStoreOptions {
  servers: string | string[];
  /** This process's PoP id (it answers reads for this PoP). */
  pop: string;
  /** How long a write waits for JetStream's acknowledgement, ms (default 3000). */
  timeoutMs?: number;
  /**
   * Bytes one namespace may store (default 1 GiB), counted as the SQLite store counts them, on
   * this process's replica; the bucket's JetStream `max_bytes` (twice that plus 1 MiB, for
   * JetStream's own framing, hex keys and delete markers) is the server's backstop.
   */
  namespaceQuotaBytes?: number;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
}

interface Replica {
  kv: KV;
  /** Decoded key → live record, or null for a deletion (version of the marker). */
  entries: Map<string, { record: KvRecord | null; version: number }>;
  /** Bytes of the live records in `entries` (key, value, metadata), kept as they change. */
  bytes: number;
  stop(): void;
}

interface Envelope {
  m: string | null;
  e: number | null;
  p: string;
  t: number;
}

const hexKey = (key: string) => Buffer.from(key, 'utf8').toString('hex');
const fromHex = (k: string) => Buffer.from(k, 'hex').toString('utf8');

function bucketName(ns: string): string {
  if (/^[A-Za-z0-9_-]{1,48}$/.test(ns)) return `outpost_kv_${ns}`;
  return `outpost_kv_${createHash('sha256').update(ns).digest('hex').slice(0, 40)}`;
}

function pack(w: KvWrite, pop: string, now: number): Uint8Array {
  const head = Buffer.from(
    JSON.stringify({ m: w.metadata, e: w.expiration, p: pop, t: now } satisfies Envelope),
  );
  const out = Buffer.alloc(4 + head.length + (w.value?.byteLength ?? 0));
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  if (w.value) out.set(w.value, 4 + head.length);
  return out;
}

function unpack(key: string, data: Uint8Array, version: number): KvRecord {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const n = b.readUInt32BE(0);
  const env = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as Envelope;
  return {
    key,
    value: new Uint8Array(b.subarray(4 + n)),
    metadata: env.m,
    expiration: env.e,
    version,
    writtenAt: env.t,
    pop: env.p,
  };
}

/**
 * True when the server answered and the answer proves the write was not stored: JetStream
 * refused it, or no stream listens on the subject. Anything else after sending (a timeout, a
 * connection lost mid-request) leaves the outcome unknown.
 */
function refusedByServer(err: unknown): boolean {
  for (
    let e = err as { cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as never, depth++
  ) {
    if (e instanceof JetStreamApiError || e instanceof NoRespondersError) return true;
    if (e instanceof RequestError && e.isNoResponders()) return true;
  }
  return false;
}

/** Bytes a replica entry's record stores. */
function entryBytes(e: { record: KvRecord | null } | undefined): number {
  const r = e?.record;
  return r ? recordBytes(r.key, r) : 0;
}

/** Replace a replica's entry for a key, keeping its byte total. */
function setEntry(
  replica: Pick<Replica, 'entries' | 'bytes'>,
  key: string,
  e: { record: KvRecord | null; version: number },
): void {
  replica.bytes += entryBytes(e) - entryBytes(replica.entries.get(key));
  replica.entries.set(key, e);
}

export class NatsKvStore implements KvStore {
  readonly #nc: NatsConnection;
  readonly #kvm: Kvm;
  /** Makes namespace buckets: the same client with a timeout long enough to place replicas. */
  readonly #kvmCreate: Kvm;
  readonly #replicas = new Map<string, Promise<Replica>>();
  readonly #servers: string;
  readonly pop: string;
  readonly #timeoutMs: number;
  readonly namespaceQuotaBytes: number;
  readonly #streamReplicas: number;
  #connected = true;

  private constructor(nc: NatsConnection, options: NatsKvStoreOptions) {
    this.#nc = nc;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#streamReplicas = options.replicas ?? 1;
    this.namespaceQuotaBytes = options.namespaceQuotaBytes ?? DEFAULT_QUOTAS.kvNamespaceBytes;
    if (!Number.isSafeInteger(this.namespaceQuotaBytes) || this.namespaceQuotaBytes <= 0)
      throw new RangeError(
        `NatsKvStore namespaceQuotaBytes must be a positive integer, received ${options.namespaceQuotaBytes}`,
      );
    this.#kvm = new Kvm(jetstream(nc, { timeout: this.#timeoutMs }));
    this.#kvmCreate = new Kvm(jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS }));
    this.#servers = [options.servers].flat().join(', ');
    this.pop = options.pop;
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.#connected = false;
        else if (s.type === 'reconnect') this.#connected = true;
      }
    })().catch(() => {});
  }

  /** Whether the NATS connection is up now (the metrics' outpost_nats_connected). */
  get connected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  /** Connect to NATS; fails with a clear error when no server answers. */
  static async connect(options: NatsKvStoreOptions): Promise<NatsKvStore> {
    try {
      const nc = await connect({
        servers: natsServers(options.servers),
        name: `outpost-kv-${options.pop}`,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      return new NatsKvStore(nc, options);
    } catch (err) {
      throw new Error(
        `cannot connect to NATS at ${[options.servers].flat().join(', ')}: ${(err as Error).message}`,
      );
    }
  }

  #replica(ns: string): Promise<Replica> {
    let r = this.#replicas.get(ns);
    if (!r) {
      r = this.#openReplica(ns);
      r.catch(() => this.#replicas.delete(ns));
      this.#replicas.set(ns, r);
    }
    return r;
  }

  async #openReplica(ns: string): Promise<Replica> {
    this.#ensureConnected('open');
    // A bucket made before quotas existed keeps the max_bytes it was made with (none).
    await this.#kvmCreate.create(bucketName(ns), {
      history: 1,
      max_bytes: 2 * this.namespaceQuotaBytes + 1024 * 1024,
      replicas: this.#streamReplicas,
    });
    const kv = await this.#kvm.open(bucketName(ns));
    const entries: Replica['entries'] = new Map();
    const lastSeq = (await kv.status()).streamInfo.state.last_seq;
    const watcher = await kv.watch();
    const replica: Replica = { kv, entries, bytes: 0, stop: () => watcher.stop() };
    let ready!: () => void;
    const initialized = new Promise<void>((resolve) => (ready = resolve));
    if (lastSeq === 0) ready();
    (async () => {
      for await (const e of watcher) {
        const key = fromHex(e.key);
        const known = entries.get(key);
        if (!known || known.version < e.revision)
          setEntry(replica, key, {
            record: e.operation === 'PUT' ? unpack(key, e.value, e.revision) : null,
            version: e.revision,
          });
        if (e.revision >= lastSeq) ready();
      }
    })().catch(() => {});
    await initialized;
    return replica;
  }

  #ensureConnected(what: string): void {
    if (!this.#connected || this.#nc.isClosed())
      throw new KvError(
        503,
        `KV is unreachable (NATS at ${this.#servers} is disconnected); the ${what} was not made.`,
      );
  }

  async read(ns: string, key: string, _pop: string, now: number): Promise<KvRecord | null> {
    const r = (await this.#replica(ns)).entries.get(key)?.record ?? null;
    return r && !expired(r, now) ? r : null;
  }

  async write(ns: string, key: string, w: KvWrite, pop: string, now: number): Promise<number> {
    const replica = await this.#replica(ns);
    this.#ensureConnected(w.value === null ? 'delete' : 'write');
    // The quota, as this process's replica counts the namespace (other processes' writes arrive
    // through the watch): eventually consistent across processes, the bucket's max_bytes is the hard cap.
    const delta = recordBytes(key, w) - entryBytes(replica.entries.get(key));
    if (delta > 0) checkQuota(ns, replica.bytes + delta, delta, this.namespaceQuotaBytes);
    try {
      if (w.value === null) {
        await replica.kv.delete(hexKey(key));
        // The delete marker's revision is not returned: the replica shows the deletion at once
        // under a provisional version just above the last known, which the watch's real
        // revision then supersedes.
        const known = replica.entries.get(key);
        setEntry(replica, key, { record: null, version: (known?.version ?? 0) + 0.5 });
        return known?.version ?? 0;
      }
      const version = await replica.kv.put(hexKey(key), pack(w, pop, now));
      const known = replica.entries.get(key);
      if (!known || known.version < version)
        setEntry(replica, key, { record: unpack(key, pack(w, pop, now), version), version });
      return version;
    } catch (err) {
      const what = w.value === null ? 'delete' : 'write';
      if (refusedByServer(err) && /maximum bytes/i.test(String((err as Error).message)))
        throw new KvError(
          413,
          `KV namespace "${ns}" is over its storage quota of ${this.namespaceQuotaBytes} bytes (its JetStream bucket is full: ${(err as Error).message}); the ${what} was not made. Delete keys or ask the operator for a larger quota.`,
        );
      if (refusedByServer(err))
        throw new KvError(
          503,
          `KV ${what} refused by NATS at ${this.#servers} (${(err as Error).message}); the ${what} was not made.`,
        );
      throw new KvError(
        504,
        `KV ${what} sent to NATS at ${this.#servers} but not acknowledged (${(err as Error).message} after ${this.#timeoutMs} ms); the outcome is unknown: it may still be applied. Read the key to see which, or repeat the ${what} (repeating the same ${what} is safe).`,
      );
    }
  }

  async list(
    ns: string,
    options: { prefix: string; limit: number; cursor: string | null },
    _pop: string,
    now: number,
  ): Promise<KvListResult> {
    const after = options.cursor === null ? null : Buffer.from(decodeCursor(options.cursor), 'utf8');
    const live: KvRecord[] = [];
    for (const [key, { record }] of (await this.#replica(ns)).entries) {
      if (!record || expired(record, now) || !key.startsWith(options.prefix)) continue;
      if (after && Buffer.compare(Buffer.from(key, 'utf8'), after) <= 0) continue;
      live.push(record);
    }
    live.sort((a, b) => Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8')));
    const page = live.slice(0, options.limit).map((r) => {
      const k: KvListResult['keys'][number] = { name: r.key };
      if (r.expiration !== null) k.expiration = r.expiration;
      if (r.metadata !== null) k.metadata = JSON.parse(r.metadata);
      return k;
    });
    if (live.length > options.limit)
      return { keys: page, complete: false, cursor: encodeCursor(page[page.length - 1].name) };
    return { keys: page, complete: true };
  }

  async inspect(ns: string, prefix: string, pops: string[], _now: number): Promise<KvKeyState[]> {
    const out: KvKeyState[] = [];
    for (const [key, e] of (await this.#replica(ns)).entries) {
      if (!key.startsWith(prefix)) continue;
      out.push({
        key,
        latest: {
          version: e.version,
          pop: e.record?.pop ?? '',
          writtenAt: e.record?.writtenAt ?? 0,
          deleted: !e.record,
        },
        seen: Object.fromEntries(pops.map((p) => [p, p === this.pop ? e.version : null])),
      });
    }
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  async close(): Promise<void> {
    for (const r of this.#replicas.values()) (await r.catch(() => null))?.stop();
    await this.#nc.close();
  }
}
