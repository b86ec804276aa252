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
 * allocates nothing, as the CPU meter does at every invocation's start and end; an id's place is
 * an integer key of a plain object, kept in a number dictionary once sparse, which grows and
 * shrinks by copying with no such link. Ids are positive integers; past 2^32 − 2 they are no
 * longer array indices and become named properties: still right, slower.
 */
export class IdTable<V> {
  /** Where each id's value is in #values. */
  #at: Record<number, number> = Object.create(null);
  #values: V[] = [];
  #ids: number[] = [];

  get size(): number {
    return this.#values.length;
  }

  get(id: number): V | undefined {
    const i = this.#at[id];
    return i === undefined ? undefined : this.#values[i];
  }

  has(id: number): boolean {
    return this.#at[id] !== undefined;
  }

  set(id: number, value: V): this {
    const i = this.#at[id];
    if (i !== undefined) this.#values[i] = value;
    else {
      this.#at[id] = this.#values.length;
      this.#values.push(value);
      this.#ids.push(id);
    }
    return this;
  }

  delete(id: number): boolean {
    const i = this.#at[id];
    if (i === undefined) return false;
    delete this.#at[id];
    const last = this.#values.length - 1;
    if (i !== last) {
      const moved = this.#ids[last];
      this.#values[i] = this.#values[last];
      this.#ids[i] = moved;
      this.#at[moved] = i;
    }
    this.#values.pop();
    this.#ids.pop();
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
    this.#at = Object.create(null);
    this.#values = [];
    this.#ids = [];
  }
}
