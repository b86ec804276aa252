/**
 * A PoP's view of KV: reads come from what this PoP has cached, else from the store (a trip to
 * the central store, which pays the simulated latency), and a value read is kept for its
 * `cacheTtl` (default 60 s) — absence included — so a read after an overwrite elsewhere can
 * return the old value until then, as on Cloudflare
 * (https://developers.cloudflare.com/kv/concepts/how-kv-works/). A write is visible at once at
 * the PoP that made it.
 *
 * Workers keep what they read in their isolates (src/runtime/isolate/kv-cache.ts): a copy of
 * this PoP's cached answer with its `until` and expiration, valid while the key's *slot* — a
 * counter in memory shared with that one isolate (an array per binding per isolate, `slotsFor`)
 * — holds the value it had when the answer was read. Every change of a key's entry here (a read
 * that fills it, a put, a delete) adds one to the key's slot in every such array of the
 * namespace first, so a copy never outlives the entry it copies. Keys share slots by hash: a
 * change also drops the copies of the keys beside it, which then read here again. No two
 * isolates share an array: shared memory between isolates would be a clock between threads.
 */
import {
  KV_LIMITS,
  KvError,
  type ListOptions,
  type PutOptions,
  validateCacheTtl,
  validateKey,
  validateList,
  validatePut,
} from './limits.ts';
import { expired, type KvListResult, type KvRecord, type KvStore, seconds } from './store.ts';

export interface KvPopOptions {
  /** Default cacheTtl of a read, seconds (Cloudflare: 60). */
  cacheTtl?: number;
  now?: () => number;
  /**
   * The trip to the central store in the latency model: its round trip, ms, and whether a read
   * really waits it (latency simulation) or only reports it.
   */
  central?: { ms: number; wait: boolean };
}

/** What one operation went through: how many trips to the central store it made. */
export interface KvTrace {
  centralTrips: number;
}

interface Cached {
  record: KvRecord | null;
  until: number;
}

/** Slots per binding per isolate (1 KiB of shared memory each). */
export const KV_SLOTS = 256;

/** A key's slot (FNV-1a of its UTF-16 code units). */
export function kvSlot(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % KV_SLOTS;
}

/** What an isolate needs to keep an answer: until when it holds, and the slot that says it still does. */
export interface KvKeep {
  /** The PoP's entry holds until then (ms since the epoch). */
  until: number;
  /** The key's expiration (seconds since the epoch), or null. */
  expiration: number | null;
  /** The reading isolate's slots for the namespace (null: none given, nothing to keep). */
  slots: SharedArrayBuffer | null;
  slot: number;
  /** The slot's value when the answer was read. */
  epoch: number;
}

/** What a read returns to the binding. */
export interface KvValue {
  value: Uint8Array;
  metadata: string | null;
  /** Whether it came from this PoP's cache (`cacheStatus` in list results, and the admin view). */
  cached: boolean;
}

export class KvPop {
  readonly #cache = new Map<string, Cached>();
  /** Per namespace, the slot arrays isolates hold (weakly: an isolate's binding that is gone lets go). */
  readonly #slots = new Map<string, Set<WeakRef<Int32Array>>>();
  /** Copies in isolates follow real time: with another clock (tests) answers are not kept. */
  readonly #realClock: boolean;
  readonly #now: () => number;
  readonly cacheTtl: number;
  readonly central: { ms: number; wait: boolean };

  constructor(
    readonly id: string,
    readonly store: KvStore,
    options: KvPopOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#realClock = options.now === undefined;
    this.central = options.central ?? { ms: 0, wait: false };
    this.cacheTtl = options.cacheTtl ?? 60;
  }

