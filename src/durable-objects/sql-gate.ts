/**
 * What an object's own SQL may do (`ctx.storage.sql.exec`), decided before SQLite runs it.
 *
 * better-sqlite3 12 exposes no authorizer (sqlite3_set_authorizer) and sets no
 * SQLITE_LIMIT_ATTACHED, so the gate works from two things SQLite itself produces:
 * - tokens, with SQLite's own lexical rules (quotes "", ``, [], '' as identifiers, comments,
 *   blobs, parameters): the statement's leading keyword (PRAGMA, ATTACH, DETACH, BEGIN …) and
 *   every name it uses. This has to come before prepare: SQLite applies many PRAGMAs while
 *   compiling (`PRAGMA trusted_schema=1` takes effect in sqlite3_prepare), so an unlisted
 *   PRAGMA must never reach prepare, not even inside EXPLAIN.
 * - the compiled program (`EXPLAIN <statement>`): a call of sqlite_attach/sqlite_detach, a
 *   VACUUM with an INTO target, or a cursor on a b-tree of an internal `__cf_` table.
 * Names can only enter SQL as tokens (SQLite has no dynamic SQL; views and triggers are text
 * that passed this gate when they were created), so a name check on tokens covers views and
 * triggers too.
 *
 * Cloudflare's rules (https://developers.cloudflare.com/durable-objects/api/sqlite-storage-api/,
 * and the PRAGMA list D1 documents at https://developers.cloudflare.com/d1/sql-api/sql-statements/):
 * no ATTACH, the PRAGMAs of ALLOWED_PRAGMAS only, nothing named `__cf_…`, transactions through
 * `transactionSync()` rather than BEGIN/SAVEPOINT; refusals read `not authorized: SQLITE_AUTH`.
 */

export interface Token {
  kind: 'word' | 'id' | 'string' | 'blob' | 'number' | 'param' | 'semi' | 'op';
  /** Identifiers unquoted (`"a""b"` → `a"b`), strings unquoted, words as written. */
  value: string;
  start: number;
  end: number;
}

/** SQLite's tokenizer rules (tokenize.c), enough to find statements, keywords and names. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  const isIdStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
  const isIdChar = (c: number) => isIdStart(c) || (c >= 48 && c <= 57) || c === 36;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const start = i;
    if (c === 32 || c === 9 || c === 10 || c === 12 || c === 13) {
      i++;
      continue;
    }
    if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      while (i < n && sql.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === 39 || c === 34 || c === 96) {
      // '…' string, "…" and `…` identifiers; a doubled quote is the quote itself.
      const q = sql[i];
      let v = '';
      i++;
      for (;;) {
        if (i >= n) break; // unterminated: SQLite refuses it, so will prepare
        if (sql[i] === q) {
          if (sql[i + 1] === q) {
            v += q;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += sql[i++];
      }
      out.push({ kind: c === 39 ? 'string' : 'id', value: v, start, end: i });
      continue;
    }
    if (c === 91) {
      const close = sql.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      out.push({ kind: 'id', value: sql.slice(start + 1, close < 0 ? n : close), start, end: i });
      continue;
    }
    if ((c === 120 || c === 88) && sql.charCodeAt(i + 1) === 39) {
      const close = sql.indexOf("'", i + 2);
      i = close < 0 ? n : close + 1;
      out.push({ kind: 'blob', value: sql.slice(start, i), start, end: i });
      continue;
    }
    if ((c >= 48 && c <= 57) || (c === 46 && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i])) {
        // an exponent's sign belongs to the number
        if ((sql[i] === 'e' || sql[i] === 'E') && (sql[i + 1] === '+' || sql[i + 1] === '-')) i++;
        i++;
      }
      out.push({ kind: 'number', value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (c === 63 || c === 58 || c === 64 || c === 36) {
      i++;
      while (i < n && isIdChar(sql.charCodeAt(i))) i++;
      out.push({ kind: 'param', value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (isIdStart(c)) {
      while (i < n && isIdChar(sql.charCodeAt(i))) i++;
      out.push({ kind: 'word', value: sql.slice(start, i), start, end: i });
      continue;
    }
    if (c === 59) {
      i++;
      out.push({ kind: 'semi', value: ';', start, end: i });
      continue;
    }
    i++;
    out.push({ kind: 'op', value: sql[start], start, end: i });
  }
  return out;
}

/**
 * The text split after each `;` outside quotes and comments. A piece may end inside a
 * statement (a trigger body holds `;`): the caller joins pieces while SQLite answers
 * "incomplete input", which is SQLite's own judgement of where a statement ends.
 */
export function splitPieces(sql: string, tokens = tokenize(sql)): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (const t of tokens)
    if (t.kind === 'semi') {
      pieces.push(sql.slice(from, t.end));
      from = t.end;
    }
  if (from < sql.length) pieces.push(sql.slice(from));
  return pieces;
}

/**
 * PRAGMAs an object may run: those Cloudflare documents for its SQLite storage (the D1 list).
 * Everything else — database_list, journal_mode, writable_schema, trusted_schema,
 * hard_heap_limit, mmap_size, temp_store_directory … — is refused before it is compiled.
 */
export const ALLOWED_PRAGMAS: ReadonlySet<string> = new Set([
  'table_list',
  'table_info',
  'table_xinfo',
  'index_list',
  'index_info',
  'index_xinfo',
  'quick_check',
  'foreign_key_check',
  'foreign_key_list',
  'case_sensitive_like',
  'ignore_check_constraints',
  'legacy_alter_table',
  'recursive_triggers',
  'reverse_unordered_selects',
  'foreign_keys',
  'defer_foreign_keys',
  'optimize',
]);

