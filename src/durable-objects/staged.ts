/**
 * A live object's view of its storage: writes are staged and committed as one atomic batch
 * when the object's synchronous run ends or before anything leaves the object (the isolate
 * decides when: src/runtime/isolate/durable.ts); reads see staged writes. Values are
 * serialized with V8's serializer (structured clone, as Cloudflare stores them).
 *
 * Transactions: each open transaction stages into a layer of its own, named by an id the isolate
 * passes with every call made in it (the isolate knows which calls those are: the `txn` object's,
 * and ctx.storage's from code running inside the closure). A layer may sit on another (a
 * transaction opened inside one, as SQLite's savepoints nest); reads in a transaction see its
 * layer, then the layers under it, then the staged writes, then the store. A layer joins the one
 * under it (or the staged writes) when its closure returns, and is dropped with the layers on it
 * when the closure throws or calls rollback(). Calls made outside a transaction never see an
 * open layer, so another event running while a transaction awaits I/O neither reads its writes
 * nor has its own writes rolled back with it.
 */
import { deserialize, serialize } from 'node:v8';
import { checkKeys, checkValue, type StorageBackend, StorageError } from './limits.ts';
import { sqlRunner } from './sql-runner.ts';
import type { ListOptions, ObjectStorage, SqlResult } from './storage.ts';

type Layer = Map<string, Uint8Array | null>;
interface Txn {
  layer: Layer;
  /** The transaction it was opened in (0: none). */
  parent: number;
  /** What its layer holds (and those of committed transactions opened in it), counted as below. */
  bytes: number;
}

/** Open transactions an object may hold at once (each a layer in memory). */
export const MAX_OPEN_TRANSACTIONS = 1024;
/**
 * Bytes all open transactions of an object may hold in memory on the host (values, and keys at
 * two bytes a character), until they commit: the storage quota is checked only at commit.
 */
export const MAX_TRANSACTION_BYTES = 128 * 1024 * 1024;

export class StagedStorage {
  #staged: Layer = new Map();
  readonly #txns = new Map<number, Txn>();
  #nextTxn = 1;
  #txnBytes = 0;

  constructor(
    readonly store: ObjectStorage,
    readonly backend: StorageBackend,
    /** The object set (a time, ms) or deleted (null) its alarm. */
    readonly onAlarm: (at: number | null) => void,
  ) {
    // The SQL host starts while the object loads, not inside its first statement.
    if (backend === 'sqlite') sqlRunner.warm();
  }