  async #trip(trace: KvTrace | undefined): Promise<void> {
    if (trace) trace.centralTrips++;
    const { ms, wait } = this.central;
    if (wait && ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  async get(ns: string, key: string, cacheTtl?: number, trace?: KvTrace): Promise<KvValue | null> {
    return (await this.read(ns, key, cacheTtl, trace)).value;
  }

  /**
   * A read with what an isolate needs to keep its answer (KvKeep), given that isolate's slots
   * for the namespace (`slotsFor`).
   */
  async read(
    ns: string,
    key: string,
    cacheTtl?: number,
    trace?: KvTrace,
    slots?: Int32Array,
  ): Promise<{ value: KvValue | null; keep: KvKeep }> {
    validateKey(key);
    validateCacheTtl(cacheTtl);
    const now = this.#now();
    const k = `${ns}\u001f${key}`;
    let entry = this.#cache.get(k);
    let cached = true;
    if (!entry || entry.until <= now) {
      await this.#trip(trace);
      const record = await this.store.read(ns, key, this.id, now);
      entry = { record, until: now + (cacheTtl ?? this.cacheTtl) * 1000 };
      this.#set(ns, key, entry);
      cached = false;
    }
    // Read with the entry, in the same synchronous run: a later change moves the slot on.
    const slot = kvSlot(key);
    const keep: KvKeep = {
      until: this.#realClock && slots ? entry.until : 0,
      expiration: entry.record?.expiration ?? null,
      slots: slots ? (slots.buffer as SharedArrayBuffer) : null,
      slot,
      epoch: slots ? Atomics.load(slots, slot) : 0,
    };
    const r = entry.record;
    const value = !r || expired(r, now) ? null : { value: r.value, metadata: r.metadata, cached };
    return { value, keep };
  }

  /** New slots for one isolate's binding to `ns`: its copies of this PoP's answers follow them. */
  slotsFor(ns: string): Int32Array {
    const slots = new Int32Array(new SharedArrayBuffer(KV_SLOTS * 4));
    let set = this.#slots.get(ns);
    if (!set) {
      set = new Set();
      this.#slots.set(ns, set);
    }
    set.add(new WeakRef(slots));
    return slots;
  }

  /** Change a key's entry: its slot moves on first in every isolate's array (their copies stop holding). */
  #set(ns: string, key: string, entry: Cached): void {
    const set = this.#slots.get(ns);
    if (set) {
      const slot = kvSlot(key);
      for (const ref of set) {
        const slots = ref.deref();
        if (slots) Atomics.add(slots, slot, 1);
        else set.delete(ref);
      }
    }
    this.#cache.set(`${ns}\u001f${key}`, entry);
  }

  async getMany(
    ns: string,
    keys: string[],
    cacheTtl?: number,
    trace?: KvTrace,
  ): Promise<Map<string, KvValue | null>> {
    if (keys.length > KV_LIMITS.MAX_BULK_KEYS)
      throw new KvError(400, `You can request a maximum of ${KV_LIMITS.MAX_BULK_KEYS} keys`);
    const out = new Map<string, KvValue | null>();
    for (const key of keys) out.set(key, await this.get(ns, key, cacheTtl, trace));
    return out;
  }

  async put(ns: string, key: string, value: Uint8Array, options: PutOptions = {}): Promise<void> {
    const now = this.#now();
    const expiration = validatePut(key, value.byteLength, options, seconds(now));
    const metadata = options.metadata ?? null;
    const version = await this.store.write(ns, key, { value, metadata, expiration }, this.id, now);
    // Read-your-writes at this PoP.
    this.#set(ns, key, {
      record: { key, value, metadata, expiration, version, writtenAt: now, pop: this.id },
      until: now + this.cacheTtl * 1000,
    });
  }

  async delete(ns: string, key: string): Promise<void> {
    validateKey(key);
    const now = this.#now();
    await this.store.write(ns, key, { value: null, metadata: null, expiration: null }, this.id, now);
    this.#set(ns, key, { record: null, until: now + this.cacheTtl * 1000 });
  }

  async list(ns: string, options: ListOptions, trace?: KvTrace): Promise<KvListResult> {
    const o = validateList(options);
    await this.#trip(trace);
    return this.store.list(ns, o, this.id, this.#now());
  }

  /** Which version this PoP's cache holds of a key (undefined: nothing cached). */
  cachedVersion(ns: string, key: string): number | null | undefined {
    const c = this.#cache.get(`${ns}\u001f${key}`);
    if (!c || c.until <= this.#now()) return undefined;
    return c.record ? c.record.version : null;
  }
}
