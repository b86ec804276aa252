/**
 * The embedded KV store: every namespace in one SQLite file (better-sqlite3), holding each
 * key's recent versions so a read can answer as a PoP sees it. A write made at PoP A is
 * visible to A at once and to every other PoP `propagationMs` later, plus a jitter that is a
 * pure function of the seed, the version and the PoP (so runs are repeatable). Versions older
 * than the newest one every PoP can see are pruned on write.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_QUOTAS } from '../config/index.ts';
import { checkQuota, recordBytes } from './quota.ts';
import {
  decodeCursor,
  encodeCursor,
  expired,
  type KvKeyState,
  type KvListResult,
  type KvRecord,
  type KvStore,
  type KvWrite,
} from './store.ts';

export interface SqliteKvStoreOptions {
  /** The database file (':memory:' for none). */
  file: string;
  /** How long a write takes to reach the other PoPs, ms (default 0). */
  propagationMs?: number;
  /** Up to this much more, ms, per PoP and write (default 0). */
  jitterMs?: number;
  seed?: number;
  /**
   * Bytes one namespace may store: its live keys' key, value and metadata bytes (default 1 GiB,
   * Cloudflare's free plan). The operator's setting; a put past it fails and writes nothing.
   */
  namespaceQuotaBytes?: number;
}

interface Row {
  ns: string;
  key: string;
  version: number;
  value: Buffer | null;
  metadata: string | null;
  expiration: number | null;
  written_at: number;
  pop: string;
}