  /** The open transaction `id` names (0: none); a clear error for one that ended. */
  #txn(id: unknown): Txn | null {
    if (id === undefined || id === 0) return null;
    const t = typeof id === 'number' ? this.#txns.get(id) : undefined;
    if (!t)
      throw new StorageError(
        'this transaction has already ended (committed or rolled back): its txn object and the code after it cannot use it',
      );
    return t;
  }

  /** The layers a call in transaction `t` sees, innermost first. */
  #chain(t: Txn | null): Layer[] {
    const out: Layer[] = [];
    for (let c = t; c; c = c.parent ? (this.#txns.get(c.parent) ?? null) : null) out.push(c.layer);
    return out;
  }

  #lookup(key: string, chain: Layer[]): Uint8Array | null | undefined {
    for (const layer of chain) if (layer.has(key)) return layer.get(key);
    if (this.#staged.has(key)) return this.#staged.get(key);
    return undefined;
  }

  /** [key, value, its serialized bytes] of the keys found (the isolate's cache weighs values by it). */
  get(keys: unknown, txn?: unknown): [string, unknown, number][] {
    const list = checkKeys(keys);
    const chain = this.#chain(this.#txn(txn));
    const out: [string, unknown, number][] = [];
    const missing: string[] = [];
    for (const k of list) {
      const v = this.#lookup(k, chain);
      if (v === undefined) missing.push(k);
      else if (v !== null) out.push([k, deserialize(v), v.length]);
    }
    for (const [k, v] of this.store.get(missing)) out.push([k, deserialize(v), v.length]);
    // As Cloudflare: a Map of the keys found, in key order.
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  put(entries: unknown, txn?: unknown): void {
    if (!Array.isArray(entries)) throw new StorageError('put(): entries must be an object', 'TypeError');
    const keys = checkKeys(entries.map((e) => (Array.isArray(e) ? e[0] : undefined)));
    const t = this.#txn(txn);
    const layer = t?.layer ?? this.#staged;
    let size = 0;
    const bytes = entries.map(([k, v]: [string, unknown]) => {
      if (v === undefined) throw new StorageError(`put(): the value of "${k}" is undefined`, 'TypeError');
      const b = serialize(v);
      checkValue(this.backend, k, b);
      size += b.length + k.length * 2;
      return b;
    });
    if (t) {
      if (this.#txnBytes + size > MAX_TRANSACTION_BYTES)
        throw new StorageError(
          `put(): open transactions of this object would hold more than ${MAX_TRANSACTION_BYTES / 1024 / 1024} MiB of uncommitted writes; commit in smaller transactions`,
        );
      t.bytes += size;
      this.#txnBytes += size;
    }
    for (let i = 0; i < keys.length; i++) layer.set(keys[i], bytes[i]);
  }

  /** How many of `keys` existed; they are deleted with the next commit. */
  delete(keys: unknown, txn?: unknown): number {
    const list = checkKeys(keys);
    const t = this.#txn(txn);
    const chain = this.#chain(t);
    const layer = t?.layer ?? this.#staged;
    const unknown = list.filter((k) => this.#lookup(k, chain) === undefined);
    const inStore = new Set(this.store.get(unknown).map(([k]) => k));
    let n = 0;
    for (const k of list) {
      const v = this.#lookup(k, chain);
      if (v === undefined ? inStore.has(k) : v !== null) n++;
      layer.set(k, null);
    }
    return n;
  }

  list(o: ListOptions, txn?: unknown): [string, unknown][] {
    const chain = this.#chain(this.#txn(txn));
    this.commit();
    // In a transaction: the store's answer with the transaction's writes (and those of the
    // transactions it is inside) laid over it, the innermost last.
    const overlay: Layer = new Map();
    for (let i = chain.length - 1; i >= 0; i--) for (const [k, v] of chain[i]) overlay.set(k, v);
    if (overlay.size === 0) return this.store.list(o).map(([k, v]) => [k, deserialize(v)]);
    const limit = o.limit;
    const merged = new Map(
      this.store.list({ ...o, limit: limit === undefined ? undefined : limit + overlay.size }),
    );
    for (const [k, v] of overlay) {
      if (!inRange(k, o)) continue;
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    const keys = [...merged.keys()].sort();
    if (o.reverse) keys.reverse();
    return keys.slice(0, limit ?? keys.length).map((k) => [k, deserialize(merged.get(k) as Uint8Array)]);
  }

  /** Write what is staged (not an open transaction's layer) in one transaction. */
  commit(): void {
    if (this.#staged.size === 0) return;
    const puts: [string, Uint8Array][] = [];
    const deletes: string[] = [];
    for (const [k, v] of this.#staged) v === null ? deletes.push(k) : puts.push([k, v]);
    this.#staged = new Map();
    this.store.write(puts, deletes);
  }

  /** Open a transaction inside `parent` (0: at the top); its id. */
  begin(parent?: unknown): number {
    this.#txn(parent);
    if (this.#txns.size >= MAX_OPEN_TRANSACTIONS)
      throw new StorageError(
        `transaction(): at most ${MAX_OPEN_TRANSACTIONS} transactions may be open at once in one object`,
      );
    const id = this.#nextTxn++;
    this.#txns.set(id, { layer: new Map(), parent: typeof parent === 'number' ? parent : 0, bytes: 0 });
    return id;
  }

  /** Transaction `id`'s closure returned: its writes join the layer under it (or the staged writes). */
  end(id: unknown): void {
    const t = this.#txn(id);
    if (!t) throw new StorageError('end() called outside a transaction');
    // One still open inside it cannot join it any more: it fails when it ends.
    this.#drop(id as number);
    const parent = t.parent ? (this.#txns.get(t.parent) as Txn) : null;
    for (const [k, v] of t.layer) (parent?.layer ?? this.#staged).set(k, v);
    // Its bytes are the parent's now (or staged: no longer a transaction's).
    if (parent) {
      parent.bytes += t.bytes;
      this.#txnBytes += t.bytes;
    }
  }

  /** Drop transaction `id`'s writes, and those of transactions opened inside it. */
  rollback(id: unknown): void {
    if (id === undefined || id === 0) throw new StorageError('rollback() called outside a transaction');
    this.#txn(id);
    this.#drop(id as number);
  }

  /** Forget transaction `id` and those opened inside it. */
  #drop(id: number): void {
    const t = this.#txns.get(id);
    if (!t) return;
    this.#txns.delete(id);
    this.#txnBytes -= t.bytes;
    for (const [child, c] of this.#txns) if (c.parent === id) this.#drop(child);
  }

  deleteAll(): void {
    this.#staged = new Map();
    this.store.deleteAll();
    this.onAlarm(null);
  }

  sql(query: unknown, bindings: unknown): SqlResult {
    if (this.backend !== 'sqlite')
      throw new StorageError(
        'SQL is not enabled for this Durable Object class: create it with new_sqlite_classes.',
      );
    if (typeof query !== 'string' || !Array.isArray(bindings))
      throw new StorageError('sql.exec(): invalid arguments', 'TypeError');
    this.commit();
    return this.store.sql(query, bindings);
  }

  size(): number {
    return this.store.databaseSize();
  }

  getAlarm(): number | null {
    return this.store.getAlarm();
  }

  /** How many times setAlarm/deleteAlarm ran: an alarm run that changed its alarm re-armed it. */
  alarmSets = 0;

  setAlarm(at: unknown): void {
    if (at !== null && (typeof at !== 'number' || !Number.isFinite(at)))
      throw new StorageError('setAlarm(): the time must be a number of milliseconds', 'TypeError');
    this.alarmSets++;
    this.store.setAlarm(at as number | null);
    this.onAlarm(at as number | null);
  }

  /** The last output waiting to leave (settled, never rejected), or null. */
  #outputs: Promise<void> | null = null;

  /** Whether an output now would have to wait (a copy of its data is then kept). */
  outputWaits(): boolean {
    return this.#outputs !== null || this.store.outputWaits();
  }

  /**
   * The output gate for what leaves the object besides its answer (output-gate.ts): null when
   * it may leave now; else a promise that resolves once what was committed before it is
   * confirmed and the outputs before it have left, and rejects when confirmation failed.
   */
  confirmed(): Promise<void> | null {
    return this.outputWaits() ? this.#after(() => undefined) : null;
  }

  /**
   * Let an output of the object (a WebSocket message or close) leave once what was committed
   * before it is confirmed, after the outputs before it: at once when nothing is pending. When
   * confirmation fails it is dropped: the object is being dropped (its storage could not be
   * confirmed).
   */
  output(send: () => void): void {
    if (!this.outputWaits()) {
      send();
      return;
    }
    this.#after(send).catch(() => {});
  }

  /** `then` once the outputs before it have left and the commits before it are confirmed. */
  #after(then: () => void): Promise<void> {
    const wait = this.store.outputWaits() ? this.store.confirmOutput() : null;
    wait?.catch(() => {}); // observed here too: a failure is the caller's to see
    const out = (this.#outputs ?? Promise.resolve()).then(() => wait).then(then);
    const tail = out.then(
      () => {},
      () => {},
    );
    this.#outputs = tail;
    void tail.then(() => {
      if (this.#outputs === tail) this.#outputs = null;
    });
    return out;
  }

  close(): void {
    try {
      this.commit();
    } finally {
      this.store.close();
    }
  }
}

function inRange(k: string, o: ListOptions): boolean {
  if (o.prefix !== undefined && !k.startsWith(o.prefix)) return false;
  if (o.start !== undefined && k < o.start) return false;
  if (o.startAfter !== undefined && k <= o.startAfter) return false;
  if (o.end !== undefined && k >= o.end) return false;
  return true;
}
