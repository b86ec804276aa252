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
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers, streamExists } from '../../config/nats.ts';
import { appendOnce, FencedError, JournalWriter, LOG_STREAM, LOG_SUBJECTS, logSubject } from './journal.ts';
import { isCasFailure, OWNERS_BUCKET, type Owned, type OwnerEntry, Owners } from './owners.ts';
import {
  decodeRecord,
  encodeRecord,
  type JournalOp,
  type JournalRecord,
  PART_HEADER,
  PartJoiner,
} from './records.ts';
import { ReplicatedStorage } from './replicated.ts';
import { removeDatabase, restoreDatabase } from './restore.ts';

export const ALARMS_BUCKET = 'outpost_do_alarms';
export const SNAPSHOTS = 'outpost_do_snapshots';
/** Per object, the snapshot a restore starts from: `{ seq, name }`, only ever moved forward. */
export const SNAPSHOT_INDEX = 'outpost_do_snapshot_index';

/** A restore read a snapshot that a newer one replaced meanwhile: it starts over. */
class JournalGap extends Error {}

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
  /**
   * Whose objects these are: '' (default) the network's, shared by every node with the network
   * secret; otherwise a name of its own (the processes of one node without the secret,
   * `outpost node --processes N`). Objects of different scopes never meet: their keys differ,
   * and a node fires only its own scope's orphaned alarms.
   */
  scope?: string;
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
  /** The cluster's scope (ObjectClusterOptions.scope); absent: the network's. */
  scope?: string;
  ns: string;
  id: string;
  name: string | null;
  at: number;
}

/** An object's key in the buckets and the journal: per scope ('' is the network's). */
export function objectKey(ns: string, id: string, scope = ''): string {
  return createHash('sha256')
    .update(scope ? `${scope}\u0000${ns}\u0000${id}` : `${ns}\u0000${id}`)
    .digest('hex');
}

