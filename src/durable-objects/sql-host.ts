/**
 * The SQL host: a child process that runs Durable Objects' own SQL (`ctx.storage.sql.exec`)
 * on connections of its own to the objects' database files, one statement at a time, for the
 * runner in the main process (sql-runner.ts). Why a process: the bundled SQLite is built
 * with SQLITE_OMIT_PROGRESS_CALLBACK and better-sqlite3 exposes neither a progress handler
 * nor sqlite3_interrupt, so a statement cannot be stopped from inside; a process can be
 * killed, and its allocations are capped by RLIMIT_DATA (set by the runner) without touching
 * the host's memory. Every statement passes sql-gate.ts first.
 */
import { randomFillSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { DO_LIMITS } from './limits.ts';
import {
  checkProgram,
  checkTokens,
  GateError,
  NOT_AUTHORIZED,
  type ProgramRow,
  splitPieces,
  TRANSACTION_REFUSED,
  tokenize,
} from './sql-gate.ts';
import type { SqlResult } from './storage.ts';

interface Conn {
  db: Database.Database;
  /** The max_page_count last set (the object's quota in pages; per connection, not stored). */
  maxPages: number;
  roots: Database.Statement;
  changes: Database.Statement;
  lastRowid: Database.Statement;
  schemaVersion: Database.Statement;
  /**
   * Statements by their text, prepared once, with what the gate found: whether the text is an
   * EXPLAIN (a pure function of the text), and the schema version at which its program last
   * passed checkProgram (a program depends on the schema, so a schema change checks it again).
   */
  prepared: Map<string, { stmt: Database.Statement; explain: boolean; checkedAt: number }>;
}

/** Statements kept prepared per connection (the most recently used). */
const PREPARED_MAX = 64;

const conns = new Map<string, Conn>();
const MAX_CONNS = 32;

function tooBig(): Error {
  return new Error('string or blob too big: SQLITE_TOOBIG');
}

/** Cap the database at `maxBytes` (SQLite keeps it at its current size when that is larger). */
function cap(c: Conn, maxBytes: number): void {
  const pageSize = c.db.pragma('page_size', { simple: true }) as number;
  const pages = Math.max(1, Math.floor(maxBytes / pageSize));
  if (pages === c.maxPages) return;
  c.db.pragma(`max_page_count = ${pages}`);
  c.maxPages = pages;
}

function open(file: string, maxBytes: number): Conn {
  const found = conns.get(file);
  if (found) {
    conns.delete(file);
    conns.set(file, found); // most recently used last
    cap(found, maxBytes);
    return found;
  }
  if (conns.size >= MAX_CONNS) {
    const [oldest, c] = conns.entries().next().value as [string, Conn];
    conns.delete(oldest);
    c.db.close();
  }
  // The host made the file; never create one here.
  const db = new Database(file, { fileMustExist: true, timeout: 100 });
  // Per connection. Durable Objects' SQL commits to the WAL only (NORMAL): the object's output
  // gate fsyncs it, shared by its commits, off the main thread (wal-sync.ts). D1's host (another
  // process) keeps FULL: an acknowledged D1 write is on disk when the statement returns.
  db.pragma(process.env.OUTPOST_SQL_SYNCHRONOUS === 'NORMAL' ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('temp_store = MEMORY'); // sorts and temp tables make no files on the host
  db.pragma('cell_size_check = ON');
  // randomblob/zeroblob allocate what they are asked for; Cloudflare caps a string, blob or
  // row at 2 MB. (Other growth — printf widths, ||, replace — meets the process's RLIMIT_DATA.)
  const size = (n: unknown, least: number): number => {
    const v = typeof n === 'bigint' ? Number(n) : Number(n ?? 0);
    if (!Number.isFinite(v) || v < least) return least;
    if (v > DO_LIMITS.MAX_SQL_VALUE_BYTES) throw tooBig();
    return Math.floor(v);
  };
  // As SQLite's: randomblob(N < 1) is one byte, zeroblob(N < 0) none.
  db.function('randomblob', { deterministic: false }, (n: unknown) =>
    randomFillSync(Buffer.alloc(size(n, 1))),
  );
  db.function('zeroblob', { deterministic: true }, (n: unknown) => Buffer.alloc(size(n, 0)));
  const c: Conn = {
    db,
    maxPages: 0,
    roots: db
      .prepare(
        "SELECT rootpage FROM sqlite_schema WHERE tbl_name LIKE '\\_\\_cf\\_%' ESCAPE '\\' AND rootpage > 0",
      )
      .pluck(),
    changes: db.prepare('SELECT total_changes()').pluck(),
    lastRowid: db.prepare('SELECT last_insert_rowid()').pluck(),
    schemaVersion: db.prepare('PRAGMA schema_version').pluck(),
    prepared: new Map(),
  };
  conns.set(file, c);
  // Past it, writes fail with SQLite's own "database or disk is full: SQLITE_FULL", as on
  // Cloudflare (workerd reports SQLite errors as "<message>: <code name>").
  cap(c, maxBytes);
  return c;
}

function significant(text: string): boolean {
  return tokenize(text).some((t) => t.kind !== 'semi');
}

function bindValue(b: unknown): unknown {
  return b instanceof Uint8Array && !Buffer.isBuffer(b)
    ? Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    : b;
}

/** Values as better-sqlite3 binds them; a plain object holds named parameters (D1's ?NNN). */
function bind(bindings: unknown[]): unknown[] {
  return bindings.map((b) =>
    b !== null && typeof b === 'object' && Object.getPrototypeOf(b) === Object.prototype
      ? Object.fromEntries(Object.entries(b).map(([k, v]) => [k, bindValue(v)]))
      : bindValue(b),
  );
}

function valueBytes(v: unknown): number {
  if (typeof v === 'string') return v.length * 2;
  if (v instanceof Uint8Array) return v.byteLength;
  return 8;
}

/** Run `query` (one or more statements); bindings and the returned rows are the last statement's. */
/**
 * What a call's rows may weigh in all, as the caller will hold them: `left` bytes, BLOB bytes
 * counted `blobWeight` times (D1 hands BLOBs to the worker as arrays of numbers, ~8 bytes each).
 */
interface ResultBudget {
  left: number;
  blobWeight: number;
  limit: number;
}

function runSql(
  c: Conn,
  query: string,
  bindings: unknown[],
  inBatch = false,
  budget: ResultBudget = {
    left: DO_LIMITS.MAX_SQL_RESULT_BYTES,
    blobWeight: 1,
    limit: DO_LIMITS.MAX_SQL_RESULT_BYTES,
  },
): SqlResult {
  if (query.includes('\0')) throw new GateError('unrecognized token: "\\0": SQLITE_ERROR');
  const pieces = splitPieces(query);
  const sig = pieces.map(significant);
  const lastSig = sig.lastIndexOf(true);
  const args = bind(bindings);
  let result: SqlResult = { columns: [], rows: [], rowsRead: 0, rowsWritten: 0 };
  let read = 0;
  let written = 0;
  let ran = false;
  for (let i = 0; i < pieces.length; ) {
    let text = pieces[i];
    let j = i;
    if (!sig[i]) {
      i++;
      continue;
    }
    const cached = c.prepared.get(text);
    let explain: boolean;
    let stmt: Database.Statement | null = null;
    if (cached) {
      c.prepared.delete(text);
      c.prepared.set(text, cached); // most recently used last
      explain = cached.explain;
      stmt = cached.stmt;
    } else {
      // Checked before prepare: SQLite applies PRAGMAs while compiling them.
      explain = checkTokens(tokenize(text)).explain;
      while (!stmt) {
        try {
          stmt = c.db.prepare(text);
        } catch (err) {
          // A trigger body holds ';': SQLite says where the statement really ends.
          if (!/incomplete input/.test((err as Error).message) || j + 1 >= pieces.length) throw err;
          text += pieces[++j];
          explain = checkTokens(tokenize(text)).explain;
        }
      }
    }
    i = j + 1;
    const last = j >= lastSig;
    const a = last ? args : [];
    const version = c.schemaVersion.get() as number;
    if (!explain && cached?.checkedAt !== version) {
      const program = c.db
        .prepare(`EXPLAIN ${text}`)
        .raw()
        .all(...a) as ProgramRow[];
      checkProgram(program, new Set(c.roots.all() as number[]));
    }
    // Remembered only once it passed the gate; a text that failed is checked (and fails) again.
    if (!cached) {
      if (c.prepared.size >= PREPARED_MAX) c.prepared.delete(c.prepared.keys().next().value as string);
      c.prepared.set(text, { stmt, explain, checkedAt: version });
    } else cached.checkedAt = version;
    const before = c.changes.get() as number;
    let columns: string[] = [];
    const rows: unknown[][] = [];
    if (stmt.reader) {
      columns = stmt.columns().map((col) => col.name);
      for (const row of stmt.raw().iterate(...a) as IterableIterator<unknown[]>) {
        for (const v of row)
          budget.left -= v instanceof Uint8Array ? v.byteLength * budget.blobWeight : valueBytes(v);
        if (budget.left < 0)
          throw new Error(
            `SQL result too large (more than ${budget.limit} bytes): read it in pages with LIMIT: SQLITE_TOOBIG`,
          );
        rows.push(row);
      }
    } else stmt.run(...a);
    if (!inBatch && c.db.inTransaction) {
      // Nothing the gate lets through opens one; if something did, it must not outlive the call.
      c.db.exec('ROLLBACK');
      throw new GateError(TRANSACTION_REFUSED);
    }
    const changed = (c.changes.get() as number) - before;
    read += rows.length;
    written += changed;
    ran = true;
    result = { columns, rows, rowsRead: read, rowsWritten: written };
  }
  if (!ran) throw new GateError('The supplied SQL string contains no statements: SQLITE_MISUSE');
  return result;
}

/** One statement of a batch, answered with what D1 reports of it (src/d1/). */
export interface BatchResult extends SqlResult {
  lastRowId: number;
  /** The database's size after the statement, bytes. */
  sizeAfter: number;
}

/**
 * D1's batch (src/d1/): the statements in one transaction, all or none. The gate refuses
 * BEGIN/COMMIT in the statements themselves, so only this function opens and ends it.
 */
function runBatch(c: Conn, statements: unknown, maxResultBytes: unknown): BatchResult[] {
  if (!Array.isArray(statements)) throw new GateError('invalid batch: SQLITE_MISUSE');
  // One budget for the whole call: a batch of many statements is one answer to hold.
  const limit =
    typeof maxResultBytes === 'number' && maxResultBytes > 0
      ? maxResultBytes
      : DO_LIMITS.MAX_SQL_RESULT_BYTES;
  const budget: ResultBudget = { left: limit, blobWeight: 9, limit };
  const one = (st: unknown) => {
    const [query, bindings] = Array.isArray(st) ? st : [];
    return {
      ...runSql(c, String(query), Array.isArray(bindings) ? bindings : [], true, budget),
      lastRowId: Number(c.lastRowid.get()),
    };
  };
  const size = () =>
    (c.db.pragma('page_count', { simple: true }) as number) *
    (c.db.pragma('page_size', { simple: true }) as number);
  // One statement is atomic on its own (autocommit); several share one transaction.
  if (statements.length === 1) {
    const r = one(statements[0]);
    return [{ ...r, sizeAfter: size() }];
  }
  c.db.exec('BEGIN');
  try {
    const out = statements.map(one);
    c.db.exec('COMMIT');
    const after = size();
    return out.map((r) => ({ ...r, sizeAfter: after }));
  } catch (err) {
    if (c.db.inTransaction) c.db.exec('ROLLBACK');
    throw err;
  }
}

export interface HostRequest {
  id: number;
  op: 'sql' | 'batch' | 'close';
  file: string;
  query?: string;
  bindings?: unknown[];
  /** op 'batch': [query, bindings][] */
  statements?: unknown;
  /** op 'batch': what all its rows may weigh, BLOBs counted 9 times (see ResultBudget). */
  maxResultBytes?: number;
  /** The object's storage quota, bytes. */
  maxBytes?: number;
}

function describe(err: unknown): string {
  const e = err as Error & { code?: string };
  if (err instanceof GateError) return e.message;
  if (e?.message === NOT_AUTHORIZED || / SQLITE_[A-Z_]+$/.test(e?.message ?? '')) return e.message;
  return `${e?.message ?? String(err)}: ${e?.code ?? 'SQLITE_ERROR'}`;
}

function handle(m: HostRequest): unknown {
  if (m.op === 'close') {
    const c = conns.get(m.file);
    conns.delete(m.file);
    c?.db.close();
    return null;
  }
  const maxBytes =
    typeof m.maxBytes === 'number' && m.maxBytes > 0 ? m.maxBytes : DO_LIMITS.MAX_DATABASE_BYTES;
  if (m.op === 'batch') return runBatch(open(m.file, maxBytes), m.statements, m.maxResultBytes);
  return runSql(open(m.file, maxBytes), String(m.query), Array.isArray(m.bindings) ? m.bindings : []);
}

if (process.send && process.env.OUTPOST_SQL_HOST === '1') {
  process.on('message', (m: HostRequest) => {
    let reply: unknown;
    try {
      reply = { id: m.id, ok: true, r: handle(m) };
    } catch (err) {
      reply = { id: m.id, ok: false, e: describe(err) };
    }
    // The host may be gone (it exited, or this process was replaced): then so is this one.
    process.send?.(reply, undefined, {}, (err) => {
      if (err) process.exit(0);
    });
  });
  // The host went away: so does this process.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true }, undefined, {}, (err) => {
    if (err) process.exit(0);
  });
}
