/**
 * Purges across machines: each purge is a message in the JetStream stream `OUTPOST_PURGES`
 * (kept a day), every node applies the stream in order to its own PurgeBus and acknowledges each
 * purge on `outpost.purges.ack.<id>`, so the sender can say which PoPs did and name those that
 * did not within its timeout.
 *
 * A node never serves what it cannot prove fresh:
 * - it reads the stream from where it last applied; a gap (purges that aged out before it read
 *   them) purges everything it holds;
 * - while its NATS connection is down it cannot hear purges: on the disconnect it purges
 *   everything (what it caches meanwhile came from the origin after the disconnect), and again
 *   when it reconnects, before the purges it missed replay;
 * - a process that was paused (SIGSTOP, a VM freeze) may still hold a live connection with
 *   purges unread in its socket: `checkAway()`, called before each request, sees that its
 *   clock jumped by more than `awayMs` and purges everything first.
 */

import {
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers, streamExists } from '../config/index.ts';
import type { PurgeSelector } from './http-cache.ts';
import { PURGE_EVERYTHING, type PurgeBus } from './purge.ts';

const STREAM = 'OUTPOST_PURGES';
const SUBJECT = 'outpost.purges';
const ACKS = 'outpost.purges.ack';

/** A purge as it travels: its id, the selector, who sent it. */
export interface PurgeMessage {
  id: string;
  selector: PurgeSelector;
  at: string;
}

export interface PurgeAck {
  id: string;
  node: string;
  pop: string;
  purged: number;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

async function ensureStream(nc: NatsConnection, replicas: number): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: NATS_CREATE_TIMEOUT_MS });
  await jetStreamSetup('the purge stream', async () => {
    if (await streamExists(jsm, STREAM)) return;
    await jsm.streams
      .add({
        name: STREAM,
        subjects: [SUBJECT],
        storage: StorageType.File,
        max_age: nanos(86_400_000),
        num_replicas: replicas,
      })
      .catch(async (err) => {
        // Another process made it meanwhile (nodes start together): use theirs.
        if (!(await streamExists(jsm, STREAM))) throw err;
      });
  });
}

export interface NodePurgesOptions {
  servers: string;
  node: string;
  pop: string;
  /** Where purges are applied (a PoP's caches). */
  bus: Pick<PurgeBus, 'purge'>;
  /** A clock jump larger than this means the process was away (paused), ms (default 1000). */
  awayMs?: number;
  replicas?: number;
  log?: (message: string) => void;
}

/** A node's side: apply every purge of the stream to its caches and acknowledge it. */
export class NodePurges {
  readonly #nc: NatsConnection;
  readonly #o: NodePurgesOptions;
  #messages: ConsumerMessages | null = null;
  #applied = 0;
  #tick = performance.now();
  readonly #ticker: NodeJS.Timeout;
  readonly #awayMs: number;
  #poller: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;

  private constructor(nc: NatsConnection, o: NodePurgesOptions) {
    this.#nc = nc;
    this.#o = o;
    this.#awayMs = o.awayMs ?? 1000;
    this.#ticker = setInterval(
      () => {
        this.#tick = performance.now();
      },
      Math.max(50, this.#awayMs / 5),
    );
    this.#ticker.unref();
  }

