/**
 * Running one SQL API query on an open analytics database: parse (./parser.ts), translate to
 * SQLite with bound parameters (./translate.ts), run, and write the answer in the query's
 * FORMAT as Cloudflare's SQL API does (ClickHouse's formats):
 *
 *   JSON          {"meta": [{name, type}], "data": [{…}], "rows": N, "rows_before_limit_at_least": M}
 *   JSONEachRow   one JSON object per row, a line each
 *   TabSeparated  one line per row, values separated by tabs, no header
 *
 * Values are written as ClickHouse writes them: 64-bit integers (count(), sum of integers) as
 * strings, DateTime as 'YYYY-MM-DD hh:mm:ss', NaN and infinities as null. LIMIT and OFFSET of the
 * outermost SELECT are applied while reading rows, so `rows_before_limit_at_least` counts the
 * rows the query had before its LIMIT (at least: counting stops a while past the limit).
 */
import type Database from 'better-sqlite3';
import { AE_STORAGE, AnalyticsSqlError } from '../limits.ts';
import type { Format } from './ast.ts';
import { parseSql } from './parser.ts';
import { registerFunctions } from './sqlite-functions.ts';
import { type OutputColumn, Translator } from './translate.ts';
import { formatDate, formatDateTime, type SqlType } from './types.ts';

export interface QueryAnswer {
  meta: OutputColumn[];
  data: Record<string, unknown>[];
  rows: number;
  rows_before_limit_at_least: number;
}

export interface QueryOutput {
  format: Format;
  contentType: string;
  /** The answer as the format writes it. */
  body: string;
  answer: QueryAnswer;
}

export interface QueryOptions {
  account: string;
  sql: string;
  /** The datasets of the account (for FROM and SHOW TABLES). */
  datasets: string[];
  /** now(), ms (default: the clock). */
  now?: number;
  maxRows?: number;
}

/** Rows counted past the LIMIT for rows_before_limit_at_least. */
const COUNT_AHEAD = 10_000;

function outputValue(v: unknown, type: SqlType): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'DateTime') return formatDateTime(Number(v));
  if (type === 'Date') return formatDate(Number(v));
  if (type === 'UInt64' || type === 'Int64') {
    if (typeof v === 'bigint') return v.toString();
    const n = Number(v);
    return Number.isFinite(n) ? BigInt(Math.trunc(n)).toString() : null;
  }
  if (type === 'Bool') return Boolean(Number(v));
  if (type === 'String') return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  if (type.startsWith('Array(')) {
    const inner = type.slice(6, -1);
    return (JSON.parse(String(v)) as unknown[]).map((x) => outputValue(x, inner));
  }
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  return Number.isFinite(n) ? n : null;
}

function tsvValue(v: unknown): string {
  if (v === null) return '\\N';
  if (Array.isArray(v))
    return `[${v.map((x) => (typeof x === 'string' ? `'${x.replace(/[\\']/g, '\\$&')}'` : String(x))).join(',')}]`;
  return String(v).replace(
    /[\\\t\n\r\0]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[c] as string,
  );
}

function write(format: Format, answer: QueryAnswer): QueryOutput {
  if (format === 'JSONEachRow')
    return {
      format,
      answer,
      contentType: 'application/x-ndjson; charset=utf-8',
      body: answer.data.map((r) => `${JSON.stringify(r)}\n`).join(''),
    };
  if (format === 'TabSeparated')
    return {
      format,
      answer,
      contentType: 'text/tab-separated-values; charset=utf-8',
      body: answer.data.map((r) => `${answer.meta.map((m) => tsvValue(r[m.name])).join('\t')}\n`).join(''),
    };
  return {
    format,
    answer,
    contentType: 'application/json; charset=utf-8',
    body: `${JSON.stringify(answer)}\n`,
  };
}

/** Run one query; an AnalyticsSqlError names what is wrong with it. */
export function runQuery(db: Database.Database, o: QueryOptions): QueryOutput {
  if (Buffer.byteLength(o.sql) > AE_STORAGE.MAX_SQL_BYTES)
    throw new AnalyticsSqlError(`the query is longer than ${AE_STORAGE.MAX_SQL_BYTES} bytes`);
  const st = parseSql(o.sql);
  if (st.k === 'show') {
    const meta =
      st.what === 'tables'
        ? [{ name: 'dataset', type: 'String' }]
        : [{ name: st.what === 'timezone' ? 'timezone' : 'name', type: 'String' }];
    const values = st.what === 'tables' ? [...o.datasets].sort() : ['Etc/UTC'];
    const data = values.map((v) => ({ [meta[0].name]: v }));
    return write(st.format, { meta, data, rows: data.length, rows_before_limit_at_least: data.length });
  }
  const known = new Set(o.datasets);
  const tr = new Translator(o.account, Math.floor((o.now ?? Date.now()) / 1000), (n) => known.has(n));
  const q = tr.select(st.select, true);
  registerFunctions(db);
  let stmt: Database.Statement;
  try {
    stmt = db.prepare(q.sql);
  } catch (err) {
    throw new AnalyticsSqlError(`the query could not be planned: ${(err as Error).message}`);
  }
  stmt.raw(true);
  const maxRows = o.maxRows ?? AE_STORAGE.MAX_RESULT_ROWS;
  const start = q.offset;
  const end = q.limit === null ? Number.POSITIVE_INFINITY : start + q.limit;
  const stopCounting = q.limit === null ? Number.POSITIVE_INFINITY : end + COUNT_AHEAD;
  const data: Record<string, unknown>[] = [];
  let seen = 0;
  try {
    for (const row of stmt.iterate(q.params) as IterableIterator<unknown[]>) {
      if (seen >= start && seen < end) {
        if (data.length >= maxRows)
          throw new AnalyticsSqlError(`the query answers more than ${maxRows} rows: add a LIMIT`);
        const out: Record<string, unknown> = {};
        q.columns.forEach((c, i) => {
          out[c.name] = outputValue(row[i], c.type);
        });
        data.push(out);
      }
      seen++;
      if (seen >= stopCounting) break;
    }
  } catch (err) {
    if (err instanceof AnalyticsSqlError) throw err;
    throw new AnalyticsSqlError(`the query failed: ${(err as Error).message}`);
  }
  return write(st.format, { meta: q.columns, data, rows: data.length, rows_before_limit_at_least: seen });
}
