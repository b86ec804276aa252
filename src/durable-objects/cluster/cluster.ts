/**
 * Durable Objects across the nodes of a network (`outpost node`): exactly one node owns an
 * object at a time, and its storage survives that node.
 *
 * - Ownership: a lease per object in JetStream KV (owners.ts). A node takes an object when nobody
 *   holds it (first call, or the owner's lease ran out), renews its leases while it keeps the
 *   objects, and releases them when they go idle or the node stops.
 * - Storage: each change is appended to the object's journal (journal.ts) before anything the
 *   object says leaves (replicated.ts). A node that takes an object rebuilds its database from
 *   the latest snapshot and the journal after it (restore.ts), then appends a fence record: from
 *   then on the previous owner's appends fail, so a paused or cut-off owner that comes back
 *   commits nothing and drops its copy (it learns it when its lease renewal or next append fails).
 * - Snapshots: every `snapshotEvery` journal records, the owner stores the database image in the
 *   object store `outpost_do_snapshots` and purges the journal before it.
 * - Alarms: the owner records each object's alarm in the KV bucket `outpost_do_alarms` as part
 *   of acknowledging the change. Every node watches it; an alarm that is due while nobody owns
 *   its object is taken by a node (one wins the lease) and fired there.
 *
 * What is not here (docs/deploying.md): WebSockets to an object on another node, moving objects.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NATS_CREATE_TIMEOUT_MS, natsServers } from '../../config/nats.ts';
import { appendOnce, FencedError, JournalWriter, LOG_STREAM, LOG_SUBJECTS, logSubject } from './journal.ts';
import { OWNERS_BUCKET, type Owned, type OwnerEntry, Owners } from './owners.ts';
import { encodeRecord, type JournalOp, type JournalRecord, PART_HEADER, PartJoiner } from './records.ts';
import { ReplicatedStorage } from './replicated.ts';
import { removeDatabase, restoreDatabase } from './restore.ts';

export const ALARMS_BUCKET = 'outpost_do_alarms';
export const SNAPSHOTS = 'outpost_do_snapshots';

/** The object is owned by another node (follow `owner`), or was taken by one first. */
export class ObjectElsewhere extends Error {
  constructor(readonly owner: OwnerEntry | null) {
    super(owner ? `the Durable Object is owned by node ${owner.node}` : 'the Durable Object changed hands');
    this.name = 'ObjectElsewhere';
  }
}

export interface ObjectClusterOptions {
  servers: string;
  replicas?: number;
  /** This node: its id and PoP (the URL other nodes reach it at comes with serve()). */
  node: string;
  pop: string;
  /** How long a lease lasts without renewal, ms (default 10 000): the longest failover wait. */
  leaseMs?: number;
  /** Journal records between snapshots (default 1000; 0: never). */
  snapshotEvery?: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface Held {
  ns: string;
  id: string;
  owned: Owned;
  storage: ReplicatedStorage;
  writer: JournalWriter;
  sinceSnapshot: number;
  snapshotting: boolean;
}

export interface AlarmEntry {
  ns: string;
  id: string;
  name: string | null;
  at: number;
}

export function objectKey(ns: string, id: string): string {
  return createHash('sha256').update(`${ns}\u0000${id}`).digest('hex');
}

export class ObjectCluster {
  readonly node: string;
  readonly pop: string;
  readonly leaseMs: number;
  readonly #o: ObjectClusterOptions;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #owners: Owners;
  readonly #alarms: KV;
  readonly #snapshots: ObjectStore;
  readonly #held = new Map<string, Held>();
  readonly #known = new Map<string, Owned>();
  /** Files this node kept after releasing an object, and the journal sequence they hold. */
  readonly #kept = new Map<string, { file: string; seq: number }>();
  readonly #alarmIndex = new Map<string, AlarmEntry>();
  readonly #alarmTried = new Map<string, number>();
  readonly #alarmChecked = new Map<string, number>();
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;
  /** An object this node held is gone (fenced, lease lost, replication failed): drop its instance. */
  onLost: (ns: string, id: string, why: Error) => void = () => {};
  /** An alarm is due and nobody owns its object: fire it here (taking the object). */
  onOrphanAlarm: (a: AlarmEntry) => void = () => {};

