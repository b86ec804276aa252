/**
 * Who owns each Durable Object in a network of nodes: the JetStream KV bucket
 * `outpost_do_owners`, one key per object (its journal key), holding the owning node, where to
 * reach it, until when its lease runs, and the lease's epoch. Every change is a compare-and-set
 * on the revision read, so two nodes taking one object at once cannot both win. A lease is
 * renewed by its owner; once it has run out (by the taker's clock: nodes need clocks in step
 * within a fraction of the lease, as NTP keeps them) another node may take the object, with the
 * next epoch. The epoch is what fences the old owner (its journal appends fail, journal.ts); the
 * lease only decides who should try.
 */
import type { KV } from '@nats-io/kv';
import { isCasFailure } from '../../config/nats.ts';

export const OWNERS_BUCKET = 'outpost_do_owners';

export interface OwnerEntry {
  /** The owning node's id (membership), its PoP and where other nodes reach it. */
  node: string;
  pop: string;
  url: string;
  epoch: number;
  /** The lease runs until (ms since the epoch, the owner's clock); 0: released. */
  until: number;
  /** `<tenant>/<class>`, the id, and the name it was made from (alarms need them). */
  ns: string;
  id: string;
  name: string | null;
}

export interface Owned {
  entry: OwnerEntry;
  revision: number;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export class Owners {
  constructor(
    readonly kv: KV,
    readonly leaseMs: number,
  ) {}

  async get(key: string): Promise<Owned | null> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
    return { entry: e.json<OwnerEntry>(), revision: e.revision };
  }

  /** Whether `entry`'s lease still holds (by this machine's clock). */
  held(entry: OwnerEntry, now = Date.now()): boolean {
    return entry.until > now;
  }

  /**
   * Take the object for `me` when nobody holds it: the next epoch, a fresh lease. Null when
   * another node holds it (or took it first); the entry that won, for the caller to follow.
   */
  async take(
    key: string,
    me: Omit<OwnerEntry, 'epoch' | 'until'>,
    seen: Owned | null,
  ): Promise<{ owned: Owned } | { other: Owned | null }> {
    const now = Date.now();
    if (seen && seen.entry.node !== me.node && this.held(seen.entry, now)) return { other: seen };
    const entry: OwnerEntry = { ...me, epoch: (seen?.entry.epoch ?? 0) + 1, until: now + this.leaseMs };
    try {
      const revision = seen
        ? await this.kv.update(key, enc(entry), seen.revision)
        : await this.kv.create(key, enc(entry));
      return { owned: { entry, revision } };
    } catch (err) {
      if (!isCasFailure(err)) throw err;
      return { other: await this.get(key) };
    }
  }

  /** Extend a lease this node holds; null when it was lost (another revision). */
  async renew(key: string, o: Owned): Promise<Owned | null> {
    const entry = { ...o.entry, until: Date.now() + this.leaseMs };
    try {
      return { entry, revision: await this.kv.update(key, enc(entry), o.revision) };
    } catch (err) {
      if (isCasFailure(err)) return null;
      throw err;
    }
  }

  /**
   * Give the object up (kept: its epoch, and its PoP for the next owner — `pop` when it is being
   * moved there).
   */
  async release(key: string, o: Owned, pop?: string): Promise<void> {
    try {
      await this.kv.update(key, enc({ ...o.entry, until: 0, ...(pop ? { pop } : {}) }), o.revision);
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }

  /**
   * Hand the object to another node (a move): the entry names that node, with a lease of its
   * own for the time it needs to take it (it takes it with the next epoch: take() lets a node
   * take over its own entry); if it never does, the lease runs out and anyone may. Other nodes
   * meanwhile send the object's calls to it. False when the entry changed since it was read.
   */
  async handOver(key: string, o: Owned, to: { node: string; url: string; pop: string }): Promise<boolean> {
    const entry: OwnerEntry = {
      ...o.entry,
      node: to.node,
      url: to.url,
      pop: to.pop,
      until: Date.now() + this.leaseMs,
    };
    try {
      await this.kv.update(key, enc(entry), o.revision);
      return true;
    } catch (err) {
      if (isCasFailure(err)) return false;
      throw err;
    }
  }
}

export { isCasFailure };
