/**
 * Who is in the network: every node registers in a JetStream KV bucket (`outpost_nodes`, key =
 * node id) and rewrites its entry every heartbeat (PoP, address, Outpost version, the versions it
 * serves, load). A reader counts a node as present while its entry keeps changing: it notes, by
 * its own monotonic clock, when it last saw a new revision, and drops the node once that is older
 * than `leaveMs` (a node killed or paused with SIGSTOP stops writing; it is back with its next
 * heartbeat). Entries already there when a reader starts are judged by the age NATS stamped on
 * them, the one place the reader's wall clock is compared with the server's. A node that shuts
 * down cleanly deletes its entry and leaves at once. Nothing here is consensus: a router needs
 * only "who answered lately", and two routers may disagree for one heartbeat.
 */

import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm, KvWatchInclude } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers } from '../config/index.ts';

const BUCKET = 'outpost_nodes';
/** Entries nobody rewrote in this long are removed by JetStream itself (ms). */
const MAX_AGE_MS = 60 * 60 * 1000;

export interface Member {
  /** Unique per node process (pop, host, pid and start time). */
  id: string;
  /** The PoP it serves, or for a shield node the shield region it is (topology `shields`). */
  pop: string;
  /** A shield node (`outpost shield`) fills PoP nodes' caches and serves no client; unset: a PoP node. */
  role?: 'shield';
  /** Where it serves HTTP (what the router forwards to). */
  url: string;
  /**
   * Where this process alone is reached, when several serve the node's `url` (`--processes N`):
   * calls for the Durable Objects it owns, and moves to it.
   */
  peer?: string;
  /**
   * How many processes serve `url` when its primary hands each connection to the process of its
   * first request's host (`--processes N`, affinity.ts): routers keep the hosts of one slot on
   * connections of their own.
   */
  processes?: number;
  /** The Outpost release it runs. */
  outpost: string;
  /** Workers and the version each serves here (and the last that failed to load). */
  workers: {
    worker: string;
    version: string | null;
    /** A gradual deployment's second version and its share, and whether clients keep theirs. */
    split?: { version: string; percentage: number };
    sticky?: boolean;
    failed?: { version: string; error: string };
  }[];
  /** Requests in flight and live isolates. */
  load: { inflight: number; isolates: number };
  /** Per version: requests, 5xx answers, CPU-limit kills and p99 since the node started. */
  health?: Record<string, { requests: number; errors: number; p99Ms: number; cpuKills: number }>;
  startedAt: string;
}

/** The members that serve a PoP (what routers, GeoDNS and deploys look at): shields left out. */
export function popNodes(members: readonly Member[]): Member[] {
  return members.filter((m) => m.role !== 'shield');
}

export interface MembershipOptions {
  servers: string;
  /** A node that has not heartbeated for this long is gone, ms (default 3000). */
  leaveMs?: number;
  replicas?: number;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Member;

export class Membership {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly leaveMs: number;
  readonly #seen = new Map<string, { member: Member; at: number }>();
  #stopWatch: (() => void) | null = null;
  #beat: NodeJS.Timeout | null = null;
  #self: string | null = null;
  #describe: (() => Member) | null = null;
  /** When the last heartbeat of any node arrived (0: none yet). */
  #lastBeat = 0;
  /** When the connection to NATS went down (null: it is up). */
  #frozenAt: number | null = null;
  /** Called when the set of present nodes may have changed. */
  onChange: () => void = () => {};

  readonly #jsm: JetStreamManager;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, kv: KV, leaveMs: number) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#kv = kv;
    this.leaveMs = leaveMs;
    this.#followStatus();
  }

