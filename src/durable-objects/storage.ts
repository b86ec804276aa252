/**
 * One Durable Object's storage: a SQLite database file of its own (embedded mode). The
 * key-value API lives in the hidden table `__cf_kv` (as on Cloudflare's SQLite backend), the
 * alarm in `__cf_meta`; objects of `new_sqlite_classes` also run their own SQL here. WAL with
 * synchronous=NORMAL: a write survives kill -9 when its transaction returns; before anything the
 * object says leaves, the output gate (output-gate.ts) also waits for it to be on the disk, one
 * fsync shared by the commits before it, off the main thread (wal-sync.ts). Values arrive
 * already serialized (the bridge uses V8's serializer, i.e. structured clone).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DO_LIMITS, StorageError } from './limits.ts';
import { sqlRunner } from './sql-runner.ts';
import { WalSync } from './wal-sync.ts';

export interface ListOptions {
  start?: string;
  startAfter?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
}

export interface SqlResult {
  columns: string[];
  rows: unknown[][];
  rowsRead: number;
  rowsWritten: number;
}

export class ObjectStorage {
  readonly #db: Database.Database;
  readonly #get: Database.Statement;
  readonly #put: Database.Statement;
  readonly #del: Database.Statement;
  readonly #write: (puts: [string, Uint8Array][], deletes: string[]) => number;
  /** The output gate's wait for the disk (null: in memory, or replicated: the journal is). */
  readonly walSync: WalSync | null;

  constructor(
    readonly file: string,
    /** Whose SQL time this object's statements spend (its namespace). */
    readonly namespace = file,
    /**
     * The object's storage quota (the operator's, src/config/quotas.ts): its database may grow to
     * this many bytes, key-value API and SQL together. Past it a write fails with
     * `database or disk is full: SQLITE_FULL` and is not applied; reads and deletes go on.
     */
    readonly maxBytes: number = DO_LIMITS.MAX_DATABASE_BYTES,
    /**
     * Whether outputs wait for commits to be on the disk (wal-sync.ts). A replicated object's
     * commits are made durable by its journal (cluster/replicated.ts), so its file needs no
     * fsync: after a crash it is rebuilt from the journal, never read.
     */
    fsync = true,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)
      throw new RangeError(`ObjectStorage maxBytes must be a positive integer, received ${maxBytes}`);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.walSync = fsync && file !== ':memory:' ? new WalSync(file) : null;
    // max_page_count is per connection: the SQL host sets the same cap on its own.
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    this.#db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS __cf_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS __cf_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    `);
    this.#get = this.#db.prepare('SELECT value FROM __cf_kv WHERE key = ?').pluck();
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO __cf_kv (key, value) VALUES (?, ?)');
    this.#del = this.#db.prepare('DELETE FROM __cf_kv WHERE key = ?');
    // One transaction per batch: puts coalesced by the object, and deletes, land together.
    this.#write = this.#db.transaction((puts: [string, Uint8Array][], deletes: string[]) => {
      let deleted = 0;
      for (const [k, v] of puts) this.#put.run(k, v);
      for (const k of deletes) deleted += this.#del.run(k).changes;
      return deleted;
    });
  }

  get(keys: string[]): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (const k of keys) {
      const v = this.#get.get(k) as Buffer | undefined;
      if (v !== undefined) out.push([k, v]);
    }
    return out;
  }

  /** Apply puts then deletes atomically; answers how many of the deleted keys existed. */
  write(puts: [string, Uint8Array][], deletes: string[]): number {
    if (puts.length === 0 && deletes.length === 0) return 0;
    const n = full(() => this.#write(puts, deletes));
    this.walSync?.committed();
    return n;
  }

  list(o: ListOptions): [string, Uint8Array][] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (o.start !== undefined) where.push('key >= ?') && args.push(o.start);
    if (o.startAfter !== undefined) where.push('key > ?') && args.push(o.startAfter);
    if (o.end !== undefined) where.push('key < ?') && args.push(o.end);
    if (o.prefix !== undefined && o.prefix !== '') {
      // Keys in [prefix, prefix + U+10FFFF…): a range, so the primary key index answers it.
      where.push('substr(key, 1, ?) = ?');
      args.push(o.prefix.length, o.prefix);
    }
    const sql = `SELECT key, value FROM __cf_kv${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY key ${o.reverse ? 'DESC' : 'ASC'}${o.limit !== undefined ? ' LIMIT ?' : ''}`;
    if (o.limit !== undefined) args.push(o.limit);
    return (
      this.#db
        .prepare(sql)
        .raw()
        .all(...args) as [string, Buffer][]
    ).map(([k, v]) => [k, v]);
  }

  deleteAll(): void {
    this.#db.transaction(() => {
      this.#db.exec('DELETE FROM __cf_kv; DELETE FROM __cf_meta;');
      const tables = this.#db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        .pluck()
        .all() as string[];
      for (const t of tables) this.#db.exec(`DROP TABLE "${t.replaceAll('"', '""')}"`);
    })();
    this.walSync?.committed();
  }

  /**
   * `ctx.storage.sql.exec(query, ...bindings)`: every row read at once (the cursor walks them
   * in the isolate). The statement runs in the SQL host process through the gate of
   * sql-gate.ts, within DO_LIMITS.MAX_SQL_MS and the namespace's SQL time budget
   * (sql-runner.ts says why, and what that costs).
   */
  sql(query: string, bindings: unknown[]): SqlResult {
    if (Buffer.byteLength(query) > DO_LIMITS.MAX_SQL_BYTES)
      throw new StorageError(`SQL statement too long (more than ${DO_LIMITS.MAX_SQL_BYTES} bytes)`);
    if (bindings.length > DO_LIMITS.MAX_SQL_BINDINGS)
      throw new StorageError(`too many SQL variables (more than ${DO_LIMITS.MAX_SQL_BINDINGS})`);
    if (this.file === ':memory:') throw new StorageError("SQL needs the object's database file");
    const args = sqlBindings(bindings);
    const budget = takeBudget(this.namespace);
    let penalty = 0;
    // The SQL host commits with synchronous=NORMAL for objects (sql-runner.ts): a statement that
    // changed the database is a commit the output gate must see on the disk (wal-sync.ts).
    const before = this.walSync ? this.dataVersion() : 0;
    try {
      const r = sqlRunner.run(this.file, query, args, Math.min(DO_LIMITS.MAX_SQL_MS, budget), this.maxBytes);
      // BLOBs reach the object as ArrayBuffers, as on Cloudflare.
      for (const row of r.rows)
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          if (ArrayBuffer.isView(v)) row[i] = v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
        }
      return r;
    } catch (err) {
      // An interrupted statement cost a process: its namespace pays for the next one's start.
      if (err instanceof StorageError && err.message.endsWith('SQLITE_INTERRUPT'))
        penalty = DO_LIMITS.SQL_KILL_PENALTY_MS;
      if (err instanceof StorageError) throw err;
      throw new StorageError(String((err as Error)?.message ?? err));
    } finally {
      // The statement's own time: not the wait for an SQL host to start.
      chargeBudget(this.namespace, sqlRunner.lastMs + penalty);
      if (this.walSync && this.#db.open && this.dataVersion() !== before) this.walSync.committed();
    }
  }

  databaseSize(): number {
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const size = this.#db.pragma('page_size', { simple: true }) as number;
    return pages * size;
  }

  getAlarm(): number | null {
    const v = this.#db.prepare("SELECT value FROM __cf_meta WHERE key = 'alarm'").pluck().get();
    return typeof v === 'number' ? v : null;
  }

  setAlarm(at: number | null): void {
    if (at === null) this.#db.prepare("DELETE FROM __cf_meta WHERE key = 'alarm'").run();
    else
      full(() =>
        this.#db.prepare("INSERT OR REPLACE INTO __cf_meta (key, value) VALUES ('alarm', ?)").run(at),
      );
    this.walSync?.committed();
  }

  /**
   * SQLite's `data_version` of this connection: it changes when another connection (the SQL host
   * running the object's own SQL) committed a change to the database since it was last read.
   */
  dataVersion(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  /**
   * Whether an output of the object (output-gate.ts) must wait before it leaves: here for the
   * commits before it to be on the disk (wal-sync.ts); replicated storage answers its
   * replication (cluster/replicated.ts). The object's own SQL, committed by the SQL host, counts
   * as a commit here when it changed the database (sql()).
   */
  outputWaits(): boolean {
    return this.walSync?.pending ?? false;
  }

  /** Resolves when an output may leave (outputWaits() said it must wait). */
  confirmOutput(): Promise<void> {
    return this.walSync?.confirm() ?? Promise.resolve();
  }

  /** The SQL of the database's schema (tables, indexes, triggers, views). */
  schema(): string[] {
    return this.#db.prepare('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL').pluck().all() as string[];
  }

  /** The whole database as one image (a consistent copy: what a snapshot stores). */

  image(): Buffer {
    return this.#db.serialize();
  }

  /** Bytes on disk (database and WAL), for the admin view. */
  bytesOnDisk(): number {
    if (this.file === ':memory:') return this.databaseSize();
    let n = 0;
    for (const f of [this.file, `${this.file}-wal`])
      try {
        n += statSync(f).size;
      } catch {}
    return n;
  }

  close(): void {
    this.walSync?.close();
    if (this.#db.open) this.#db.close();
    if (this.file !== ':memory:') sqlRunner.close(this.file);
  }
}

/** SQL bindings as SQLite takes them: bytes (ArrayBuffer or a view) as Uint8Array. */
export function sqlBindings(bindings: unknown[]): unknown[] {
  return bindings.map((b) =>
    b instanceof ArrayBuffer
      ? new Uint8Array(b)
      : ArrayBuffer.isView(b)
        ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
        : b,
  );
}

/**
 * A write that met the object's quota (max_page_count) fails as Cloudflare reports it, with
 * SQLite's message and code name (https://developers.cloudflare.com/durable-objects/platform/limits/);
 * better-sqlite3 has already rolled its transaction back, so nothing of it is kept.
 */
function full<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: string })?.code === 'SQLITE_FULL')
      throw new StorageError('database or disk is full: SQLITE_FULL');
    throw err;
  }
}