/** Table-valued functions and virtual tables that read beyond the object's own rows. */
const FORBIDDEN_NAMES = new Set([
  'dbstat',
  'sqlite_dbpage',
  'sqlite_stmt',
  'fts3_tokenizer',
  'load_extension',
]);

export const NOT_AUTHORIZED = 'not authorized: SQLITE_AUTH';

export const TRANSACTION_REFUSED =
  'To execute a transaction, use ctx.storage.transaction() or ctx.storage.transactionSync() instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements: the JavaScript API rolls back on exceptions and works with the automatic write coalescing of Durable Objects.';

export class GateError extends Error {}

/**
 * Checks on one statement's text before it is compiled. Throws GateError; returns whether
 * the statement is an EXPLAIN (whose own program is a listing and runs nothing).
 */
export function checkTokens(tokens: Token[]): { explain: boolean } {
  for (const t of tokens) {
    if (t.kind !== 'id' && t.kind !== 'word' && t.kind !== 'string') continue;
    const v = t.value.toLowerCase();
    // Strings count too: SQLite takes a '…' string where a name is expected (CREATE TABLE 'x').
    if (v.includes('__cf_')) throw new GateError(NOT_AUTHORIZED);
    if (t.kind === 'string') continue;
    if (FORBIDDEN_NAMES.has(v)) throw new GateError(NOT_AUTHORIZED);
    if (v.startsWith('pragma_') && !ALLOWED_PRAGMAS.has(v.slice(7))) throw new GateError(NOT_AUTHORIZED);
  }
  const words = tokens.filter((t) => t.kind !== 'semi');
  let k = 0;
  const kw = (j: number) => (words[j]?.kind === 'word' ? words[j].value.toUpperCase() : '');
  let explain = false;
  if (kw(k) === 'EXPLAIN') {
    explain = true;
    k++;
    if (kw(k) === 'QUERY' && kw(k + 1) === 'PLAN') k += 2;
  }
  // Every statement starts with a keyword; anything else here means this tokenizer and
  // SQLite's could disagree about where the keyword is, so the statement is not run.
  if (words[k] && words[k].kind !== 'word')
    throw new GateError(`near "${words[k].value}": syntax error: SQLITE_ERROR`);
  const head = kw(k);
  // These keywords only ever begin a statement: met anywhere else, refuse rather than guess.
  for (let j = k + 1; j < words.length; j++)
    if (words[j].kind === 'word' && /^(attach|detach|pragma)$/i.test(words[j].value))
      throw new GateError(NOT_AUTHORIZED);
  switch (head) {
    case 'ATTACH':
    case 'DETACH':
      throw new GateError(NOT_AUTHORIZED);
    case 'BEGIN':
    case 'COMMIT':
    case 'END':
    case 'ROLLBACK':
    case 'SAVEPOINT':
    case 'RELEASE':
      throw new GateError(TRANSACTION_REFUSED);
    case 'PRAGMA': {
      // PRAGMA [schema .] name [= value | (value)]
      let j = k + 1;
      let schema: string | null = null;
      if (words[j + 1]?.kind === 'op' && words[j + 1].value === '.') {
        schema = (words[j]?.value ?? '').toLowerCase();
        j += 2;
      }
      const named = words[j] && (words[j].kind === 'word' || words[j].kind === 'id');
      const name = named ? words[j].value.toLowerCase() : '';
      if ((schema !== null && schema !== 'main') || !ALLOWED_PRAGMAS.has(name))
        throw new GateError(NOT_AUTHORIZED);
      break;
    }
  }
  return { explain };
}

/** One row of `EXPLAIN`: addr, opcode, p1, p2, p3, p4, p5, comment. */
export type ProgramRow = [number, string, number, number, number, unknown, number, unknown];

/** B-tree cursor opcodes whose p2 is a root page and p3 the database (0 = main). */
const CURSOR_OPS = new Set(['OpenRead', 'OpenWrite', 'ReopenIdx']);

/**
 * Checks on the compiled program. `internalRoots`: root pages of the `__cf_` tables (and
 * their indexes) in the main database.
 */
export function checkProgram(program: ProgramRow[], internalRoots: ReadonlySet<number>): void {
  for (const [, op, p1, p2, p3, p4, p5] of program) {
    const call = op === 'Function' || op === 'PureFunc';
    if (call && typeof p4 === 'string' && /^sqlite_(attach|detach)\(/.test(p4))
      throw new GateError(NOT_AUTHORIZED);
    // VACUUM INTO 'file': p2 holds the target's register (0 for a plain VACUUM).
    if (op === 'Vacuum' && p2 !== 0) throw new GateError(NOT_AUTHORIZED);
    // OPFLAG_P2ISREG (0x10): p2 is a register holding a root page just created (CREATE INDEX).
    if (CURSOR_OPS.has(op) && p3 === 0 && (p5 & 0x10) === 0 && internalRoots.has(p2))
      throw new GateError(NOT_AUTHORIZED);
    // Destroy: p1 root, p3 database; Clear: p1 root, p2 database.
    if (op === 'Destroy' && p3 === 0 && internalRoots.has(p1)) throw new GateError(NOT_AUTHORIZED);
    if (op === 'Clear' && p2 === 0 && internalRoots.has(p1)) throw new GateError(NOT_AUTHORIZED);
  }
}
