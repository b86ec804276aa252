/**
 * Workers Analytics Engine's storage on one machine: every account's datasets in one SQLite
 * file (`.outpost/analytics/analytics.sqlite`), one row per data point with the columns the SQL
 * API shows (timestamp, dataset, index1, blob1…blob20, double1…double20, _sample_interval,
 * which is always 1: nothing is sampled here), keyed by account so a query reads only its own
 * account's datasets.
 *
 * writeDataPoint() is fire-and-forget, so writes are buffered here and written in one
 * transaction when FLUSH_ROWS have gathered or FLUSH_MS after the first, on a query (which sees
 * every point written before it), and on close. A database that cannot be written for a while
 * (locked) keeps the points in memory, up to MAX_BUFFERED_BYTES. Retention: points older than
 * RETENTION_DAYS go, checked hourly, and a dataset keeps its newest MAX_ROWS_PER_DATASET.
 *
 * With a log (`attachLog`, ./nats.ts: JetStream, for a network over several machines) a flush
 * appends the points to the log instead, and the file is a view of the log: every process
 * applies the log's points in order (`apply`), remembering the last sequence applied in the same
 * transaction, so a restart goes on where it stopped and a lost file is rebuilt from the log.
 *
 * Queries run in this process on the same connection (synchronously: one over a full dataset
 * of a million points takes a few hundred ms on the event loop; they come only from the
 * operator, through the admin endpoint or the CLI).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AE_STORAGE } from './limits.ts';
import type { PointRow } from './point.ts';
import { type QueryOutput, runQuery } from './sql/query.ts';

export interface AnalyticsEngineOptions {
  /** The database file; null: in memory (tests, a runtime without `outpost dev`'s folder). */
  file: string | null;
  /** Open an existing file read-only (the CLI beside a running `outpost dev`). */
  readonly?: boolean;
  retentionDays?: number;
  maxRowsPerDataset?: number;
  flushRows?: number;
  flushMs?: number;
  /** A write that failed (the points stay buffered and are tried again). */
  onError?: (err: Error) => void;
}

/** A data point as it is stored: its account, dataset and time (whole seconds). */
export interface StoredPoint {
  account: string;
  dataset: string;
  timestamp: number;
  row: PointRow;
}

/** Where flushed points go when the file is a view of a shared log (./nats.ts). */
export interface AnalyticsLog {
  /** Take points to publish (the log retries until they are acknowledged). */
  append(points: StoredPoint[]): void;
  /** The sequence of the last point acknowledged once all appended so far are (or the time is up). */
  acknowledged(timeoutMs: number): Promise<number>;
}

