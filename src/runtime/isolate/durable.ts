/**
 * Durable Objects inside the isolate (https://developers.cloudflare.com/durable-objects/api/).
 *
 * Caller side: the namespace binding (ids come from the host, which checks them), and stubs
 * whose `fetch()` and RPC methods the host routes to the one instance of the object, wherever
 * in the network it lives.
 *
 * Object side (an isolate of its own per object): the state object (`ctx`) with `storage`,
 * `blockConcurrencyWhile`, `waitUntil` and the event gate. Storage calls are synchronous host
 * calls into the object's SQLite database, so `await storage.get()` only waits for a microtask:
 * the host delivers each event to an object as a task of its own, and a task runs its microtasks
 * to the end before the next event starts — the input gate. Writes are staged on the host and
 * committed together at the end of the current task (coalesced into one atomic batch),
 * and at the latest before a response, an RPC result or a WebSocket message leaves the object —
 * the output gate: nothing is acknowledged before its writes are on disk.
 *
 * Transactions: `transaction(closure)` holds other events while it runs (as workerd runs it
 * inside blockConcurrencyWhile) and runs the closure in a request-context frame that names the
 * transaction (context.ts), so the `ctx.storage` calls of its code — also after awaits — are
 * made in it, while other code running meanwhile (an event that was already awaiting I/O, a
 * timer) stages outside it. Each transaction has a layer of its own on the host (staged.ts);
 * transactions nest, as SQLite savepoints do.
 */

import { rejectedIntrinsic } from './async.ts';
import { crossingRequest, responseFromCrossing } from './bindings/crossing.ts';
import { callAsync, callBinding, callSync, onBeforeLeaving, unsharedPrimitives } from './bridge.ts';
import { now as clockNow } from './clock.ts';
import { currentFrame, enter, resolveInFrame, thenInFrame, withTxn } from './context.ts';
import type { Response } from './response.ts';
import { MISS, StorageCache } from './storage-cache.ts';
import { internals, onBeforeSend, WebSocket, WebSocketRequestResponsePair } from './websocket.ts';

const kHex = Symbol('hex');

export class DurableObjectId {
  readonly [kHex]: string;
  readonly name: string | undefined;
  constructor(hex: string, name: string | undefined) {
    this[kHex] = hex;
    this.name = name;
  }
  toString(): string {
    return this[kHex];
  }
  equals(other: unknown): boolean {
    return other instanceof DurableObjectId && other[kHex] === this[kHex];
  }
}

/** Names a stub never treats as RPC methods (so `await stub` or inspection behave). */
const NOT_RPC = new Set(['then', 'constructor', 'toJSON', 'connect', 'dup']);
const JURISDICTIONS = new Set(['eu', 'fedramp', 'fedramp-high']);
const HINTS = new Set(['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me']);

function stub(binding: string, id: DurableObjectId, hint: string | null): object {
  const target = {
    id,
    name: id.name,
    async fetch(input: unknown, init?: Record<string, unknown>): Promise<Response> {
      // By index, not spread: a spread runs the array iterator, which tenant code may replace.
      const r = await crossingRequest(input, init);
      const meta = await callBinding(
        'do',
        binding,
        'fetch',
        id[kHex],
        id.name ?? null,
        hint,
        r[0],
        r[1],
        r[2],
        r[3],
      );
      return responseFromCrossing(meta);
    },
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'fetch' || prop === 'id' || prop === 'name') return t[prop];
      if (typeof prop !== 'string' || NOT_RPC.has(prop)) return undefined;
      // The rest list is the prelude's: sent as it is when it holds primitives alone.
      return (...args: unknown[]) =>
        callBinding('do', binding, 'rpc', id[kHex], id.name ?? null, hint, prop, unsharedPrimitives(args));
    },
  });
}

function locationHint(options: unknown): string | null {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object') throw new TypeError('get(): options must be an object');
  const hint = (options as { locationHint?: unknown }).locationHint;
  if (hint === undefined) return null;
  if (typeof hint !== 'string' || !HINTS.has(hint))
    throw new TypeError(`get(): unknown locationHint "${String(hint)}" (one of ${[...HINTS].join(', ')})`);
  return hint;
}

