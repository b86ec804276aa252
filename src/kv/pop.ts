/**
 * A PoP's view of KV: reads come from what this PoP has cached, else from the store (a trip to
 * the central store, which pays the simulated latency), and a value read is kept for its
 * `cacheTtl` (default 60 s) — absence included — so a read after an overwrite elsewhere can
 * return the old value until then, as on Cloudflare
 * (https://developers.cloudflare.com/kv/concepts/how-kv-works/). A write is visible at once at
 * the PoP that made it.
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

/** What a read returns to the binding. */
export interface KvValue {
  value: Uint8Array;
  metadata: string | null;
  /** Whether it came from this PoP's cache (`cacheStatus` in list results, and the admin view). */
  cached: boolean;
}

export class KvPop {
  readonly #cache = new Map<string, Cached>();
  readonly #now: () => number;
  readonly cacheTtl: number;
  readonly central: { ms: number; wait: boolean };

  constructor(
    readonly id: string,
    readonly store: KvStore,
    options: KvPopOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.central = options.central ?? { ms: 0, wait: false };
    this.cacheTtl = options.cacheTtl ?? 60;
  }

  async #trip(trace: KvTrace | undefined): Promise<void> {
    if (trace) trace.centralTrips++;
    const { ms, wait } = this.central;
    if (wait && ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  async get(ns: string, key: string, cacheTtl?: number, trace?: KvTrace): Promise<KvValue | null> {
    validateKey(key);
    validateCacheTtl(cacheTtl);
    const now = this.#now();
    const k = `${ns}\u001f${key}`;
    const hit = this.#cache.get(k);
    if (hit && hit.until > now) {
      if (!hit.record || expired(hit.record, now)) return null;
      return { value: hit.record.value, metadata: hit.record.metadata, cached: true };
    }
    await this.#trip(trace);
    const record = await this.store.read(ns, key, this.id, now);
    this.#cache.set(k, { record, until: now + (cacheTtl ?? this.cacheTtl) * 1000 });
    return record ? { value: record.value, metadata: record.metadata, cached: false } : null;
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
    this.#cache.set(`${ns}\u001f${key}`, {
      record: { key, value, metadata, expiration, version, writtenAt: now, pop: this.id },
      until: now + this.cacheTtl * 1000,
    });
  }

  async delete(ns: string, key: string): Promise<void> {
    validateKey(key);
    const now = this.#now();
    await this.store.write(ns, key, { value: null, metadata: null, expiration: null }, this.id, now);
    this.#cache.set(`${ns}\u001f${key}`, { record: null, until: now + this.cacheTtl * 1000 });
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
