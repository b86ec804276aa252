/**
 * D1 databases on one machine: one SQLite file per database id under `<dir>/<id>.sqlite`, run
 * in an SQL host process (src/durable-objects/sql-async.ts, queries pipelined) with the same statement gate as
 * Durable Objects' SQL (no ATTACH, PRAGMAs from a list, no internal tables), a time limit per
 * query that kills the statement, and the database's size capped. Every call is a batch: the
 * statements in one transaction, all or none, as D1's `batch()` and a single `run()` are.
 *
 * Reads go to the one primary: `withSession()` bookmarks are accepted and every read sees every
 * write before it (docs/d1.md).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncSqlHost, type BatchResult, TRANSACTION_REFUSED, tokenize } from '../durable-objects/index.ts';
import { D1_LIMITS, D1Error } from './limits.ts';
import type { D1Result } from './types.ts';

export type { D1Result };

export type RowShape = 'objects' | 'raw' | 'raw+columns';

/** A D1 database id: what the config or the runtime names it (no path separators). */
const ID = /^[A-Za-z0-9_.:@/-]{1,300}$/;

/** BLOBs come back as arrays of numbers, as D1 returns them. */
function value(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function shape(r: BatchResult, rows: RowShape): unknown[] {
  if (rows === 'objects')
    return r.rows.map((row) => {
      const o: Record<string, unknown> = {};
      r.columns.forEach((c, i) => {
        o[c] = value(row[i]);
      });
      return o;
    });
  const raw = r.rows.map((row) => row.map(value));
  return rows === 'raw+columns' ? [r.columns, ...raw] : raw;
}

/**
 * D1 binds `?NNN` parameters by number (`?1` is the first value, and may appear twice);
 * better-sqlite3 binds numbers only by name, so they become `@pNNN` with named values.
 * Statements with plain `?` (or none) pass as they are.
 */
export function numberedParams(sql: string, params: unknown[]): [string, unknown[]] {
  const marks = tokenize(sql).filter((t) => t.kind === 'param');
  if (marks.length === 0 || !marks.every((t) => /^\?\d+$/.test(t.value))) return [sql, params];
  let out = '';
  let last = 0;
  for (const t of marks) {
    out += `${sql.slice(last, t.start)}@p${t.value.slice(1)}`;
    last = t.end;
  }
  out += sql.slice(last);
  const named: Record<string, unknown> = {};
  params.forEach((v, i) => {
    named[`p${i + 1}`] = v;
  });
  return [out, [named]];
}

export class D1Databases {
  readonly dir: string;
  readonly #runner = new AsyncSqlHost();
  readonly #made = new Set<string>();

  /** `dir` null: a temporary folder (in-memory use: tests). */
  constructor(
    dir: string | null,
    readonly maxBytes: number = D1_LIMITS.MAX_DATABASE_BYTES,
  ) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'outpost-d1-'));
    mkdirSync(this.dir, { recursive: true });
  }

  /** The database file of `id`, made empty on first use (the SQL host never creates one). */
  file(id: string): string {
    if (!ID.test(id) || id.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new D1Error(`D1_ERROR: invalid database id ${JSON.stringify(id.slice(0, 80))}`);
    const file = join(this.dir, `${encodeURIComponent(id)}.sqlite`);
    if (!this.#made.has(file)) {
      if (!existsSync(file)) writeFileSync(file, '');
      this.#made.add(file);
    }
    return file;
  }

  /** Statements in one transaction; each answers in D1's result shape. */
  async query(id: string, statements: [string, unknown[], RowShape][]): Promise<D1Result[]> {
    if (statements.length === 0) throw new D1Error('D1_ERROR: No SQL statements detected.');
    if (statements.length > D1_LIMITS.MAX_BATCH)
      throw new D1Error(`D1_ERROR: too many statements in one batch (limit ${D1_LIMITS.MAX_BATCH})`);
    for (const [sql, params] of statements) {
      if (sql.trim() === '') throw new D1Error('D1_ERROR: No SQL statements detected.');
      if (Buffer.byteLength(sql) > D1_LIMITS.MAX_SQL_BYTES)
        throw new D1Error(
          `D1_ERROR: statement too long (limit ${D1_LIMITS.MAX_SQL_BYTES} bytes): SQLITE_TOOBIG`,
        );
      if (params.length > D1_LIMITS.MAX_PARAMS)
        throw new D1Error(`D1_ERROR: too many SQL variables (limit ${D1_LIMITS.MAX_PARAMS}): SQLITE_ERROR`);
    }
    const started = performance.now();
    let out: { results: BatchResult[]; ms: number };
    try {
      out = await this.#runner.batch(
        this.file(id),
        statements.map(([sql, params]) => numberedParams(sql, params)),
        D1_LIMITS.MAX_QUERY_MS,
        this.maxBytes,
        D1_LIMITS.MAX_RESULT_BYTES,
      );
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      // The statement gate is Durable Objects'; its advice on transactions is not D1's.
      if (err.message === TRANSACTION_REFUSED)
        throw new D1Error(
          'D1_ERROR: transactions are not supported in SQL: run statements in one transaction with batch(): SQLITE_AUTH',
        );
      throw new D1Error(`D1_ERROR: ${err.message}`);
    }
    const duration = performance.now() - started;
    return out.results.map((r, i) => ({
      success: true,
      results: shape(r, statements[i][2]),
      meta: {
        duration,
        size_after: r.sizeAfter,
        rows_read: r.rowsRead,
        rows_written: r.rowsWritten,
        last_row_id: r.lastRowId,
        changed_db: r.rowsWritten > 0,
        changes: r.rowsWritten,
        served_by: 'outpost-d1',
        served_by_region: 'local',
        served_by_primary: true,
        timings: { sql_duration_ms: out.ms },
      },
    }));
  }

  /**
   * `exec()`: SQL statements separated by ";" without parameters, one per line as D1 expects,
   * run in one transaction. Answers how many ran.
   */
  async exec(id: string, sql: string): Promise<{ count: number; duration: number }> {
    if (Buffer.byteLength(sql) > D1_LIMITS.MAX_EXEC_BYTES)
      throw new D1Error(`D1_EXEC_ERROR: SQL too long for exec() (limit ${D1_LIMITS.MAX_EXEC_BYTES} bytes)`);
    const started = performance.now();
    const statements = splitStatements(sql);
    if (statements.length === 0)
      throw new D1Error('D1_EXEC_ERROR: Error in line 1: : No SQL statements detected.');
    try {
      await this.query(
        id,
        statements.map((s) => [s, [], 'raw'] as [string, unknown[], RowShape]),
      );
    } catch (err) {
      throw new D1Error((err as Error).message.replace(/^D1_ERROR: /, 'D1_EXEC_ERROR: Error in line 1: '));
    }
    return { count: statements.length, duration: performance.now() - started };
  }

  /** The database file's bytes (`dump()`, and `outpost d1 export`), read without blocking. */
  async dump(id: string, maxBytes: number = Number.POSITIVE_INFINITY): Promise<Uint8Array> {
    const file = this.file(id);
    const { size } = await stat(file);
    if (size > maxBytes)
      throw new D1Error(
        `D1_DUMP_ERROR: the database is ${size} bytes, more than dump() returns (${maxBytes})`,
      );
    return readFile(file);
  }

  close(): void {
    this.#runner.close();
  }
}

