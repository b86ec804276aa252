/**
 * D1 bindings (https://developers.cloudflare.com/d1/worker-api/): `prepare().bind()` statements
 * with `first`, `all`, `raw`, `run`; `batch` (one transaction); `exec`; `dump`; `withSession`.
 * Statements cross to the host as [sql, values, row shape] (../../bindings/protocol.ts) and run
 * in src/d1/; values are converted here as D1 converts them (booleans as 1/0, ArrayBuffers
 * and arrays of bytes as BLOBs; `undefined` and objects refused with D1's D1_TYPE_ERROR).
 */
import type { D1Result, D1Statement } from '../../bindings/protocol.ts';
import { callBinding } from '../bridge.ts';

const kDb = Symbol('d1 database');
/** Statements per batch, as src/d1/limits.ts (checked again on the host). */
const MAX_BATCH = 1000;
const kRun = Symbol('d1 run');

function bindValue(v: unknown): unknown {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`D1_TYPE_ERROR: Type 'number' not supported for value '${v}'`);
    return v;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (Array.isArray(v) && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < 256))
    return new Uint8Array(v);
  throw new Error(`D1_TYPE_ERROR: Type '${typeof v}' not supported for value '${String(v)}'`);
}

export class D1PreparedStatement {
  readonly [kDb]: D1Database;
  readonly #sql: string;
  readonly #values: unknown[];

  constructor(db: D1Database, sql: string, values: unknown[] = []) {
    this[kDb] = db;
    this.#sql = sql;
    this.#values = values;
  }

  bind(...values: unknown[]): D1PreparedStatement {
    return new D1PreparedStatement(this[kDb], this.#sql, values.map(bindValue));
  }

  /** The statement as it crosses to the host. */
  [kRun](rows: D1Statement[2]): D1Statement {
    return [this.#sql, this.#values, rows];
  }

  async first(column?: unknown): Promise<unknown> {
    const [r] = await this[kDb][kRun]([this[kRun]('objects')]);
    const row = r.results[0] as Record<string, unknown> | undefined;
    if (column === undefined) return row ?? null;
    const name = String(column);
    if (!row) return null;
    if (!Object.hasOwn(row, name)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${name})`);
    return row[name];
  }

  async all(): Promise<D1Result> {
    const [r] = await this[kDb][kRun]([this[kRun]('objects')]);
    return r;
  }

  async run(): Promise<D1Result> {
    return this.all();
  }

  async raw(options?: { columnNames?: boolean }): Promise<unknown[]> {
    const shape = options?.columnNames === true ? 'raw+columns' : 'raw';
    const [r] = await this[kDb][kRun]([this[kRun](shape)]);
    return r.results;
  }
}

/** What a session may start from (https://developers.cloudflare.com/d1/best-practices/read-replication/). */
const SESSION_STARTS = new Set(['first-primary', 'first-unconstrained']);

export class D1Database {
  readonly #binding: string;
  /** Writes seen through this binding: the bookmark a session hands out. */
  #commits = 0;

  constructor(binding: string) {
    this.#binding = binding;
  }

  async [kRun](statements: D1Statement[]): Promise<D1Result[]> {
    const out = await callBinding('d1', this.#binding, 'query', statements);
    if (out.some((r) => r.meta.changed_db)) this.#commits++;
    return out;
  }

  prepare(query: unknown): D1PreparedStatement {
    if (typeof query !== 'string') throw new TypeError('D1 prepare() needs an SQL string');
    return new D1PreparedStatement(this, query);
  }

  async batch(statements: unknown): Promise<D1Result[]> {
    if (!Array.isArray(statements)) throw new TypeError('D1 batch() needs an array of prepared statements');
    // A plain loop over a checked length: the array is the worker's, and so are its methods.
    const n = statements.length;
    if (n > MAX_BATCH) throw new RangeError(`D1 batch() takes at most ${MAX_BATCH} statements`);
    const list: D1Statement[] = [];
    for (let i = 0; i < n; i++) {
      const s = statements[i];
      if (!(s instanceof D1PreparedStatement) || s[kDb] !== this)
        throw new TypeError('D1 batch() takes statements prepared on the same database');
      list.push(s[kRun]('objects'));
    }
    if (list.length === 0) return [];
    return this[kRun](list);
  }

  exec(query: unknown): Promise<{ count: number; duration: number }> {
    if (typeof query !== 'string') throw new TypeError('D1 exec() needs an SQL string');
    return callBinding('d1', this.#binding, 'exec', query);
  }

  dump(): Promise<ArrayBuffer> {
    return callBinding('d1', this.#binding, 'dump');
  }

  /**
   * A session: with one database and no replicas, every read already sees every write before
   * it, so a session is this database with a bookmark (docs/d1.md).
   */
  withSession(start?: unknown): D1DatabaseSession {
    if (
      start !== undefined &&
      (typeof start !== 'string' || (start.length > 200 && !SESSION_STARTS.has(start)))
    )
      throw new TypeError('withSession() takes "first-primary", "first-unconstrained" or a bookmark');
    return new D1DatabaseSession(this, () => this.#bookmark());
  }

  #bookmark(): string {
    return `${this.#commits.toString(16).padStart(8, '0')}-00000000-00000000-outpost`;
  }
}

export class D1DatabaseSession {
  readonly #db: D1Database;
  readonly #bookmark: () => string;

  constructor(db: D1Database, bookmark: () => string) {
    this.#db = db;
    this.#bookmark = bookmark;
  }

  prepare(query: unknown): D1PreparedStatement {
    return this.#db.prepare(query);
  }

  batch(statements: unknown): Promise<D1Result[]> {
    return this.#db.batch(statements);
  }

  getBookmark(): string | null {
    return this.#bookmark();
  }
}