  static async connect(o: MembershipOptions): Promise<Membership> {
    const leaveMs = o.leaveMs ?? 3000;
    if (!Number.isFinite(leaveMs) || leaveMs < 100)
      throw new RangeError(`leaveMs must be at least 100, received ${leaveMs}`);
    // Pings every second: an outage is noticed (and the table frozen) well within a leave interval.
    const nc = await connect({
      servers: natsServers(o.servers),
      name: 'outpost-membership',
      maxReconnectAttempts: -1,
      pingInterval: 1000,
      maxPingOut: 2,
    });
    try {
      const kvm = new Kvm(jetstream(nc, { timeout: 5000 }));
      const kvCreate = new Kvm(jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS }));
      const kv = await jetStreamSetup('the membership bucket', () =>
        kvm
          .open(BUCKET)
          .then(async (b) => {
            await b.status(); // open() does not check that the bucket exists
            return b;
          })
          .catch(async () => {
            // Made with a timeout long enough to place replicas, used with the short one.
            await kvCreate.create(BUCKET, { history: 1, ttl: MAX_AGE_MS, replicas: o.replicas ?? 1 });
            return kvm.open(BUCKET);
          }),
      );
      return new Membership(nc, await jetstreamManager(nc), kv, leaveMs);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Register and heartbeat every `intervalMs` (default leaveMs / 3) with what `describe` says
   * now. A failed write (NATS away) is retried with the next beat.
   */
  async join(describe: () => Member, intervalMs = this.leaveMs / 3): Promise<void> {
    const first = describe();
    this.#self = first.id;
    await this.#kv.put(first.id, enc(first));
    this.#describe = describe;
    this.#beat = setInterval(() => void this.beat(), intervalMs);
    this.#beat.unref();
  }

  /** Heartbeat now (after a change others should see soon); a failed write waits for the next. */
  async beat(): Promise<void> {
    if (!this.#self || !this.#describe) return;
    await this.#kv.put(this.#self, enc(this.#describe())).catch(() => {});
  }

  /** Follow the table (resolves once the entries present now are read). */
  async watch(): Promise<void> {
    // Changes from now on first, then what is there: a beat landing in between is seen twice,
    // never missed.
    const watcher = await this.#kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.#stopWatch = () => watcher.stop();
    void (async () => {
      for await (const e of watcher) {
        if (e.operation !== 'PUT') this.#seen.delete(e.key);
        else {
          this.#lastBeat = performance.now();
          this.#seen.set(e.key, { member: parse(e.value), at: this.#lastBeat });
        }
        this.onChange();
      }
    })();
    // Keys from the stream's subject counts: KV's keys() makes a consumer, which kept timing out
    // on a cluster that had just lost a server (src/control/nats-store.ts).
    const prefix = `$KV.${BUCKET}.`;
    const info = await this.#jsm.streams.info(`KV_${BUCKET}`, { subjects_filter: `${prefix}>` });
    for (const key of Object.keys(info.state.subjects ?? {}).map((k) => k.slice(prefix.length))) {
      const e = await this.#kv.get(key);
      if (!e || e.operation !== 'PUT' || this.#seen.has(key)) continue;
      const age = Math.max(0, Date.now() - e.created.getTime());
      this.#seen.set(key, { member: parse(e.value), at: performance.now() - age });
    }
    this.onChange();
  }

  /**
   * While this reader's NATS connection is down it hears no heartbeats: the table is kept as it
   * was when the connection went (a NATS outage must not empty the network; a node that dies
   * meanwhile is skipped by the router when it refuses connections), and the outage is credited
   * to every entry when the connection comes back.
   */
  #followStatus(): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect' && this.#frozenAt === null) this.#frozenAt = performance.now();
        else if (s.type === 'reconnect' && this.#frozenAt !== null) {
          const gap = performance.now() - this.#frozenAt;
          for (const e of this.#seen.values()) e.at += gap;
          if (this.#lastBeat > 0) this.#lastBeat += gap;
          this.#frozenAt = null;
          this.onChange();
        }
      }
    })();
  }

  /** The nodes present now. */
  members(): Member[] {
    let now = this.#frozenAt ?? performance.now();
    // Every node silent at once is a stalled bucket (its JetStream leader moving after a NATS
    // server died, measured at up to ~20 s), not every node dead: the table stays as it was when
    // the last heartbeat arrived. A node that really died is skipped by the router on refusal.
    if (this.#lastBeat > 0 && now - this.#lastBeat > this.leaveMs) now = this.#lastBeat;
    const out: Member[] = [];
    for (const { member, at } of this.#seen.values()) if (now - at < this.leaveMs) out.push(member);
    return out;
  }

  /** Leave: stop heartbeating and delete this node's entry (others drop it at once). */
  async leave(): Promise<void> {
    if (this.#beat) clearInterval(this.#beat);
    this.#beat = null;
    if (this.#self) await this.#kv.delete(this.#self).catch(() => {});
    this.#self = null;
  }

  get connected(): boolean {
    return !this.#nc.isClosed();
  }

  async close(): Promise<void> {
    await this.leave();
    this.#stopWatch?.();
    await this.#nc.drain().catch(() => {});
  }
}
