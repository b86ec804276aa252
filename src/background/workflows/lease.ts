/**
 * Who leads Workflows among the processes of a network on NATS: a lease in a JetStream KV
 * bucket (`outpost_workflows_lease`, key `lease`, value { id }), taken when absent or expired
 * and renewed every ttl/5, each change a compare-and-set on the entry's revision, so two
 * processes never both take it. Expiry is judged without comparing clocks: a process that has
 * seen the same revision for longer than the ttl by its own monotonic clock takes it over. A
 * holder that cannot renew (NATS unreachable) counts itself out before a contender could count
 * the lease expired, and one whose renewal is refused (someone else took it) at once. The
 * journal's fencing (journal.ts) is what keeps a holder that is wrong about it from doing harm.
 */

import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, NATS_CREATE_TIMEOUT_MS, natsServers } from '../../config/index.ts';

const BUCKET = 'outpost_workflows_lease';
const KEY = 'lease';

export interface LeaseOptions {
  servers: string;
  /** This process's id (unique in the network). */
  id: string;
  /** How long a lease lasts without renewal, ms (default 5000); renewed every ttl/5. */
  ttlMs?: number;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
  onAcquire(): void;
  onLose(): void;
  onError?(err: Error): void;
}

export class NatsLease {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #o: LeaseOptions;
  readonly #ttl: number;
  #held = false;
  /** Until when this process may act as the holder (its last successful renewal + ttl). */
  #until = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #ticking: Promise<void> = Promise.resolve();
  /** The lease entry's revision last seen, and when (monotonic ms) it was first seen. */
  #seen = { revision: -1, at: 0 };

  private constructor(nc: NatsConnection, kv: KV, o: LeaseOptions) {
    this.#nc = nc;
    this.#kv = kv;
    this.#o = o;
    this.#ttl = o.ttlMs ?? 5000;
  }

  static async connect(o: LeaseOptions): Promise<NatsLease> {
    const nc = await connect({ servers: natsServers(o.servers), name: 'outpost-workflows-lease' });
    try {
      // Made (or found) with a long timeout; used with a short one.
      const kv = await jetStreamSetup('the Workflows lease bucket', async () => {
        await new Kvm(jetstream(nc, { timeout: NATS_CREATE_TIMEOUT_MS })).create(BUCKET, {
          history: 1,
          replicas: o.replicas ?? 1,
        });
        return new Kvm(jetstream(nc, { timeout: 5000 })).open(BUCKET);
      });
      return new NatsLease(nc, kv, o);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  get held(): boolean {
    return this.#held;
  }

  start(): void {
    const loop = () => {
      if (this.#closed) return;
      this.#ticking = this.#tick().finally(() => {
        if (!this.#closed) {
          this.#timer = setTimeout(loop, this.#ttl / 5);
          this.#timer.unref();
        }
      });
    };
    loop();
  }

  async #tick(): Promise<void> {
    const now = performance.now();
    let won = false;
    try {
      const e = await this.#kv.get(KEY);
      const value = JSON.stringify({ id: this.#o.id });
      if (!e || e.operation !== 'PUT') {
        await this.#kv.create(KEY, value);
        won = true;
      } else {
        if (e.revision !== this.#seen.revision) this.#seen = { revision: e.revision, at: now };
        const mine = (JSON.parse(e.string()) as { id?: string }).id === this.#o.id;
        if (mine || now - this.#seen.at > this.#ttl) {
          await this.#kv.update(KEY, value, e.revision);
          won = true;
        }
      }
    } catch (err) {
      const m = String((err as Error)?.message);
      const refused = /wrong last sequence|key exists/i.test(m);
      if (!refused) {
        this.#o.onError?.(err as Error);
        // NATS did not answer: still the holder only while the last renewal surely lasts.
        if (this.#held && performance.now() < this.#until - (this.#ttl * 2) / 5) return;
      }
    }
    if (won) this.#until = now + this.#ttl;
    this.#set(won);
  }

  /**
   * Give the lease up now (this process stepped down): deleted if it is still this process's,
   * so another takes it at once; this process may take it again later.
   */
  async release(): Promise<void> {
    this.#held = false;
    try {
      const e = await this.#kv.get(KEY);
      if (e && e.operation === 'PUT' && (JSON.parse(e.string()) as { id?: string }).id === this.#o.id)
        await this.#kv.delete(KEY, { previousSeq: e.revision });
    } catch {}
  }

  #set(held: boolean): void {
    if (held === this.#held) return;
    this.#held = held;
    if (held) this.#o.onAcquire();
    else this.#o.onLose();
  }

  /** Stop; a held lease is given up (deleted) so another process takes over at once. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking.catch(() => {});
    if (this.#held) await this.release();
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
