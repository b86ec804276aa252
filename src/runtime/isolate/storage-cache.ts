/**
 * A Durable Object's storage cache, inside its isolate. Cloudflare keeps one too
 * (https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/): a read of a key
 * the object wrote or read before answers without leaving the isolate. Here that saves a host
 * call, SQLite and a V8 deserialization (~50 µs) per get.
 *
 * Immutable values — numbers, booleans, bigints, null and strings of up to 64 Ki characters — are
 * kept as they are: handing out the kept value is handing out a copy. Objects and arrays (of up
 * to 64 KiB serialized, as the host measured them) are kept as a private copy, and each get hands
 * out a new copy of it, made in this isolate with V8's serializer as storage makes one (a few µs,
 * not a crossing): what the caller does to what it got never reaches the cache. An object is kept
 * once read (a put of one forgets the key: see wrote()). The knowledge that a key is absent is
 * kept too. Bounded: MAX_KEYS keys and MAX_UNITS of strings (characters) and copies
 * (serialized bytes, weighed 16x for the heap), the least recently used first out.
 *
 * It stays right because every write of this object's key-value storage passes through this
 * isolate: a put or delete updates it once the host accepted it; keys written inside a
 * transaction are not cached while it is open (reads of them, in it or outside it, go to the
 * host, which knows its layer) and are forgotten when it ends or rolls back (its layer may be
 * dropped); deleteAll() and a failed commit (the staged writes it held are gone) empty it. It
 * also keeps which transactions are open, and inside which (their ids come from the host).
 */
import { host } from './bridge.ts';

export const MISS: unique symbol = Symbol('miss');
const ABSENT: unique symbol = Symbol('absent');

const MAX_KEYS = 4096;
/** Rolled-back transactions remembered (their code, still running, is refused storage). */
const MAX_GONE = 1024;
/** Characters of strings plus bytes of copies (and key lengths) kept at most. */
const MAX_UNITS = 8 * 1024 * 1024;
const MAX_STRING = 64 * 1024;
/** The largest object or array kept, serialized. */
const MAX_COPY_BYTES = 64 * 1024;
/**
 * Units an object's serialized byte counts for: on the isolate's heap, small objects and arrays
 * take many times their serialized size (8-30x for arrays of small objects), and the cache must
 * not spend the tenant's memory limit unseen. At 16, copies hold at most 512 KiB serialized.
 */
const COPY_WEIGHT = 16;

/** Options with no prototype: isolated-vm must not read a tenant's Object.prototype properties. */
const NO_OPTIONS = Object.freeze({ __proto__: null });

/** A copy of `v` made in this isolate by V8's serializer (as structuredClone); throws if it cannot be. */
export function copyValue<T>(v: T): T {
  const c = new host.ivm.ExternalCopy(v, NO_OPTIONS);
  try {
    return c.copy(NO_OPTIONS) as T;
  } finally {
    c.release();
  }
}

/** An object or array kept: each get hands out a copy of `value`. */
class Kept {
  constructor(
    readonly value: unknown,
    readonly bytes: number,
  ) {}
}
/** Cloudflare's largest get() of several keys: more go to the host, which says so. */
const MAX_GET_KEYS = 128;

function immutable(v: unknown): boolean {
  const t = typeof v;
  return (
    v === null ||
    t === 'number' ||
    t === 'boolean' ||
    t === 'bigint' ||
    (t === 'string' && (v as string).length <= MAX_STRING)
  );
}

const unitsOf = (key: string, v: unknown): number =>
  key.length + (typeof v === 'string' ? v.length : v instanceof Kept ? v.bytes * COPY_WEIGHT : 0);

/** What a get hands out for a kept entry. */
const out = (v: unknown): unknown => (v instanceof Kept ? copyValue(v.value) : v);

export class StorageCache {
  readonly #map = new Map<string, unknown>();
  #units = 0;
  /** Open transactions: the one each was opened in (0: none) and the keys written in it. */
  readonly #txns = new Map<number, { parent: number; keys: Set<string> }>();
  /** Transactions rolled back or dropped, recently: why code still running in one cannot write. */
  readonly #gone = new Map<number, string>();
  hits = 0;

