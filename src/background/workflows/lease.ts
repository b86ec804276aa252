/**
 * Who leads Workflows among the processes of a network on NATS: a lease in a JetStream KV
 * bucket (`outpost_workflows_lease`, key `lease`, value { id, until }), taken when absent or
 * expired and renewed every second, each change a compare-and-set on the entry's revision, so
 * two processes never both take it. A holder that cannot renew gives it up before it expires
 * (wall clocks of the machines are assumed roughly in step; the journal's fencing, journal.ts,
 * is what keeps a holder that is wrong about the time from doing harm).
 */
import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const BUCKET = 'outpost_workflows_lease';
const KEY = 'lease';

export interface LeaseOptions {
  servers: string;
  /** This process's id (unique in the network). */
  id: string;
  /** How long a lease lasts without renewal, ms (default 5000); renewed every ttl/5. */
  ttlMs?: number;
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

  private constructor(nc: NatsConnection, kv: KV, o: LeaseOptions) {
    this.#nc = nc;
    this.#kv = kv;
    this.#o = o;
    this.#ttl = o.ttlMs ?? 5000;
  }

  static async connect(o: LeaseOptions): Promise<NatsLease> {
    const nc = await connect({ servers: o.servers, name: 'outpost-workflows-lease' });
    try {
      const kv = await new Kvm(jetstream(nc, { timeout: 5000 })).create(BUCKET, { history: 1 });
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
    const now = Date.now();
    let won = false;
    try {
      const e = await this.#kv.get(KEY);
      const value = JSON.stringify({ id: this.#o.id, until: now + this.#ttl });
      if (!e || e.operation !== 'PUT') {
        await this.#kv.create(KEY, value);
        won = true;
      } else {
        const v = JSON.parse(e.string()) as { id?: string; until?: number };
        if (v.id === this.#o.id || (v.until ?? 0) < now) {
          await this.#kv.update(KEY, value, e.revision);
          won = true;
        }
      }
    } catch (err) {
      const m = String((err as Error)?.message);
      if (!/wrong last sequence|key exists/i.test(m)) this.#o.onError?.(err as Error);
      // Could not renew: still the holder only while the last renewal lasts (with a margin).
      if (this.#held && Date.now() < this.#until - this.#ttl / 5) return;
    }
    if (won) this.#until = now + this.#ttl;
    this.#set(won);
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
    if (this.#held) {
      try {
        const e = await this.#kv.get(KEY);
        if (e && e.operation === 'PUT' && (JSON.parse(e.string()) as { id?: string }).id === this.#o.id)
          await this.#kv.delete(KEY, { previousSeq: e.revision });
      } catch {}
      this.#held = false;
    }
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
