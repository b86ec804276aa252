/**
 * Values by integer id, for entries that come and go with every request or call: the
 * invocations in flight in an isolate, the calls awaiting the isolate's answer.
 *
 * Why not a Map. V8's Map is an ordered hash table: once its entries and the holes deleted ones
 * leave fill it, it is copied into a new table, and the old one keeps a link to the new one (for
 * iterators still walking it). When one of those tables has reached the old generation and died
 * there, the scavenger, which does not know it is dead, keeps the next table alive through that
 * link, with every entry it holds; they are promoted, and the chain goes on until a full
 * mark-compact. With an entry set and deleted for every request, most of every request's
 * objects went that way: measured on the host serving hello world (64 connections, pinned), 11
 * to 17% of the young generation survived each scavenge, ~1 MB was promoted by each, and each
 * took ~2.7 ms, where plain `node:http` promotes nothing and takes 0.2 ms. In a small test of
 * 64 live entries churned, 24% survived with a Map and 1% with this table.
 *
 * The values sit in a dense list (a deleted one's place taken by the last), so reading them all
 * allocates nothing, as the CPU meter does at every invocation's start and end. An id's place
 * is found in an open-addressing hash table of two integer lists (slot = id's low bits, linear
 * probing, deletion by shifting the run back: no tombstones), which grows and shrinks by being
 * rebuilt, with no link from the old lists to the new. It replaced a null-prototype object with
 * integer keys: ids only grow, so that object went to a number dictionary, whose lookups,
 * deletions and rehashes cost ~330 ns per get + delete + set in a loop, against ~95 ns here.
 * Ids are positive safe integers (0 marks a free slot; set() refuses anything else).
 */
/** Slots of an empty table (a power of two). */
const MIN_SLOTS = 16;
/** Tables this size or larger shrink when nearly empty. */
const SHRINK_FROM = 1024;

export class IdTable<V> {
  /** The hash table: each slot's id (0: free) and where its value is in #values. */
  #slotIds: number[] = new Array<number>(MIN_SLOTS).fill(0);
  #slotAt: number[] = new Array<number>(MIN_SLOTS).fill(0);
  #mask = MIN_SLOTS - 1;
  #values: V[] = [];
  #ids: number[] = [];

  get size(): number {
    return this.#values.length;
  }

  /** The slot holding `id`, or -1. */
  #slot(id: number): number {
    const ids = this.#slotIds;
    const mask = this.#mask;
    // `&` takes the low 32 bits of any integer (ids past 2^32 too); a value that is not an id
    // (NaN, a fraction, a string) lands somewhere and matches nothing.
    for (let s = id & mask; ; s = (s + 1) & mask) {
      const x = ids[s];
      if (x === 0) return -1;
      if (x === id) return s;
    }
  }

  get(id: number): V | undefined {
    const s = this.#slot(id);
    return s < 0 ? undefined : this.#values[this.#slotAt[s] as number];
  }

  has(id: number): boolean {
    return this.#slot(id) >= 0;
  }

  set(id: number, value: V): this {
    const s = this.#slot(id);
    if (s >= 0) {
      this.#values[this.#slotAt[s] as number] = value;
      return this;
    }
    if (!Number.isSafeInteger(id) || id <= 0)
      throw new RangeError(`IdTable ids are positive safe integers, not ${id}`);
    // At most half the slots taken: probe runs stay short.
    if ((this.#values.length + 1) * 2 > this.#mask + 1) this.#rebuild((this.#mask + 1) * 2);
    this.#place(id, this.#values.length);
    this.#values.push(value);
    this.#ids.push(id);
    return this;
  }

  delete(id: number): boolean {
    let s = this.#slot(id);
    if (s < 0) return false;
    const at = this.#slotAt[s] as number;
    // Empty slot s, then move back each id after it (up to the next free slot) that may sit
    // there: one whose home slot is not in the cyclic range (s, j].
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
      where[this.#slot(moved)] = at;
    }
    this.#values.pop();
    this.#ids.pop();
    // A table a burst grew past SHRINK_FROM slots gives them back once nearly empty. Smaller
    // tables keep theirs: calls in flight rise and fall by dozens at every batch, and a table
    // that followed them was rebuilt several times a batch (perf).
    if (mask + 1 >= SHRINK_FROM && this.#values.length * 16 <= mask + 1) this.#rebuild((mask + 1) / 4);
    return true;
  }

  /**
   * The values, in no particular order: the table's own list, not a copy, so nothing may be
   * set or deleted while it is walked (copy it first to do that).
   */
  values(): readonly V[] {
    return this.#values;
  }

  /** The ids, in the order of values(). A copy. */
  keys(): number[] {
    return this.#ids.slice();
  }

  clear(): void {
    this.#slotIds = new Array<number>(MIN_SLOTS).fill(0);
    this.#slotAt = new Array<number>(MIN_SLOTS).fill(0);
    this.#mask = MIN_SLOTS - 1;
    this.#values = [];
    this.#ids = [];
  }

  /** Put `id` (not in the table) in its first free slot from home, its value at `at`. */
  #place(id: number, at: number): void {
    const ids = this.#slotIds;
    const mask = this.#mask;
    let s = id & mask;
    while (ids[s] !== 0) s = (s + 1) & mask;
    ids[s] = id;
    this.#slotAt[s] = at;
  }

  /** New slot lists of `size` (a power of two), every id placed again. */
  #rebuild(size: number): void {
    this.#slotIds = new Array<number>(size).fill(0);
    this.#slotAt = new Array<number>(size).fill(0);
    this.#mask = size - 1;
    for (let i = 0; i < this.#ids.length; i++) this.#place(this.#ids[i] as number, i);
  }
}