export class ObjectCluster {
  readonly node: string;
  readonly pop: string;
  readonly scope: string;
  readonly leaseMs: number;
  readonly #o: ObjectClusterOptions;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #owners: Owners;
  readonly #alarms: KV;
  readonly #snapshots: ObjectStore;
  readonly #snapIndex: KV;
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
    snapIndex: KV,
  ) {
    this.#o = o;
    this.node = o.node;
    this.pop = o.pop;
    this.scope = o.scope ?? '';
    this.leaseMs = o.leaseMs ?? 10_000;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 500)
      throw new RangeError(`Durable Object lease must be at least 500 ms, received ${o.leaseMs}`);
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#owners = new Owners(owners, this.leaseMs);
    this.#alarms = alarms;
    this.#snapshots = snapshots;
    this.#snapIndex = snapIndex;
  }

  static async connect(o: ObjectClusterOptions): Promise<ObjectCluster> {
    const nc = await connect({ servers: natsServers(o.servers), name: `outpost-objects-${o.pop}` });
    const version = nc.info?.version ?? '';
    if ((o.replicas ?? 1) > 1 && !casCheckedOnApply(version))
      o.log(
        'warn',
        `nats-server ${version} does not check a compare-and-set again when a replicated stream applies it (nats-io/nats-server#4320, fixed in 2.9.21): two nodes taking one Durable Object at the same moment can both win its lease, and an old owner's write can pass a new owner's fence. Use nats-server 2.9.21 or later with --replicas ${o.replicas}.`,
      );
    try {
      const js = jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
      const replicas = o.replicas ?? 1;
      const exists = (stream: string) => streamExists(jsm, stream);
      const kvm = new Kvm(js);
      const bucket = async (name: string) =>
        (await exists(`KV_${name}`)) ? kvm.open(name, { bindOnly: true }) : kvm.create(name, { replicas });
      const objm = new Objm(js);
      // Made by whichever node needs them first. While several nodes start at once on a cluster,
      // JetStream's metadata leader can leave a request unanswered: asked again, not fatal.
      const setup = async () => {
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
        return {
          owners: await bucket(OWNERS_BUCKET),
          alarms: await bucket(ALARMS_BUCKET),
          snapIndex: await bucket(SNAPSHOT_INDEX),
          snapshots: (await exists(`OBJ_${SNAPSHOTS}`))
            ? await objm.open(SNAPSHOTS, false)
            : await objm.create(SNAPSHOTS, { replicas }),
        };
      };
      const { owners, alarms, snapIndex, snapshots } = await jetStreamSetup(
        'the Durable Object streams and buckets',
        setup,
      );
      return new ObjectCluster(
        o,
        nc,
        jetstream(nc, { timeout: 10_000 }),
        jsm,
        owners,
        alarms,
        snapshots,
        snapIndex,
      );
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
    const key = objectKey(ns, id, this.scope);
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
    const h = this.#held.get(objectKey(ns, id, this.scope));
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
    const key = objectKey(ns, id, this.scope);
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
    // The lease is renewed while the object is rebuilt (a large one may take longer than a lease).
    let lost = false;
    let inflight: Promise<void> | null = null;
    const renewing = setInterval(
      () => {
        if (inflight) return;
        inflight = this.#owners
          .renew(key, owned)
          .then(
            (next) => {
              if (next) owned = next;
              else lost = true;
            },
            () => {},
          )
          .finally(() => {
            inflight = null;
          });
      },
      Math.max(100, Math.floor(this.leaseMs / 4)),
    );
    /** Renewals stopped, the last one settled: `owned` is the lease's latest revision. */
    const stopRenewing = async () => {
      clearInterval(renewing);
      await inflight;
    };
    renewing.unref();
    const stillOurs = () => {
      if (lost) throw new ObjectElsewhere(null);
    };
    let file = '';
    try {
      mkdirSync(folder, { recursive: true });
      for (let attempt = 0; ; attempt++) {
        stillOurs();
        const last =
          (await this.#jsm.streams.getMessage(LOG_STREAM, { last_by_subj: logSubject(key) }))?.seq ?? 0;
        const kept = this.#kept.get(key);
        this.#kept.delete(key);
        if (kept && kept.seq === last && existsSync(kept.file)) file = kept.file;
        else {
          if (kept) removeDatabase(kept.file);
          file = join(folder, `${id}.${epoch}.sqlite`);
          try {
            const { image, seq: after } = await this.#snapshot(key);
            const records = await this.#read(key, after, last);
            restoreDatabase(file, ns, maxBytes, image, records);
          } catch (err) {
            // A newer snapshot moved the journal on while this one was read: start over.
            if (err instanceof JournalGap && attempt < 5) continue;
            throw err;
          }
        }
        stillOurs();
        let seq: number;
        try {
          seq = await appendOnce(
            this.#js,
            key,
            encodeRecord({ e: epoch, n: this.node, ops: [], fence: true }),
            last,
            { msgID: `${key}.${this.node}.${epoch}.fence.${attempt}`, timeoutMs: 5000 },
          );
        } catch (err) {
          // An attempt whose answer was lost may have landed: then the journal ends with our fence.
          const end = err instanceof FencedError ? await this.#lastRecord(key) : null;
          if (end?.record.fence && end.record.e === epoch && end.record.n === this.node) seq = end.seq;
          // A later owner (a higher epoch, or this one granted twice by a server that did not
          // check the lease's compare-and-set: docs/deploying.md) has written: it is theirs.
          else if (end && (end.record.e > epoch || (end.record.e === epoch && end.record.n !== this.node)))
            throw new ObjectElsewhere(null);
          // The previous owner appended after we read: read again (its lease is ours now).
          else if ((err instanceof FencedError || err instanceof JournalGap) && attempt < 5) {
            removeDatabase(file);
            continue;
          } else throw err;
        }
        await stopRenewing();
        stillOurs();
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
        try {
          // The alarm the journal holds is the one the network must know (a failover may have
          // happened between an append and its index write).
          await this.#indexAlarm(key, { ns, id, name: me.name, at: storage.getAlarm() });
        } catch (err) {
          storage.close();
          throw err;
        }
        this.#held.set(key, held);
        return storage;
      }
    } catch (err) {
      // Nothing of it serves here: the lease goes back at once (another node, or a later call, may
      // try again) and the error says why.
      await stopRenewing();
      if (file) removeDatabase(file);
      if (!lost) await this.#owners.release(key, owned).catch(() => {});
      if (err instanceof ObjectElsewhere) throw err;
      throw new Error(`taking Durable Object ${ns} ${id} failed: ${(err as Error).message}`);
    }
  }

  /** The object closed here (idle, or dropped): its lease is released, its file kept for a quick return. */
  release(ns: string, id: string, to?: { node: string; url: string; pop: string }): Promise<void> {
    const key = objectKey(ns, id, this.scope);
    const h = this.#held.get(key);
    if (!h) return Promise.resolve();
    this.#held.delete(key);
    // close() waits for it: a lease handed back spares the next owner a lease's wait.
    const p = this.#release(key, h, to).finally(() => this.#releasing.delete(p));
    this.#releasing.add(p);
    return p;
  }

  readonly #releasing = new Set<Promise<void>>();

  async #release(key: string, h: Held, to?: { node: string; url: string; pop: string }): Promise<void> {
    if (h.writer.broken) return removeDatabase(h.storage.file);
    try {
      await h.writer.barrier();
      // A renewal in flight changes the entry's revision: the release waits for it.
      await this.#renewRound;
      if (!to) await this.#owners.release(key, h.owned);
      else if (!(await this.#owners.handOver(key, h.owned, to)))
        throw new Error('the object changed hands while it was being moved');
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
    // deleteAll() removes the alarm too.
    for (const op of ops)
      if (op.t === 'alarm') alarm = op;
      else if (op.t === 'deleteAll') alarm = { at: null };
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
    } else await this.#alarms.put(key, JSON.stringify(this.scope ? { scope: this.scope, ...a } : a));
  }

  /**
   * The database image now (consistent: nothing unreplicated) stored as `<key>.<seq>`, then the
   * object's snapshot pointer moved to it — only forward (compare-and-set, higher sequences
   * only), so a late snapshot of an owner that lost the object can never replace a newer one —
   * and the journal before it purged.
   */
  async #takeSnapshot(key: string, h: Held): Promise<void> {
    h.snapshotting = true;
    const seq = h.writer.lastSeq;
    const name = `${key}.${seq}`;
    try {
      const db = h.storage.image();
      h.sinceSnapshot = 0;
      await this.#snapshots.putBlob({ name }, serialize({ seq, epoch: h.owned.entry.epoch, db }));
      const now = await this.#snapIndex.get(key);
      const was =
        now?.operation === 'PUT' && now.value.length > 0 ? now.json<{ seq: number; name: string }>() : null;
      if (was && was.seq >= seq) {
        await this.#snapshots.delete(name).catch(() => {});
        return;
      }
      const pointer = JSON.stringify({ seq, name });
      try {
        if (now) await this.#snapIndex.update(key, pointer, now.revision);
        else await this.#snapIndex.create(key, pointer);
      } catch (err) {
        await this.#snapshots.delete(name).catch(() => {});
        if (isCasFailure(err)) return;
        throw err;
      }
      if (was) await this.#snapshots.delete(was.name).catch(() => {});
      // Kept: the record at `seq` itself (appends compare with the journal's last sequence, and a
      // restore checks that its snapshot's record is still there).
      await this.#jsm.streams.purge(LOG_STREAM, { filter: logSubject(key), seq });
    } catch (err) {
      this.#o.log('warn', `Durable Object ${h.ns} ${h.id}: snapshot failed: ${(err as Error).message}`);
    } finally {
      h.snapshotting = false;
    }
  }

  /** The journal's last record (a whole one: parts are not joined here) and its sequence. */
  async #lastRecord(key: string): Promise<{ seq: number; record: JournalRecord } | null> {
    try {
      const m = await this.#jsm.streams.getMessage(LOG_STREAM, { last_by_subj: logSubject(key) });
      if (!m || m.header?.get(PART_HEADER)) return null;
      return { seq: m.seq, record: decodeRecord(m.data) };
    } catch {
      return null;
    }
  }

  /** The object's latest snapshot: its image and the journal sequence it holds (0: none). */
  async #snapshot(key: string): Promise<{ image: Uint8Array | null; seq: number }> {
    const e = await this.#snapIndex.get(key);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return { image: null, seq: 0 };
    const { name, seq } = e.json<{ name: string; seq: number }>();
    const blob = await this.#snapshots.getBlob(name);
    if (!blob) throw new JournalGap(`snapshot ${name} is gone (a newer one replaced it)`);
    const s = deserialize(blob) as { seq: number; db: Uint8Array };
    return { image: s.db, seq };
  }

  /**
   * The journal's records after the snapshot at `after` (0: from the start) through `last`, parts
   * joined. The snapshot's own record must still be there: when a newer snapshot purged it, this
   * read started from an old snapshot, and JournalGap says to start over.
   */
  async #read(key: string, after: number, last: number): Promise<JournalRecord[]> {
    if (last <= after) return [];
    const out: JournalRecord[] = [];
    const join = new PartJoiner();
    const c = await this.#js.consumers.get(LOG_STREAM, {
      filter_subjects: logSubject(key),
      opt_start_seq: Math.max(1, after),
    });
    const it = await c.consume();
    let first = true;
    try {
      for await (const m of it) {
        if (first && after > 0) {
          first = false;
          if (m.seq !== after) throw new JournalGap(`journal record ${after} was purged meanwhile`);
          continue;
        }
        first = false;
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
    // Leases are renewed at a quarter of their length: a renewal may fail or be slow, and the
    // next still comes before the lease runs out.
    const renew = setInterval(() => void this.#renewAll(), Math.max(100, Math.floor(this.leaseMs / 4)));
    renew.unref();
    this.#timers.push(renew);
    void this.#watchAlarms();
    const sweep = setInterval(() => void this.#sweepAlarms(), 500);
    sweep.unref();
    this.#timers.push(sweep);
  }

  /** The renewal round in flight, if any (a release waits for it: it changes the revision). */
  #renewRound: Promise<void> | null = null;

  /**
   * Every held lease renewed, all at once; a round never overlaps the previous one (two renewals
   * from one revision would make the second look like a lease taken by another node).
   */
  #renewAll(): Promise<void> {
    this.#renewRound ??= this.#renewEach().finally(() => {
      this.#renewRound = null;
    });
    return this.#renewRound;
  }

  async #renewEach(): Promise<void> {
    await Promise.all(
      [...this.#held].map(async ([key, h]) => {
        if (h.writer.broken) return;
        try {
          const next = await this.#owners.renew(key, h.owned);
          // Kept even for an object released meanwhile: its release needs the latest revision.
          if (next) h.owned = next;
          if (this.#held.get(key) !== h) return;
          if (!next) return h.writer.break(new FencedError('its lease was taken by another node'));
          h.storage.leaseUntil = next.entry.until;
        } catch (err) {
          this.#o.log(
            'warn',
            `Durable Object ${h.ns} ${h.id}: lease renewal failed: ${(err as Error).message}`,
          );
        }
      }),
    );
  }

  async #watchAlarms(): Promise<void> {
    while (!this.#closed) {
      try {
        const w = await this.#alarms.watch();
        for await (const e of w) {
          if (this.#closed) break;
          const a = e.operation === 'PUT' && e.value.length > 0 ? e.json<AlarmEntry>() : null;
          if (a && (a.scope ?? '') === this.scope) this.#alarmIndex.set(e.key, a);
          else {
            this.#alarmIndex.delete(e.key);
            this.#alarmTried.delete(e.key);
            this.#alarmChecked.delete(e.key);
          }
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
    await Promise.allSettled([...this.#releasing]);
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

/**
 * Whether nats-server `version` checks an expected last sequence when a replicated (R3) stream
 * applies the message, not only on the leader before proposing it: from 2.9.21 on. Before, two
 * compare-and-sets sent with the same expected sequence could both be stored; leases and
 * journal fences rest on that check. Unknown versions are taken as checked.
 */
export function casCheckedOnApply(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return true;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major !== 2) return major > 2;
  if (minor !== 9) return minor > 9;
  return patch >= 21;
}