/** A deterministic hash of (seed, version, pop) in [0, 1). */
function unit(seed: number, version: number, pop: string): number {
  let h = (seed ^ Math.imul(version, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < pop.length; i++) h = Math.imul(h ^ pop.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296;
}

export class SqliteKvStore implements KvStore {
  readonly #db: Database.Database;
  readonly propagationMs: number;
  readonly jitterMs: number;
  readonly #seed: number;
  readonly namespaceQuotaBytes: number;
  readonly #write: (ns: string, key: string, w: KvWrite, pop: string, now: number) => number;

  constructor(options: SqliteKvStoreOptions) {
    this.namespaceQuotaBytes = options.namespaceQuotaBytes ?? DEFAULT_QUOTAS.kvNamespaceBytes;
    if (!Number.isSafeInteger(this.namespaceQuotaBytes) || this.namespaceQuotaBytes <= 0)
      throw new RangeError(
        `SqliteKvStore namespaceQuotaBytes must be a positive integer, received ${options.namespaceQuotaBytes}`,
      );
    this.propagationMs = nonNegative('propagationMs', options.propagationMs ?? 0);
    this.jitterMs = nonNegative('jitterMs', options.jitterMs ?? 0);
    this.#seed = options.seed ?? 1;
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.#db = new Database(options.file);
    this.#db.pragma('journal_mode = WAL');
    // Another process (the CLI next to a running network) may hold the lock for a moment.
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS kv_versions (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB, metadata TEXT, expiration INTEGER,
        written_at INTEGER NOT NULL, pop TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS kv_key ON kv_versions (ns, key, version);
      CREATE TABLE IF NOT EXISTS kv_usage (ns TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID;`);
    // The running total of each namespace's stored bytes, kept in the write's own transaction.
    // A file from before it existed (user_version 0) is summed once, here, not on every put.
    this.#db
      .transaction(() => {
        if (this.#db.pragma('user_version', { simple: true }) !== 0) return;
        this.#db.exec(`
          DELETE FROM kv_usage;
          INSERT INTO kv_usage (ns, bytes)
            SELECT ns, sum(${SIZE}) FROM kv_versions v
            WHERE value IS NOT NULL
              AND version = (SELECT max(version) FROM kv_versions w WHERE w.ns = v.ns AND w.key = v.key)
            GROUP BY ns;`);
        this.#db.pragma('user_version = 1');
      })
      .immediate();
    const newest = this.#db.prepare(
      `SELECT value IS NULL AS gone, ${SIZE} AS size FROM kv_versions WHERE ns = ? AND key = ? ORDER BY version DESC LIMIT 1`,
    );
    const usage = this.#db.prepare('SELECT bytes FROM kv_usage WHERE ns = ?').pluck();
    const charge = this.#db.prepare(
      'INSERT INTO kv_usage (ns, bytes) VALUES (?, ?) ON CONFLICT (ns) DO UPDATE SET bytes = bytes + excluded.bytes',
    );
    const insert = this.#db.prepare(
      'INSERT INTO kv_versions (ns, key, value, metadata, expiration, written_at, pop) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const tx = this.#db.transaction((ns: string, key: string, w: KvWrite, pop: string, now: number) => {
      const prev = newest.get(ns, key) as { gone: number; size: number } | undefined;
      const delta = recordBytes(key, w) - (prev && !prev.gone ? prev.size : 0);
      if (delta > 0)
        checkQuota(ns, ((usage.get(ns) as number | undefined) ?? 0) + delta, delta, this.namespaceQuotaBytes);
      const r = insert.run(
        ns,
        key,
        w.value === null ? null : Buffer.from(w.value),
        w.metadata,
        w.expiration,
        now,
        pop,
      );
      if (delta !== 0) charge.run(ns, delta);
      this.#prune(ns, key, now);
      return Number(r.lastInsertRowid);
    });
    // IMMEDIATE: the quota is read and charged under the write lock (the CLI may write beside a network).
    this.#write = (ns, key, w, pop, now) => tx.immediate(ns, key, w, pop, now);
  }

  /** Bytes a namespace stores now (its live keys' key, value and metadata). */
  usedBytes(ns: string): number {
    return (
      (this.#db.prepare('SELECT bytes FROM kv_usage WHERE ns = ?').pluck().get(ns) as number | undefined) ?? 0
    );
  }

  /** When `pop` sees a version (ms). */
  visibleAt(r: { version: number; written_at: number; pop: string }, pop: string): number {
    if (r.pop === pop) return r.written_at;
    return r.written_at + this.propagationMs + Math.floor(unit(this.#seed, r.version, pop) * this.jitterMs);
  }

  async read(ns: string, key: string, pop: string, now: number): Promise<KvRecord | null> {
    const rows = this.#db
      .prepare('SELECT * FROM kv_versions WHERE ns = ? AND key = ? ORDER BY version DESC')
      .all(ns, key) as Row[];
    const row = rows.find((r) => this.visibleAt(r, pop) <= now);
    return row ? live(row, now) : null;
  }

  async write(ns: string, key: string, w: KvWrite, pop: string, now: number): Promise<number> {
    return this.#write(ns, key, w, pop, now);
  }

  async list(
    ns: string,
    options: { prefix: string; limit: number; cursor: string | null },
    pop: string,
    now: number,
  ): Promise<KvListResult> {
    const after = options.cursor === null ? '' : decodeCursor(options.cursor);
    const rows = this.#db
      .prepare(
        `SELECT * FROM kv_versions WHERE ns = ? AND substr(key, 1, ?) = ? AND key > ?
         ORDER BY key, version DESC`,
      )
      .iterate(ns, options.prefix.length, options.prefix, after) as IterableIterator<Row>;
    const keys: KvListResult['keys'] = [];
    let current: string | null = null;
    let decided = false;
    for (const r of rows) {
      if (r.key !== current) {
        current = r.key;
        decided = false;
      }
      if (decided || this.visibleAt(r, pop) > now) continue;
      decided = true;
      const rec = live(r, now);
      if (!rec) continue;
      // One more live key than asked for: the list goes on after the last one returned.
      if (keys.length === options.limit)
        return { keys, complete: false, cursor: encodeCursor(keys[keys.length - 1].name) };
      const k: KvListResult['keys'][number] = { name: rec.key };
      if (rec.expiration !== null) k.expiration = rec.expiration;
      if (rec.metadata !== null) k.metadata = JSON.parse(rec.metadata);
      keys.push(k);
    }
    return { keys, complete: true };
  }

  async inspect(ns: string, prefix: string, pops: string[], now: number): Promise<KvKeyState[]> {
    const rows = this.#db
      .prepare('SELECT * FROM kv_versions WHERE ns = ? AND substr(key, 1, ?) = ? ORDER BY key, version DESC')
      .all(ns, prefix.length, prefix) as Row[];
    const out: KvKeyState[] = [];
    for (const r of rows) {
      let state = out[out.length - 1];
      if (!state || state.key !== r.key) {
        state = {
          key: r.key,
          latest: { version: r.version, pop: r.pop, writtenAt: r.written_at, deleted: r.value === null },
          seen: Object.fromEntries(pops.map((p) => [p, null])),
        };
        out.push(state);
      }
      for (const p of pops)
        if (state.seen[p] === null && this.visibleAt(r, p) <= now) state.seen[p] = r.version;
    }
    return out;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  /** Drop versions older than the newest one every PoP already sees. */
  #prune(ns: string, key: string, now: number): void {
    const settled = now - this.propagationMs - this.jitterMs;
    const newest = this.#db
      .prepare('SELECT max(version) AS v FROM kv_versions WHERE ns = ? AND key = ? AND written_at <= ?')
      .get(ns, key, settled) as { v: number | null };
    if (newest.v !== null)
      this.#db
        .prepare('DELETE FROM kv_versions WHERE ns = ? AND key = ? AND version < ?')
        .run(ns, key, newest.v);
  }
}

/** A stored version's size in SQL, as recordBytes counts it: UTF-8 key, value and metadata bytes. */
const SIZE =
  'length(CAST(key AS BLOB)) + coalesce(length(value), 0) + coalesce(length(CAST(metadata AS BLOB)), 0)';

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0)
    throw new RangeError(`SqliteKvStore ${name} must be a number ≥ 0, received ${v}`);
  return v;
}

/** A row as a live record: null for a deletion or an expired value. */
function live(r: Row, now: number): KvRecord | null {
  if (r.value === null || expired(r, now)) return null;
  return {
    key: r.key,
    value: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    metadata: r.metadata,
    expiration: r.expiration,
    version: r.version,
    writtenAt: r.written_at,
    pop: r.pop,
  };
}