const BLOBS = Array.from({ length: 20 }, (_, i) => `blob${i + 1}`);
const DOUBLES = Array.from({ length: 20 }, (_, i) => `double${i + 1}`);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS points (
  account TEXT NOT NULL,
  dataset TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  _sample_interval INTEGER NOT NULL DEFAULT 1,
  index1 TEXT NOT NULL DEFAULT '',
  ${BLOBS.map((b) => `${b} TEXT NOT NULL DEFAULT ''`).join(',\n  ')},
  ${DOUBLES.map((d) => `${d} REAL DEFAULT 0`).join(',\n  ')}
);
CREATE INDEX IF NOT EXISTS points_by_time ON points (account, dataset, timestamp);
CREATE TABLE IF NOT EXISTS datasets (
  account TEXT NOT NULL,
  dataset TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account, dataset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_position (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
`;

const HOUR_MS = 3600_000;

export class AnalyticsEngine {
  readonly #db: Database.Database;
  readonly #readonly: boolean;
  readonly retentionDays: number;
  readonly maxRowsPerDataset: number;
  readonly #flushRows: number;
  readonly #flushMs: number;
  readonly #onError: (err: Error) => void;
  #pending: StoredPoint[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #lastRetention = 0;
  #dropped = 0;
  #closed = false;
  #log: AnalyticsLog | null = null;
  /** The last sequence of the log applied to the file. */
  #applied = 0;

  constructor(options: AnalyticsEngineOptions) {
    this.retentionDays = positive('retentionDays', options.retentionDays ?? AE_STORAGE.RETENTION_DAYS);
    this.maxRowsPerDataset = positive(
      'maxRowsPerDataset',
      options.maxRowsPerDataset ?? AE_STORAGE.MAX_ROWS_PER_DATASET,
    );
    this.#flushRows = positive('flushRows', options.flushRows ?? AE_STORAGE.FLUSH_ROWS);
    this.#flushMs = positive('flushMs', options.flushMs ?? AE_STORAGE.FLUSH_MS);
    this.#onError = options.onError ?? (() => {});
    const file = options.file;
    this.#readonly = !!options.readonly && file !== null && existsSync(file);
    if (this.#readonly) {
      this.#db = new Database(file as string, { readonly: true, fileMustExist: true, timeout: 1000 });
      return;
    }
    if (file !== null && !options.readonly) mkdirSync(dirname(file), { recursive: true });
    // Read-only of a file not made yet: nothing was written, an empty database answers.
    this.#db = new Database(file === null || options.readonly ? ':memory:' : file, { timeout: 100 });
    this.#db.pragma('journal_mode = WAL');
    // Data points are fire-and-forget: NORMAL loses none when the process dies, only on power loss.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    const at = this.#db.prepare('SELECT seq FROM log_position WHERE id = 1').get() as
      | { seq: number }
      | undefined;
    this.#applied = at?.seq ?? 0;
  }

  /** From now on, flushed points go to `log`, and reach the file through apply(). */
  attachLog(log: AnalyticsLog): void {
    this.#log = log;
  }

  /** The last sequence of the log this file holds (0: none). */
  get appliedSeq(): number {
    return this.#applied;
  }

  /**
   * Write points read from the log at `seq` (in order); a sequence already applied is skipped
   * (the log may deliver one again after a reconnect). `seq` 0 restarts the count (a new log).
   */
  apply(points: StoredPoint[], seq: number): void {
    if (this.#readonly || this.#closed || (seq <= this.#applied && seq !== 0)) return;
    const mark = this.#db.prepare(
      'INSERT INTO log_position (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq',
    );
    this.#db.transaction(() => {
      if (points.length) this.#insert(points);
      mark.run(seq);
    })();
    this.#applied = seq;
  }

  /**
   * Everything written so far is in the file: flushed, and with a log, acknowledged and applied
   * back (or `timeoutMs` has passed). Queries call it so they see the writes before them.
   */
  async settle(timeoutMs = 2000): Promise<void> {
    this.flush();
    const log = this.#log;
    if (!log) return;
    const end = Date.now() + timeoutMs;
    const seq = await log.acknowledged(timeoutMs);
    while (this.#applied < seq && Date.now() < end && !this.#closed)
      await new Promise((r) => setTimeout(r, 5));
  }

  /** Buffer data points of one dataset, written within FLUSH_MS. */
  write(account: string, dataset: string, rows: PointRow[], now = Date.now()): void {
    if (this.#closed || this.#readonly) return;
    const timestamp = Math.floor(now / 1000);
    for (const row of rows) {
      this.#pending.push({ account, dataset, timestamp, row });
      this.#pendingBytes += pointBytes(row);
    }
    let over = 0;
    while (this.#pendingBytes > AE_STORAGE.MAX_BUFFERED_BYTES && over < this.#pending.length - 1)
      this.#pendingBytes -= pointBytes(this.#pending[over++].row);
    if (over > 0) {
      this.#pending.splice(0, over);
      this.#dropped += over;
    }
    if (this.#pending.length >= this.#flushRows) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.flush();
      }, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Write what is buffered now. False when the database could not take it (kept for later). */
  flush(now = Date.now()): boolean {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#readonly || this.#closed) return true;
    const batch = this.#pending;
    try {
      if (batch.length && this.#log) this.#log.append(batch);
      else if (batch.length) this.#db.transaction(() => this.#insert(batch))();
      this.#pending = [];
      this.#pendingBytes = 0;
      if (now - this.#lastRetention >= HOUR_MS) {
        this.#expire(now);
        this.#lastRetention = now;
      }
      if (this.#dropped) {
        this.#onError(
          new Error(
            `Analytics Engine: ${this.#dropped} data points dropped while the database could not be written`,
          ),
        );
        this.#dropped = 0;
      }
      return true;
    } catch (err) {
      this.#onError(err as Error);
      if (!this.#timer && !this.#closed) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.flush();
        }, this.#flushMs * 5);
        this.#timer.unref();
      }
      return false;
    }
  }

  /** Insert points and count them per dataset, trimming past the cap (inside a transaction). */
  #insert(batch: StoredPoint[]): void {
    const db = this.#db;
    const insert = db.prepare(
      `INSERT INTO points (account, dataset, timestamp, index1, ${BLOBS.join(', ')}, ${DOUBLES.join(', ')}) VALUES (${Array(44).fill('?').join(', ')})`,
    );
    const count = db.prepare(
      'INSERT INTO datasets (account, dataset, rows) VALUES (?, ?, ?) ON CONFLICT (account, dataset) DO UPDATE SET rows = rows + excluded.rows RETURNING rows',
    );
    const trim = db.prepare(
      'DELETE FROM points WHERE rowid IN (SELECT rowid FROM points WHERE account = ? AND dataset = ? ORDER BY timestamp, rowid LIMIT ?)',
    );
    const setRows = db.prepare('UPDATE datasets SET rows = ? WHERE account = ? AND dataset = ?');
    const per = new Map<string, { account: string; dataset: string; n: number }>();
    for (const p of batch) {
      insert.run(p.account, p.dataset, p.timestamp, p.row.index1, ...p.row.blobs, ...p.row.doubles);
      const key = `${p.account}\0${p.dataset}`;
      const e = per.get(key) ?? { account: p.account, dataset: p.dataset, n: 0 };
      e.n++;
      per.set(key, e);
    }
    for (const { account, dataset, n } of per.values()) {
      const { rows } = count.get(account, dataset, n) as { rows: number };
      if (rows > this.maxRowsPerDataset) {
        trim.run(account, dataset, rows - this.maxRowsPerDataset);
        setRows.run(this.maxRowsPerDataset, account, dataset);
      }
    }
  }

  /** Points past the retention period go (each dataset by its time index). */
  #expire(now: number): void {
    const cutoff = Math.floor(now / 1000) - this.retentionDays * 86400;
    const db = this.#db;
    const list = db.prepare('SELECT account, dataset FROM datasets').all() as {
      account: string;
      dataset: string;
    }[];
    const del = db.prepare('DELETE FROM points WHERE account = ? AND dataset = ? AND timestamp < ?');
    const less = db.prepare('UPDATE datasets SET rows = max(0, rows - ?) WHERE account = ? AND dataset = ?');
    db.transaction(() => {
      for (const { account, dataset } of list) {
        const { changes } = del.run(account, dataset, cutoff);
        if (changes) less.run(changes, account, dataset);
      }
    })();
  }

  /** The datasets of `account` that have been written to (SHOW TABLES). */
  datasets(account: string): string[] {
    const rows = this.#db
      .prepare('SELECT dataset FROM datasets WHERE account = ? ORDER BY dataset')
      .all(account);
    return (rows as { dataset: string }[]).map((r) => r.dataset);
  }

  /**
   * Run one SQL API query over `account`'s datasets, after writing what is buffered (with a log,
   * call settle() first: the points come back through it).
   */
  query(account: string, sql: string, now?: number): QueryOutput {
    this.flush();
    return runQuery(this.#db, {
      account,
      sql,
      datasets: this.datasets(account),
      ...(now === undefined ? {} : { now }),
    });
  }

  /** Data points waiting to be written (tests, and close's report). */
  get buffered(): number {
    return this.#pending.length;
  }

  /** Close the file (with a log, settle() first, so the last points are sent). */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#db.close();
  }
}

/** What a buffered point weighs, roughly: its text, and 400 bytes for the rest. */
function pointBytes(row: PointRow): number {
  let n = 400 + row.index1.length * 2;
  for (const b of row.blobs) n += b.length * 2;
  return n;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`AnalyticsEngine ${name} must be a positive number, received ${v}`);
  return v;
}
