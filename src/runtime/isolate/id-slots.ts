/**
 * Values by integer id (0 and up, safe integers), for the prelude's entries that come and go with every
 * invocation or host call: the calls awaiting the host's answer, each invocation's waitUntil
 * list, the response bodies streaming out.
 *
 * The host's IdTable (src/runtime/id-table.ts) says why not a Map (a Map churned per request
 * keeps dead requests alive through the scavenger) nor a null-prototype object with integer
 * keys (ids only grow, so it becomes a slow number dictionary). This is the same open-addressing
 * table, written for the isolate: it calls no method tenant code can replace (no
 * `Array.prototype.push`, `fill` or `pop`: lists without a prototype, grown and cut by index
 * and `length`), so a tenant that patches Array.prototype neither sees nor breaks it.
 */

/** Slots of an empty table (a power of two). */
const MIN_SLOTS = 16;
/** Tables this size or larger shrink when nearly empty (smaller ones follow every batch otherwise). */
const SHRINK_FROM = 1024;
const setPrototypeOf = Object.setPrototypeOf;
const isSafeInteger = Number.isSafeInteger;

function zeros(n: number): number[] {
  const list: number[] = setPrototypeOf([], null);
  for (let i = 0; i < n; i++) list[i] = 0;
  return list;
}

export class IdSlots<V> {
  /** Each slot's id + 1 (0: free) and where its value is in #values. */
  #slotIds = zeros(MIN_SLOTS);
  #slotAt = zeros(MIN_SLOTS);
  #mask = MIN_SLOTS - 1;
  #values: V[] = setPrototypeOf([], null);
  /** The id + 1 of each value, in the order of #values. */
  #ids: number[] = setPrototypeOf([], null);

  get size(): number {
    return this.#values.length;
  }

  /** The slot holding `id`, or -1. Anything that is not an id (NaN, a fraction) matches nothing. */
  #slot(id: number): number {
    const key = id + 1;
    const ids = this.#slotIds;
    const mask = this.#mask;
    for (let s = key & mask; ; s = (s + 1) & mask) {
      const x = ids[s];
      if (x === 0) return -1;
      if (x === key) return s;
    }
  }

  get(id: number): V | undefined {
    const s = this.#slot(id);
    return s < 0 ? undefined : this.#values[this.#slotAt[s] as number];
  }

  has(id: number): boolean {
    return this.#slot(id) >= 0;
  }

  /** Ids are safe integers from 0 up: anything else throws a RangeError. */
  set(id: number, value: V): void {
    const s = this.#slot(id);
    if (s >= 0) {
      this.#values[this.#slotAt[s] as number] = value;
      return;
    }
    if (typeof id !== 'number' || !isSafeInteger(id) || id < 0)
      throw new RangeError(`ids are safe integers from 0 up, not ${typeof id === 'number' ? id : typeof id}`);
    const n = this.#values.length;
    if ((n + 1) * 2 > this.#mask + 1) this.#rebuild((this.#mask + 1) * 2);
    this.#place(id + 1, n);
    this.#values[n] = value;
    this.#ids[n] = id + 1;
  }

  delete(id: number): boolean {
    let s = this.#slot(id);
    if (s < 0) return false;
    const at = this.#slotAt[s] as number;
    // Empty slot s, then move back each id after it (up to the next free slot) whose home slot
    // is not in the cyclic range (s, j].
    const ids = this.#slotIds;
    const where = this.#slotAt;
    const mask = this.#mask;
    for (let j = (s + 1) & mask; ; j = (j + 1) & mask) {
      const x = ids[j] as number;
      if (x === 0) break;
      const home = x & mask;
      if (j > s ? home <= s || home > j : home <= s && home > j) {
        ids[s] = x;
        where[s] = where[j] as number;
        s = j;
      }
    }
    ids[s] = 0;
    where[s] = 0;
    const last = this.#values.length - 1;
    if (at !== last) {
      const moved = this.#ids[last] as number;
      this.#values[at] = this.#values[last] as V;
      this.#ids[at] = moved;
      where[this.#slot(moved - 1)] = at;
    }
    this.#values.length = last;
    this.#ids.length = last;
    if (mask + 1 >= SHRINK_FROM && last * 16 <= mask + 1) this.#rebuild((mask + 1) / 4);
    return true;
  }

  /** Put `key` (an id + 1, not in the table) in its first free slot from home, its value at `at`. */
  #place(key: number, at: number): void {
    const ids = this.#slotIds;
    const mask = this.#mask;
    let s = key & mask;
    while (ids[s] !== 0) s = (s + 1) & mask;
    ids[s] = key;
    this.#slotAt[s] = at;
  }

  /** New slot lists of `size` (a power of two), every id placed again. */
  #rebuild(size: number): void {
    this.#slotIds = zeros(size);
    this.#slotAt = zeros(size);
    this.#mask = size - 1;
    const ids = this.#ids;
    for (let i = 0; i < ids.length; i++) this.#place(ids[i] as number, i);
  }
}