/**
 * Split SQL text into statements at ";" outside quotes, comments and trigger bodies
 * (BEGIN … END), as a migration file or exec() holds them.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let trigger = false; // the statement so far has the word TRIGGER (so BEGIN opens a body)
  let i = 0;
  const word = /[A-Za-z_]+/y;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === close && sql[j + 1] !== close)) j += sql[j] === close ? 2 : 1;
      cur += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === '-' && sql[i + 1] === '-') {
      const j = sql.indexOf('\n', i);
      i = j < 0 ? sql.length : j + 1;
      cur += '\n';
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const j = sql.indexOf('*/', i + 2);
      i = j < 0 ? sql.length : j + 2;
      cur += ' ';
      continue;
    }
    word.lastIndex = i;
    const m = /[A-Za-z_]/.test(ch) && (i === 0 || !/[\w$]/.test(sql[i - 1])) ? word.exec(sql) : null;
    if (m) {
      const w = m[0].toUpperCase();
      if (w === 'TRIGGER') trigger = true;
      if (w === 'CASE' || (w === 'BEGIN' && trigger)) depth++;
      else if (w === 'END' && depth > 0) depth--;
      cur += m[0];
      i += m[0].length;
      continue;
    }
    if (ch === ';' && depth === 0) {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      trigger = false;
      i++;
      continue;
    }
    cur += ch;
    i++;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}