/**
 * SQL time per namespace: a bucket of DO_LIMITS.SQL_BUDGET_MS refilled at SQL_REFILL_MS_PER_S.
 * What a statement waited is taken from it; an empty bucket refuses statements until it refills,
 * so one tenant's SQL holds the host's main thread for at most a quarter of the time.
 */
const budgets = new Map<string, { ms: number; at: number }>();

function bucket(namespace: string): { ms: number; at: number } {
  const now = performance.now();
  let b = budgets.get(namespace);
  if (!b) {
    b = { ms: DO_LIMITS.SQL_BUDGET_MS, at: now };
    budgets.set(namespace, b);
  }
  b.ms = Math.min(DO_LIMITS.SQL_BUDGET_MS, b.ms + ((now - b.at) / 1000) * DO_LIMITS.SQL_REFILL_MS_PER_S);
  b.at = now;
  return b;
}

function takeBudget(namespace: string): number {
  const b = bucket(namespace);
  if (b.ms < 1)
    throw new StorageError(
      `Durable Object SQL time budget exhausted (${DO_LIMITS.SQL_REFILL_MS_PER_S} ms per second for this namespace); try again later: SQLITE_BUSY`,
    );
  return Math.max(1, Math.floor(b.ms));
}

function chargeBudget(namespace: string, ms: number): void {
  bucket(namespace).ms -= ms;
}