  /** Whether an open transaction wrote `key` (its value then depends on who asks). */
  #written(key: string): boolean {
    if (this.#txns.size === 0) return false;
    for (const t of this.#txns.values()) if (t.keys.has(key)) return true;
    return false;
  }

  /** The kept value (undefined: known absent), or MISS. */
  get(key: unknown): unknown {
    if (typeof key !== 'string' || this.#written(key)) return MISS;
    const v = this.#map.get(key);
    if (v === undefined) return MISS;
    // Most recently used last.
    this.#map.delete(key);
    this.#map.set(key, v);
    this.hits++;
    return v === ABSENT ? undefined : out(v);
  }

  /** The found keys of `keys`, in key order, when every one is known; else null. */
  many(keys: unknown[]): [string, unknown][] | null {
    if (keys.length > MAX_GET_KEYS) return null;
    const found: [string, unknown][] = [];
    for (const k of keys) {
      if (typeof k !== 'string' || this.#written(k)) return null;
      const v = this.#map.get(k);
      if (v === undefined) return null;
      if (v !== ABSENT) found.push([k, v]);
    }
    this.hits += keys.length;
    // As the host answers (staged.ts): a Map of the keys found, in key order, each once.
    found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return found.filter((e, i) => i === 0 || e[0] !== found[i - 1][0]).map(([k, v]) => [k, out(v)]);
  }

  /**
   * What the host answered for `keys` ([key, value, serialized bytes] of those found): found ones
   * kept (when they can be; an object as a copy, the caller keeps what the host sent), the rest
   * absent.
   */
  fill(keys: unknown[], found: [string, unknown, number?][]): void {
    const got = new Map<string, [unknown, number | undefined]>();
    for (const [k, v, bytes] of found) got.set(k, [v, bytes]);
    for (const k of keys) {
      if (typeof k !== 'string') continue;
      const g = got.get(k);
      if (!g) this.#keep(k, ABSENT);
      else if (immutable(g[0])) this.#keep(k, g[0]);
      else if (typeof g[0] !== 'object' || typeof g[1] !== 'number' || g[1] > MAX_COPY_BYTES) this.#forget(k);
      else this.#keepCopy(k, g[0], g[1]);
    }
  }

  /**
   * `key` was written (put) with `value`, or deleted (ABSENT), in transaction `txn` (0: none). An
   * object or array put is not kept: keeping it would take a copy of it here (the caller may
   * change it after the put), and that copy made every put of an object ~2x slower (+40 µs,
   * bench/durable.ts); it is kept once read.
   */
  wrote(key: string, value: unknown, txn = 0): void {
    const t = txn === 0 ? undefined : this.#txns.get(txn);
    if (t) {
      t.keys.add(key);
      this.#forget(key);
    } else if (value === ABSENT || immutable(value)) this.#keep(key, value);
    else this.#forget(key);
  }

  deleted(key: string, txn = 0): void {
    this.wrote(key, ABSENT, txn);
  }

  /** The host opened transaction `id` inside `parent` (0: none). */
  begin(id: number, parent: number): void {
    this.#txns.set(id, { parent, keys: new Set() });
  }

  /** Whether transaction `id` is open (0 never is). */
  open(id: number): boolean {
    return this.#txns.has(id);
  }

  /** Why code of transaction `id` may not use storage any more (rolled back, dropped), or undefined. */
  gone(id: number): string | undefined {
    return this.#gone.get(id);
  }

  /**
   * Transaction `id` ended: committed (its writes join the transaction it was opened in, whose
   * keys they become) or rolled back (`rolledBack` says why its code may not write any more).
   * Either way what it wrote is read afresh, and transactions still open inside it are gone
   * (the host dropped them).
   */
  end(id: number, committed: boolean, rolledBack?: string): void {
    const t = this.#txns.get(id);
    if (!t) return;
    this.#drop(id);
    if (!committed) this.#markGone(id, rolledBack ?? 'this transaction was rolled back');
    const under = committed && t.parent !== 0 ? this.#txns.get(t.parent) : undefined;
    for (const k of t.keys) {
      under?.keys.add(k);
      this.#forget(k);
    }
  }

  #drop(id: number): void {
    const t = this.#txns.get(id);
    if (!t) return;
    this.#txns.delete(id);
    for (const [child, c] of this.#txns)
      if (c.parent === id) {
        for (const k of c.keys) this.#forget(k);
        this.#markGone(
          child,
          'this transaction was dropped: the transaction it was opened in ended before it (await a nested transaction inside the one it belongs to)',
        );
        this.#drop(child);
      }
  }

  #markGone(id: number, why: string): void {
    this.#gone.set(id, why);
    // Remembered for the most recent ones only (code running on in an old one then writes outside).
    if (this.#gone.size > MAX_GONE) this.#gone.delete(this.#gone.keys().next().value as number);
  }

  clear(): void {
    this.#map.clear();
    this.#units = 0;
  }

  /** Keep a copy of `value` (the caller keeps `value` itself); one that cannot be copied is not kept. */
  #keepCopy(key: string, value: unknown, bytes: number): void {
    let copy: unknown;
    try {
      copy = copyValue(value);
    } catch {
      this.#forget(key);
      return;
    }
    this.#keep(key, new Kept(copy, bytes));
  }

  /** Keep `value`: ABSENT, an immutable value or a Kept copy. */
  #keep(key: string, value: unknown): void {
    if (this.#written(key)) return;
    this.#forget(key);
    this.#map.set(key, value);
    this.#units += unitsOf(key, value);
    while (this.#map.size > MAX_KEYS || this.#units > MAX_UNITS) {
      const oldest = this.#map.keys().next().value as string;
      this.#forget(oldest);
    }
  }

  #forget(key: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    this.#map.delete(key);
    this.#units -= unitsOf(key, v);
  }
}