/** Names whose ids a namespace keeps, and the longest name kept (see idFromName). */
const NAME_CACHE_MAX = 1024;
const NAME_CACHE_KEY_MAX = 256;

export class DurableObjectNamespace {
  readonly #binding: string;
  constructor(binding: string) {
    this.#binding = binding;
  }
  /**
   * Ids by name, kept: an id is a pure function of the namespace and the name, and asking the
   * host is a synchronous crossing that stalls this isolate's thread until the host's main
   * thread answers (per request, for `getByName()` on a hot path). Bounded; the oldest go first.
   */
  readonly #byName = new Map<string, string>();
  idFromName(name: unknown): DurableObjectId {
    const n = String(name);
    let hex = this.#byName.get(n);
    if (hex === undefined) {
      hex = callSync('doId', this.#binding, 'name', n) as string;
      if (n.length <= NAME_CACHE_KEY_MAX) {
        if (this.#byName.size >= NAME_CACHE_MAX)
          this.#byName.delete(this.#byName.keys().next().value as string);
        this.#byName.set(n, hex);
      }
    }
    return new DurableObjectId(hex, n);
  }
  newUniqueId(options?: { jurisdiction?: unknown }): DurableObjectId {
    const j = options?.jurisdiction;
    if (j !== undefined && (typeof j !== 'string' || !JURISDICTIONS.has(j)))
      throw new TypeError(`newUniqueId(): unknown jurisdiction "${String(j)}"`);
    return new DurableObjectId(callSync('doId', this.#binding, 'unique', null), undefined);
  }
  idFromString(text: unknown): DurableObjectId {
    return new DurableObjectId(callSync('doId', this.#binding, 'string', text), undefined);
  }
  get(id: unknown, options?: unknown): object {
    if (!(id instanceof DurableObjectId))
      throw new TypeError('get(): the id must come from idFromName(), newUniqueId() or idFromString()');
    return stub(this.#binding, id, locationHint(options));
  }
  getByName(name: unknown, options?: unknown): object {
    return this.get(this.idFromName(name), options);
  }
  jurisdiction(j: unknown): DurableObjectNamespace {
    if (typeof j !== 'string' || !JURISDICTIONS.has(j))
      throw new TypeError(`unknown jurisdiction "${String(j)}"`);
    return this;
  }
}

// ---- Object side --------------------------------------------------------------------------

/** Writes are staged on the host and not committed yet. */
let commitQueued = false;

/** The object's storage cache (one object per isolate): ./storage-cache.ts. */
const cache = new StorageCache();

/** Commit staged writes now, if any (the output gate); throws when the disk write failed. */
export function commitWrites(): void {
  if (!commitQueued) return;
  commitQueued = false;
  try {
    callSync('doStorage', 'commit');
  } catch (err) {
    // The writes it held are gone: what the cache learnt from them is not true.
    cache.clear();
    throw err;
  }
}

// A message an object sends on a WebSocket, and any call it makes that leaves the isolate,
// leave after its writes before them are committed (the host's output gate then holds them
// until those are confirmed).
onBeforeSend(commitWrites);
onBeforeLeaving(commitWrites);

function staged(): void {
  if (commitQueued) return;
  commitQueued = true;
  // At the end of this task (a host timer is a new one): writes made in it, awaited or not,
  // commit as one batch — sooner when something leaves the object first (the output gate).
  setTimeout(() => {
    try {
      commitWrites();
    } catch (err) {
      (globalThis as any).reportError(err);
    }
  }, 0);
}

function storageCall(op: string, ...args: unknown[]): unknown {
  return callSync('doStorage', op, ...args);
}

function asPromise<T>(fn: () => T): Promise<T> {
  try {
    return resolveInFrame(fn());
  } catch (err) {
    return rejectedIntrinsic(err);
  }
}

function listOptions(o: unknown): Record<string, unknown> {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object') throw new TypeError('list(): options must be an object');
  const out: Record<string, unknown> = {};
  for (const k of ['start', 'startAfter', 'end', 'prefix'] as const) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) {
      if (typeof v !== 'string') throw new TypeError(`list(): ${k} must be a string`);
      out[k] = v;
    }
  }
  const { reverse, limit } = o as Record<string, unknown>;
  if (reverse !== undefined) out.reverse = !!reverse;
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
      throw new TypeError('list(): limit must be a positive integer');
    out.limit = limit;
  }
  if (out.start !== undefined && out.startAfter !== undefined)
    throw new TypeError('list(): start and startAfter cannot both be given');
  return out;
}

/** The transaction the code running now is inside (its frame's, while it is open); 0: none. */
function frameTxn(): number {
  const t = currentFrame()?.txn ?? 0;
  if (t === 0 || cache.open(t)) return t;
  // Its code runs on after it was rolled back (or dropped with the one it was opened in): what
  // it writes now must not commit outside it.
  const why = cache.gone(t);
  if (why) throw new Error(why);
  // Code scheduled inside a transaction that committed (a timer) runs outside any.
  return 0;
}

/** The key-value operations, for the storage object and for a transaction's `txn`. */
class KvOps {
  /** The transaction these calls are made in (0: none). */
  txnId(): number {
    return frameTxn();
  }
  get(keyOrKeys: unknown, _options?: unknown): Promise<unknown> {
    return asPromise(() => {
      const txn = this.txnId();
      if (Array.isArray(keyOrKeys)) {
        const known = cache.many(keyOrKeys);
        if (known) return new Map(known);
        const found = storageCall('get', keyOrKeys, txn) as [string, unknown, number][];
        cache.fill(keyOrKeys, found);
        return new Map(found.map(([k, v]) => [k, v]));
      }
      const known = cache.get(keyOrKeys);
      if (known !== MISS) return known;
      const found = storageCall('get', [keyOrKeys], txn) as [string, unknown, number][];
      cache.fill([keyOrKeys], found);
      return found.length ? found[0][1] : undefined;
    });
  }
  put(keyOrEntries: unknown, value?: unknown, _options?: unknown): Promise<void> {
    return asPromise(() => {
      const entries =
        typeof keyOrEntries === 'object' && keyOrEntries !== null
          ? Object.entries(keyOrEntries)
          : [[keyOrEntries, value]];
      if (typeof keyOrEntries !== 'object' && value === undefined)
        throw new TypeError('put(): a value is required (use delete() to remove a key)');
      const txn = this.txnId();
      storageCall('put', entries, txn);
      for (const [k, v] of entries) cache.wrote(k as string, v, txn);
      if (txn === 0) staged();
    });
  }
  delete(keyOrKeys: unknown, _options?: unknown): Promise<unknown> {
    return asPromise(() => {
      const many = Array.isArray(keyOrKeys);
      const keys = (many ? keyOrKeys : [keyOrKeys]) as string[];
      const txn = this.txnId();
      const n = storageCall('delete', keys, txn) as number;
      for (const k of keys) cache.deleted(k, txn);
      if (txn === 0) staged();
      return many ? n : n > 0;
    });
  }
  list(options?: unknown): Promise<Map<string, unknown>> {
    return asPromise(() => {
      const o = listOptions(options);
      // The host lists the database, so staged writes commit first: here, so that a commit that
      // fails also clears what the cache learnt from its writes (commitWrites).
      const txn = this.txnId();
      commitWrites();
      return new Map(storageCall('list', o, txn) as [string, unknown][]);
    });
  }
}

/** An async transaction's `txn`: its calls are made in it, wherever they run from. */
class Transaction extends KvOps {
  readonly #id: number;
  #rolledBack = false;
  constructor(id: number) {
    super();
    this.#id = id;
  }
  override txnId(): number {
    if (!cache.open(this.#id))
      throw new Error(
        this.#rolledBack
          ? 'this transaction was rolled back: its txn object cannot be used any more'
          : 'this transaction has ended: its txn object cannot be used after its closure returned',
      );
    return this.#id;
  }
  rollback(): void {
    if (this.#rolledBack) return; // as Cloudflare: rollback() may be called again
    const id = this.txnId();
    this.#rolledBack = true;
    cache.end(id, false, 'this transaction was rolled back: code running in it cannot use storage any more');
    storageCall('rollback', id);
  }
  deleteAll(): Promise<never> {
    return rejectedIntrinsic(new Error('Cannot call deleteAll() within a transaction'));
  }
  // Alarms are not part of a transaction (they are set or deleted at once, and stay if it rolls back).
  getAlarm(options?: unknown): Promise<number | null> {
    return storage().getAlarm(options);
  }
  setAlarm(when: unknown, options?: unknown): Promise<void> {
    return storage().setAlarm(when, options);
  }
  deleteAlarm(options?: unknown): Promise<void> {
    return storage().deleteAlarm(options);
  }
  get rolledBack(): boolean {
    return this.#rolledBack;
  }
}

/** `cursor = ctx.storage.sql.exec(query, ...bindings)`: the rows came back at once; this walks them. */
class SqlCursor {
  readonly columnNames: string[];
  readonly rowsRead: number;
  readonly rowsWritten: number;
  #rows: unknown[][];
  #i = 0;
  constructor(r: { columns: string[]; rows: unknown[][]; rowsRead: number; rowsWritten: number }) {
    this.columnNames = r.columns;
    this.#rows = r.rows;
    this.rowsRead = r.rowsRead;
    this.rowsWritten = r.rowsWritten;
  }
  #object(row: unknown[]): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.columnNames.forEach((c, i) => {
      o[c] = row[i];
    });
    return o;
  }
  next(): { done: boolean; value?: Record<string, unknown> } {
    if (this.#i >= this.#rows.length) return { done: true };
    return { done: false, value: this.#object(this.#rows[this.#i++]) };
  }
  [Symbol.iterator]() {
    return this;
  }
  toArray(): Record<string, unknown>[] {
    const out = this.#rows.slice(this.#i).map((r) => this.#object(r));
    this.#i = this.#rows.length;
    return out;
  }
  one(): Record<string, unknown> {
    const rest = this.#rows.length - this.#i;
    if (rest === 0) throw new Error('Expected exactly one result from SQL query, but got no results.');
    if (rest > 1) throw new Error('Expected exactly one result from SQL query, but got multiple results.');
    return this.#object(this.#rows[this.#i++]);
  }
  raw(): IterableIterator<unknown[]> {
    const rows = this.#rows;
    const self = this;
    return {
      next() {
        if (self.#i >= rows.length) return { done: true, value: undefined };
        return { done: false, value: rows[self.#i++] };
      },
      [Symbol.iterator]() {
        return this;
      },
    } as IterableIterator<unknown[]>;
  }
}

class SqlStorage {
  exec(query: unknown, ...bindings: unknown[]): SqlCursor {
    if (typeof query !== 'string') throw new TypeError('sql.exec(): the query must be a string');
    commitWrites(); // KV writes staged before the query are visible to it
    return new SqlCursor(storageCall('sql', query, bindings) as ConstructorParameters<typeof SqlCursor>[0]);
  }
  get databaseSize(): number {
    return storageCall('size') as number;
  }
}

/** Open a transaction inside the one the code runs in (if any): [its id, the one it is inside]. */
function begin(): [number, number] {
  const parent = frameTxn();
  const id = storageCall('begin', parent) as number;
  cache.begin(id, parent);
  return [id, parent];
}

/**
 * A transaction's closure returned: its writes join the transaction it was opened in, or the
 * batch, committed now. One that was opened inside another that ended first is gone.
 */
function settled<T>(id: number, parent: number, result: T): T {
  if (!cache.open(id))
    throw new Error(
      cache.gone(id) ??
        'this transaction was dropped: the transaction it was opened in ended before it (await a nested transaction inside the one it belongs to)',
    );
  storageCall('end', id);
  cache.end(id, true);
  if (parent === 0) {
    commitQueued = true; // the layer just joined the staged writes
    commitWrites();
  }
  return result;
}

/** The closure threw: its transaction's writes are dropped (unless already gone). */
function abandon(id: number): void {
  if (!cache.open(id)) return;
  cache.end(
    id,
    false,
    'this transaction was rolled back (its closure threw): code running in it cannot use storage any more',
  );
  storageCall('rollback', id);
}

/** This isolate's object's storage (one object per isolate). */
let objectStorage: DurableObjectStorage | null = null;
function storage(): DurableObjectStorage {
  if (!objectStorage) throw new Error('storage is only available inside a Durable Object');
  return objectStorage;
}

/** Blocks of blockConcurrencyWhile() (and async transactions) running now, with when each began. */
const blocks = new Map<Promise<void>, number>();

/** Run `fn` holding every event that arrives meanwhile (dispatch.ts waits on gate()). */
function blockWhile<T>(fn: () => Promise<T> | T): Promise<T> {
  const run = (async () => fn())();
  const hold = thenInFrame(
    run,
    () => {},
    () => {},
  );
  blocks.set(hold, clockNow());
  thenInFrame(hold, () => blocks.delete(hold));
  return run;
}

export class DurableObjectStorage extends KvOps {
  readonly #sql: SqlStorage | null;
  constructor(backend: 'kv' | 'sqlite') {
    super();
    this.#sql = backend === 'sqlite' ? new SqlStorage() : null;
  }
  get sql(): SqlStorage {
    if (!this.#sql)
      throw new Error(
        'SQL is not enabled for this Durable Object class: create it with new_sqlite_classes in a migration.',
      );
    return this.#sql;
  }
  transaction<T>(closure: (txn: Transaction) => Promise<T> | T): Promise<T> {
    if (typeof closure !== 'function')
      return rejectedIntrinsic(new TypeError('transaction(): a function is required'));
    return blockWhile(async () => {
      const [id, parent] = begin();
      const txn = new Transaction(id);
      let result: T;
      try {
        result = await enter(withTxn(currentFrame(), id), () => closure(txn));
      } catch (err) {
        abandon(id);
        throw err;
      }
      return txn.rolledBack ? result : settled(id, parent, result);
    });
  }
  transactionSync<T>(closure: () => T): T {
    // As Cloudflare: only SQLite-backed objects have it.
    if (!this.#sql) throw new Error('Durable Object is not backed by SQL.');
    if (typeof closure !== 'function') throw new TypeError('transactionSync(): a function is required');
    const [id, parent] = begin();
    let result: T;
    try {
      result = enter(withTxn(currentFrame(), id), closure);
    } catch (err) {
      abandon(id);
      throw err;
    }
    return settled(id, parent, result);
  }
  deleteAll(_options?: unknown): Promise<void> {
    return asPromise(() => {
      if (frameTxn() !== 0) throw new Error('Cannot call deleteAll() within a transaction');
      commitWrites();
      storageCall('deleteAll');
      cache.clear();
    });
  }
  sync(): Promise<void> {
    // Resolves once the writes before it are confirmed (on the disk, or replicated): the host
    // holds the call at the output gate (callHost commits them first).
    return callAsync('doSync');
  }
  getAlarm(_options?: unknown): Promise<number | null> {
    return asPromise(() => storageCall('getAlarm') as number | null);
  }
  setAlarm(when: unknown, _options?: unknown): Promise<void> {
    return asPromise(() => {
      const ms = when instanceof Date ? when.getTime() : when;
      if (typeof ms !== 'number' || !Number.isFinite(ms))
        throw new TypeError('setAlarm(): the time must be a Date or milliseconds since the epoch');
      storageCall('setAlarm', ms);
    });
  }
  deleteAlarm(_options?: unknown): Promise<void> {
    return asPromise(() => {
      storageCall('setAlarm', null);
    });
  }
}

const MAX_TAGS = 10;
const MAX_TAG_LENGTH = 256;

function checkTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))
    throw new TypeError('acceptWebSocket(): tags must be an array of strings');
  if (tags.length > MAX_TAGS) throw new RangeError(`acceptWebSocket(): at most ${MAX_TAGS} tags`);
  if (tags.some((t) => t.length > MAX_TAG_LENGTH))
    throw new RangeError(`acceptWebSocket(): a tag is at most ${MAX_TAG_LENGTH} characters`);
  return [...new Set(tags as string[])];
}

/** The hibernation API of `ctx` (the sockets themselves are held by the host). */
const hibernation = {
  acceptWebSocket(ws: unknown, tags?: unknown): void {
    if (!(ws instanceof WebSocket)) throw new TypeError('acceptWebSocket(): a WebSocket is required');
    internals.hibernate(ws, checkTags(tags));
  },
  getWebSockets(tag?: unknown): WebSocket[] {
    return internals.hibernated(tag === undefined ? undefined : String(tag));
  },
  getTags(ws: unknown): string[] {
    if (!(ws instanceof WebSocket)) throw new TypeError('getTags(): a WebSocket is required');
    return internals.tagsOf(ws);
  },
  setWebSocketAutoResponse(pair?: unknown): void {
    if (pair === undefined || pair === null) return void callSync('wsAutoResponse', null, null);
    if (!(pair instanceof WebSocketRequestResponsePair))
      throw new TypeError('setWebSocketAutoResponse(): a WebSocketRequestResponsePair is required');
    callSync('wsAutoResponse', pair.request, pair.response);
  },
  getWebSocketAutoResponseTimestamp(ws: unknown): Date | null {
    const id = ws instanceof WebSocket ? internals.hostId(ws) : null;
    const at = id === null ? null : (callSync('wsAutoResponseAt', id) as number | null);
    return at === null ? null : new Date(at);
  },
};

/** The object's single instance and its event gate. */
export interface ObjectRuntime {
  state: Record<string, unknown>;
  instance: any;
  /** Resolves when no blockConcurrencyWhile() is running. */
  gate(): Promise<unknown> | null;
  /** When the oldest block running now began (the frozen clock, ms), or null. */
  blockedSince(): number | null;
}

export function makeObject(
  cls: new (state: unknown, env: unknown) => any,
  env: unknown,
  hex: string,
  name: string | null,
  backend: 'kv' | 'sqlite',
  waitUntil: (p: unknown) => void,
  sockets: [number, string[], unknown][] = [],
): ObjectRuntime {
  // Woken from hibernation: its WebSockets are there before the constructor runs.
  for (const [id, tags, attachment] of sockets) internals.restore(id, tags, attachment);
  const state = {
    id: new DurableObjectId(hex, name ?? undefined),
    storage: (objectStorage = new DurableObjectStorage(backend)),
    waitUntil,
    ...hibernation,
    blockConcurrencyWhile<T>(fn: () => Promise<T> | T): Promise<T> {
      if (typeof fn !== 'function')
        return rejectedIntrinsic(new TypeError('blockConcurrencyWhile(): a function is required'));
      return blockWhile(fn);
    },
    /** Reset the object: this event fails, the next one gets a new instance (from storage). */
    abort(reason?: unknown): never {
      const message = `Durable Object reset: ${String(reason ?? 'abort() called')}`;
      // Writes staged before it are kept (the host would commit them as it drops the instance):
      // committed here, so that if that fails the storage cache forgets them before events still
      // in flight read it. A failure does not stop the reset.
      try {
        commitWrites();
      } catch {}
      callSync('doAbort', message);
      throw new Error(message);
    },
  };
  const rt: ObjectRuntime = {
    state,
    instance: null,
    gate: () => (blocks.size === 0 ? null : (blocks.keys().next().value as Promise<void>)),
    blockedSince: () => (blocks.size === 0 ? null : (blocks.values().next().value as number)),
  };
  // Constructed once per life in memory (again after eviction, with storage where it was).
  rt.instance = new cls(state, env);
  return rt;
}
