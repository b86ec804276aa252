/**
 * A Durable Object's storage cache, inside its isolate. Cloudflare keeps one too
 * (https://blog.cloudflare.com/durable-objects-easy-fast-correct-choose-three/): a read of a key
 * the object wrote or read before answers without leaving the isolate. Here that saves a host
 * call, SQLite and a V8 deserialization (~50 µs) per get.
 *
 * Only values that need no copy are kept — numbers, booleans, bigints, null and strings of up to
 * 64 Ki characters, all immutable, so handing out the kept value is handing out a copy — plus the
 * knowledge that a key is absent. An object or array is read from the host each time (every get
 * must return a fresh copy). Bounded: MAX_KEYS keys and MAX_CHARS characters of strings, the
 * least recently used first out.
 *
 * It stays right because every write of this object's key-value storage passes through this
 * isolate: a put or delete updates it once the host accepted it; keys written inside a
 * transaction are not cached and are forgotten when it ends or rolls back (its layer may be
 * dropped); deleteAll() and a failed commit (the staged writes it held are gone) empty it.
 */

export const MISS: unique symbol = Symbol('miss');
const ABSENT: unique symbol = Symbol('absent');

const MAX_KEYS = 4096;
const MAX_CHARS = 8 * 1024 * 1024;
const MAX_STRING = 64 * 1024;
/** Cloudflare's largest get() of several keys: more go to the host, which says so. */
const MAX_GET_KEYS = 128;

function cacheable(v: unknown): boolean {
  const t = typeof v;
  return (
    v === null ||
    t === 'number' ||
    t === 'boolean' ||
    t === 'bigint' ||
    (t === 'string' && (v as string).length <= MAX_STRING)
  );
}

export class StorageCache {
  readonly #map = new Map<string, unknown>();
  #chars = 0;
  /** Keys written in the open transaction (not cached; forgotten when it ends). */
  #txn: Set<string> | null = null;
  hits = 0;

  /** The kept value (undefined: known absent), or MISS. */
  get(key: unknown): unknown {
    if (typeof key !== 'string' || this.#txn?.has(key)) return MISS;
    const v = this.#map.get(key);
    if (v === undefined) return MISS;
    // Most recently used last.
    this.#map.delete(key);
    this.#map.set(key, v);
    this.hits++;
    return v === ABSENT ? undefined : v;
  }

  /** The found keys of `keys`, in key order, when every one is known; else null. */
  many(keys: unknown[]): [string, unknown][] | null {
    if (keys.length > MAX_GET_KEYS) return null;
    const out: [string, unknown][] = [];
    for (const k of keys) {
      if (typeof k !== 'string' || this.#txn?.has(k)) return null;
      const v = this.#map.get(k);
      if (v === undefined) return null;
      if (v !== ABSENT) out.push([k, v]);
    }
    this.hits += keys.length;
    // As the host answers (staged.ts): a Map of the keys found, in key order, each once.
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out.filter((e, i) => i === 0 || e[0] !== out[i - 1][0]);
  }

  /** What the host answered for `keys`: found ones kept (when they can be), the rest absent. */
  fill(keys: unknown[], found: [string, unknown][]): void {
    const got = new Map(found);
    for (const k of keys) if (typeof k === 'string') this.#keep(k, got.has(k) ? got.get(k) : ABSENT);
  }

  /** `key` was written (put) with `value`, or deleted (ABSENT). */
  wrote(key: string, value: unknown): void {
    if (this.#txn) {
      this.#txn.add(key);
      this.#forget(key);
    } else this.#keep(key, value);
  }

  deleted(key: string): void {
    this.wrote(key, ABSENT);
  }

  begin(): void {
    this.#txn = new Set();
  }

  /** The transaction ended (committed to the batch or rolled back): what it wrote is read afresh. */
  end(): void {
    const t = this.#txn;
    this.#txn = null;
    if (t) for (const k of t) this.#forget(k);
  }

  clear(): void {
    this.#map.clear();
    this.#chars = 0;
  }

  #keep(key: string, value: unknown): void {
    if (this.#txn?.has(key)) return;
    this.#forget(key);
    if (value !== ABSENT && !cacheable(value)) return;
    this.#map.set(key, value);
    this.#chars += key.length + (typeof value === 'string' ? value.length : 0);
    while (this.#map.size > MAX_KEYS || this.#chars > MAX_CHARS) {
      const oldest = this.#map.keys().next().value as string;
      this.#forget(oldest);
    }
  }

  #forget(key: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    this.#map.delete(key);
    this.#chars -= key.length + (typeof v === 'string' ? v.length : 0);
  }
}