  private constructor(
    o: ObjectClusterOptions,
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    owners: KV,
    alarms: KV,
    snapshots: ObjectStore,
  ) {
    this.#o = o;
    this.node = o.node;
    this.pop = o.pop;
    this.leaseMs = o.leaseMs ?? 10_000;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 500)
      throw new RangeError(`Durable Object lease must be at least 500 ms, received ${o.leaseMs}`);
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#owners = new Owners(owners, this.leaseMs);
    this.#alarms = alarms;
    this.#snapshots = snapshots;
  }

  static async connect(o: ObjectClusterOptions): Promise<ObjectCluster> {
    const nc = await connect({ servers: natsServers(o.servers), name: `outpost-objects-${o.pop}` });
    try {
      const js = jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const replicas = o.replicas ?? 1;
      const exists = (stream: string) =>
        jsm.streams.info(stream).then(
          () => true,
          (err: Error) => {
            if (/stream not found/i.test(err.message)) return false;
            throw err;
          },
        );
      if (!(await exists(LOG_STREAM)))
        await jsm.streams
          .add({
            name: LOG_STREAM,
            subjects: [LOG_SUBJECTS],
            num_replicas: replicas,
            duplicate_window: 120e9,
          })
          .catch(async (err) => {
            if (!(await exists(LOG_STREAM))) throw err;
          });
      const kvm = new Kvm(js);
      const bucket = async (name: string) =>
        (await exists(`KV_${name}`)) ? kvm.open(name, { bindOnly: true }) : kvm.create(name, { replicas });
      const owners = await bucket(OWNERS_BUCKET);
      const alarms = await bucket(ALARMS_BUCKET);
      const objm = new Objm(js);
      const snapshots = (await exists(`OBJ_${SNAPSHOTS}`))
        ? await objm.open(SNAPSHOTS, false)
        : await objm.create(SNAPSHOTS, { replicas });
      return new ObjectCluster(o, nc, jetstream(nc, { timeout: 10_000 }), jsm, owners, alarms, snapshots);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** The node serves at `url` now: it may take objects, renew leases and fire orphaned alarms. */
  serve(url: string): void {
    if (this.#url) return;
    this.#url = url;
    this.#start();
  }

  #url = '';

  /** The object's owner as last seen (`fresh`: asked of NATS now). */
  async owner(ns: string, id: string, fresh = false): Promise<OwnerEntry | null> {
    const key = objectKey(ns, id);
    const held = this.#held.get(key);
    if (held) return held.owned.entry;
    if (!fresh) {
      const known = this.#known.get(key);
      if (known) return known.entry;
    }
    const got = await this.#owners.get(key);
    if (got) this.#known.set(key, got);
    else this.#known.delete(key);
    return got?.entry ?? null;
  }

  /** Whether `entry`'s lease holds now. */
  holds(entry: OwnerEntry): boolean {
    return this.#owners.held(entry);
  }

  /** Whether this node holds the object now. */
  holding(ns: string, id: string): boolean {
    const h = this.#held.get(objectKey(ns, id));
    return !!h && !h.writer.broken;
  }

  /**
   * Take the object here: the lease (next epoch), its database rebuilt in `folder` from the
   * snapshot and journal, the fence appended. Throws ObjectElsewhere when another node holds it.
   */
  async open(
    ns: string,
    id: string,
    name: string | null,
    folder: string,
    maxBytes: number,
  ): Promise<ReplicatedStorage> {
    if (this.#closed) throw new Error('Durable Objects are shutting down');
    if (!this.#url) throw new Error('this node is not serving yet');
    const key = objectKey(ns, id);
    if (this.#held.has(key)) throw new Error(`Durable Object ${ns} ${id} is already open on this node`);
    const seen = await this.#owners.get(key);
    const me = {
      node: this.node,
      pop: this.#o.pop,
      url: this.#url,
      ns,
      id,
      name: name ?? seen?.entry.name ?? null,
    };
    const took = await this.#owners.take(key, me, seen);
    if ('other' in took) {
      if (took.other) this.#known.set(key, took.other);
      throw new ObjectElsewhere(took.other?.entry ?? null);
    }
    let owned = took.owned;
    this.#known.set(key, owned);
    const epoch = owned.entry.epoch;
    mkdirSync(folder, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const last =
        (await this.#jsm.streams.getMessage(LOG_STREAM, { last_by_subj: logSubject(key) }))?.seq ?? 0;
      const kept = this.#kept.get(key);
      this.#kept.delete(key);
      let file: string;
      if (kept && kept.seq === last && existsSync(kept.file)) file = kept.file;
      else {
        if (kept) removeDatabase(kept.file);
        file = join(folder, `${id}.${epoch}.sqlite`);
        const { image, from } = await this.#snapshot(key);
        const records = await this.#read(key, from, last);
        restoreDatabase(file, ns, maxBytes, image, records);
      }
      let seq: number;
      try {
        seq = await appendOnce(
          this.#js,
          key,
          encodeRecord({ e: epoch, n: this.node, ops: [], fence: true }),
          last,
          {
            msgID: `${key}.${this.node}.${epoch}.fence.${attempt}`,
            timeoutMs: 5000,
          },
        );
      } catch (err) {
        // The previous owner appended after we read: read again (it is fenced by our lease soon).
        if (err instanceof FencedError && attempt < 5) {
          removeDatabase(file);
          continue;
        }
        await this.#owners.release(key, owned).catch(() => {});
        removeDatabase(file);
        throw err;
      }
      // The lease may have been renewed meanwhile by nobody: re-read its revision for renewals.
      owned = (await this.#owners.get(key)) ?? owned;
      if (owned.entry.node !== this.node || owned.entry.epoch !== epoch) {
        removeDatabase(file);
        throw new ObjectElsewhere(owned.entry);
      }
      const storage = new ReplicatedStorage(file, ns, maxBytes, Math.min(1000, this.leaseMs / 5));
      storage.leaseUntil = owned.entry.until;
      const held: Held = {
        ns,
        id,
        owned,
        storage,
        writer: null as unknown as JournalWriter,
        sinceSnapshot: 0,
        snapshotting: false,
      };
      held.writer = new JournalWriter({
        js: this.#js,
        key,
        node: this.node,
        epoch,
        lastSeq: seq,
        maxPayload: this.#nc.info?.max_payload ?? 1024 * 1024,
        onBroken: (err) => this.#lose(key, held, err),
        onAppended: (ops) => this.#appended(key, held, ops),
      });
      storage.journal = held.writer;
      this.#held.set(key, held);
      // The alarm the journal holds is the one the network must know (a failover may have
      // happened between the append and the index write).
      await this.#indexAlarm(key, { ns, id, name: me.name, at: storage.getAlarm() });
      return storage;
    }
  }

  /** The object closed here (idle, or dropped): its lease is released, its file kept for a quick return. */
  async release(ns: string, id: string): Promise<void> {
    const key = objectKey(ns, id);
    const h = this.#held.get(key);
    if (!h) return;
    this.#held.delete(key);
    if (h.writer.broken) return removeDatabase(h.storage.file);
    try {
      await h.writer.barrier();
      await this.#owners.release(key, h.owned);
      this.#known.delete(key);
      this.#kept.set(key, { file: h.storage.file, seq: h.writer.lastSeq });
    } catch {
      removeDatabase(h.storage.file);
    }
  }

  // ---- internals ----------------------------------------------------------------------------

  #lose(key: string, h: Held, err: Error): void {
    if (this.#held.get(key) !== h) return;
    this.#held.delete(key);
    this.#known.delete(key);
    this.#o.log('warn', `Durable Object ${h.ns} ${h.id}: dropped on this node: ${err.message}`);
    this.onLost(h.ns, h.id, err);
    removeDatabase(h.storage.file);
  }

  async #appended(key: string, h: Held, ops: JournalOp[]): Promise<void> {
    let alarm: { at: number | null } | null = null;
    for (const op of ops) if (op.t === 'alarm') alarm = op;
    if (alarm) await this.#indexAlarm(key, { ns: h.ns, id: h.id, name: h.owned.entry.name, at: alarm.at });
    h.sinceSnapshot++;
    const every = this.#o.snapshotEvery ?? 1000;
    if (every > 0 && h.sinceSnapshot >= every && !h.snapshotting && h.writer.unacknowledged === 0)
      void this.#takeSnapshot(key, h);
  }

  async #indexAlarm(
    key: string,
    a: { ns: string; id: string; name: string | null; at: number | null },
  ): Promise<void> {
    if (a.at === null) {
      if (this.#alarmIndex.has(key) || (await this.#alarms.get(key))?.operation === 'PUT')
        await this.#alarms.delete(key);
    } else await this.#alarms.put(key, JSON.stringify(a));
  }

  /** The database image now (consistent: nothing unreplicated), stored; the journal before it purged. */
  async #takeSnapshot(key: string, h: Held): Promise<void> {
    h.snapshotting = true;
    try {
      const seq = h.writer.lastSeq;
      const db = h.storage.image();
      h.sinceSnapshot = 0;
      await this.#snapshots.putBlob({ name: key }, serialize({ seq, epoch: h.owned.entry.epoch, db }));
      // Kept: the record at `seq` itself (the journal's last sequence is what appends compare with).
      if (this.#held.get(key) === h && !h.writer.broken)
        await this.#jsm.streams.purge(LOG_STREAM, { filter: logSubject(key), seq });
    } catch (err) {
      this.#o.log('warn', `Durable Object ${h.ns} ${h.id}: snapshot failed: ${(err as Error).message}`);
    } finally {
      h.snapshotting = false;
    }
  }

  async #snapshot(key: string): Promise<{ image: Uint8Array | null; from: number }> {
    const blob = await this.#snapshots.getBlob(key);
    if (!blob) return { image: null, from: 1 };
    const s = deserialize(blob) as { seq: number; db: Uint8Array };
    return { image: s.db, from: s.seq + 1 };
  }

  /** The journal's records from sequence `from` through `last`, parts joined. */
  async #read(key: string, from: number, last: number): Promise<JournalRecord[]> {
    if (last < from) return [];
    const out: JournalRecord[] = [];
    const join = new PartJoiner();
    const c = await this.#js.consumers.get(LOG_STREAM, {
      filter_subjects: logSubject(key),
      opt_start_seq: from,
    });
    const it = await c.consume();
    try {
      for await (const m of it) {
        const r = join.add(m.data, m.headers?.get(PART_HEADER) || null);
        if (r) out.push(r);
        if (m.seq >= last) break;
      }
    } finally {
      await it.close()?.catch(() => {});
    }
    return out;
  }

  #start(): void {
    // Leases are renewed at a third of their length: two renewals may fail before one runs out.
    const renew = setInterval(() => void this.#renewAll(), Math.max(100, Math.floor(this.leaseMs / 3)));
    renew.unref();
    this.#timers.push(renew);
    void this.#watchAlarms();
    const sweep = setInterval(() => void this.#sweepAlarms(), 500);
    sweep.unref();
    this.#timers.push(sweep);
  }

  async #renewAll(): Promise<void> {
    for (const [key, h] of [...this.#held]) {
      if (h.writer.broken) continue;
      try {
        const next = await this.#owners.renew(key, h.owned);
        if (this.#held.get(key) !== h) continue;
        if (!next) {
          h.writer.break(new FencedError('its lease was taken by another node'));
          continue;
        }
        h.owned = next;
        h.storage.leaseUntil = next.entry.until;
      } catch (err) {
        this.#o.log(
          'warn',
          `Durable Object ${h.ns} ${h.id}: lease renewal failed: ${(err as Error).message}`,
        );
      }
    }
  }

  async #watchAlarms(): Promise<void> {
    while (!this.#closed) {
      try {
        const w = await this.#alarms.watch();
        for await (const e of w) {
          if (this.#closed) break;
          if (e.operation === 'PUT' && e.value.length > 0) this.#alarmIndex.set(e.key, e.json<AlarmEntry>());
          else this.#alarmIndex.delete(e.key);
        }
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #sweepAlarms(): Promise<void> {
    const now = Date.now();
    for (const [key, a] of this.#alarmIndex) {
      if (a.at > now || this.#held.has(key)) continue;
      // An owner seen holding the object is asked again at most twice a lease.
      const known = this.#known.get(key);
      if (known && this.holds(known.entry) && now - (this.#alarmChecked.get(key) ?? 0) < this.leaseMs / 2)
        continue;
      this.#alarmChecked.set(key, now);
      try {
        const o = await this.owner(a.ns, a.id, true);
        if (o && this.holds(o)) continue;
        // Offered once a lease: the node that takes the object fires it (or it is offered again).
        if (now - (this.#alarmTried.get(key) ?? 0) < this.leaseMs) continue;
        this.#alarmTried.set(key, now);
        this.onOrphanAlarm(a);
      } catch {}
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    // Leases go back at once, so other nodes need not wait for them to run out.
    await Promise.allSettled(
      [...this.#held].map(async ([key, h]) => {
        this.#held.delete(key);
        await h.writer.barrier().catch(() => {});
        if (!h.writer.broken) await this.#owners.release(key, h.owned);
      }),
    );
    await this.#nc.close().catch(() => {});
  }
}