  static async connect(o: NodePurgesOptions): Promise<NodePurges> {
    // Pings every 2 s: a dead connection is noticed within ~4 s, not the default 4 minutes.
    const nc = await connect({
      servers: natsServers(o.servers),
      name: `outpost-purges-${o.node}`,
      maxReconnectAttempts: -1,
      pingInterval: 2000,
      maxPingOut: 2,
    });
    try {
      await ensureStream(nc, o.replicas ?? 1);
      const p = new NodePurges(nc, o);
      // A node starts with empty caches: only purges from now on concern it.
      const { state } = await (await jetstreamManager(nc)).streams.info(STREAM);
      p.#applied = state.last_seq;
      await p.#follow(jetstream(nc));
      p.#watchStatus();
      return p;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** Purges applied so far (the stream sequence). */
  get applied(): number {
    return this.#applied;
  }

  async #follow(js: JetStreamClient): Promise<void> {
    const consumer = await js.consumers.get(STREAM, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#applied + 1,
    });
    this.#messages = await consumer.consume();
    void (async () => {
      for await (const m of this.#messages as ConsumerMessages) await this.#apply(m.seq, m.data);
    })();
    // The consumer can stay broken after a NATS server dies while plain requests work (measured
    // on a three-server cluster): every second the stream's last sequence is also checked, and
    // purges the consumer has not delivered are read one by one.
    this.#poller = setInterval(() => {
      if (this.#polling) return;
      this.#polling = this.#catchUp().finally(() => {
        this.#polling = null;
      });
    }, 1000);
    this.#poller.unref();
  }

  async #catchUp(): Promise<void> {
    try {
      const jsm = await jetstreamManager(this.#nc);
      const { state } = await jsm.streams.info(STREAM);
      for (let seq = this.#applied + 1; seq <= state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
        if (m) await this.#apply(seq, m.data);
      }
    } catch {
      // NATS away: the disconnect handling covers it.
    }
  }

  /** One purge, once, in order; an ack to whoever sent it. */
  async #apply(seq: number, data: Uint8Array): Promise<void> {
    if (seq <= this.#applied) return; // delivered twice (the consumer and the catch-up)
    // Sequences it never saw (aged out of the stream): it cannot know what they purged.
    if (seq > this.#applied + 1) await this.#purgeAll(`purges ${this.#applied + 1}–${seq - 1} were missed`);
    this.#applied = seq;
    let msg: PurgeMessage;
    try {
      msg = dec<PurgeMessage>(data);
    } catch {
      return;
    }
    const r = await this.#o.bus.purge(msg.selector);
    const ack: PurgeAck = { id: msg.id, node: this.#o.node, pop: this.#o.pop, purged: r.purged };
    this.#nc.publish(`${ACKS}.${msg.id}`, enc(ack));
  }

  #watchStatus(): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === 'disconnect') await this.#purgeAll('the connection to NATS was lost');
        else if (s.type === 'reconnect') await this.#purgeAll('reconnected to NATS');
      }
    })();
  }

  async #purgeAll(why: string): Promise<void> {
    const r = await this.#o.bus.purge(PURGE_EVERYTHING);
    this.#o.log?.(`purged everything held here (${r.purged} entries): ${why}`);
  }

  /** Before serving a request: a process that was away purges everything first. */
  checkAway(): Promise<void> | null {
    const now = performance.now();
    const away = now - this.#tick;
    if (away <= this.#awayMs) return null;
    this.#tick = now;
    return this.#purgeAll(`this process was away for ${Math.round(away)} ms`);
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    if (this.#poller) clearInterval(this.#poller);
    this.#messages?.stop();
    await this.#nc.drain().catch(() => {});
  }
}

/**
 * The sender's side (`outpost cache purge --nats`): publish a purge and collect acknowledgements
 * until every expected node has answered or `timeoutMs` passes.
 */
export async function publishPurge(
  servers: string,
  selector: PurgeSelector,
  expected: () => { node: string; pop: string }[],
  timeoutMs: number,
  replicas = 1,
): Promise<{ id: string; acks: PurgeAck[]; missing: { node: string; pop: string }[]; ms: number }> {
  const nc = await connect({ servers: natsServers(servers), name: 'outpost-purge-cli' });
  try {
    await ensureStream(nc, replicas);
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const acks: PurgeAck[] = [];
    const sub = nc.subscribe(`${ACKS}.${id}`);
    const started = performance.now();
    const done = (async () => {
      if (expected().length === 0) return;
      const deadline = setTimeout(() => sub.unsubscribe(), timeoutMs);
      for await (const m of sub) {
        acks.push(dec<PurgeAck>(m.data));
        const want = expected();
        if (want.every((w) => acks.some((a) => a.node === w.node))) break;
      }
      clearTimeout(deadline);
    })();
    const msg: PurgeMessage = { id, selector, at: new Date().toISOString() };
    await jetstream(nc).publish(SUBJECT, enc(msg), { msgID: id });
    await done;
    const ms = performance.now() - started;
    const missing = expected().filter((w) => !acks.some((a) => a.node === w.node));
    return { id, acks, missing, ms };
  } finally {
    await nc.drain().catch(() => {});
  }
}
