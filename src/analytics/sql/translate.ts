/**
 * Translation of a parsed Analytics Engine query (./ast.ts) into one SQLite SELECT over the
 * `points` table (../store.ts), with every value the query holds bound as a parameter — no text
 * of the query reaches the SQL except through parameters, and names are resolved here to the
 * table's own columns. `FROM name` becomes `WHERE account = @… AND dataset = @…`: a query reads
 * only the datasets of the account it runs for, and nothing else in the file.
 *
 * ClickHouse's rules are kept where they change answers: aliases may be used anywhere in the
 * query (they are expanded), a column outside an aggregate must be a GROUP BY key, aggregates
 * are refused in WHERE and inside each other, `/` divides as floats, ORDER BY puts NULLs last.
 * Every expression gets a ClickHouse type, which names the `meta` column types of the answer
 * and decides how values are written (./format.ts). Functions are in ./functions.ts.
 */
import { AnalyticsSqlError } from '../limits.ts';
import type { BinOp, Expr, Select, SelectItem } from './ast.ts';
import { callFunction, type Tx, type Typed } from './functions.ts';
import {
  arithmeticType,
  commonType,
  isFloat,
  isInt,
  isNull,
  isNumeric,
  isTime,
  literalIntType,
  parseDateTime,
  type SqlType,
  UNIT_MONTHS,
  UNIT_SECONDS,
} from './types.ts';

export interface OutputColumn {
  name: string;
  type: SqlType;
}

export interface Translated {
  sql: string;
  params: Record<string, unknown>;
  columns: OutputColumn[];
}

/** The columns of a dataset, in the order `SELECT *` gives them. */
export const DATASET_COLUMNS: OutputColumn[] = [
  { name: 'dataset', type: 'String' },
  { name: 'timestamp', type: 'DateTime' },
  { name: '_sample_interval', type: 'UInt32' },
  { name: 'index1', type: 'String' },
  ...Array.from({ length: 20 }, (_, i) => ({ name: `blob${i + 1}`, type: 'String' })),
  ...Array.from({ length: 20 }, (_, i) => ({ name: `double${i + 1}`, type: 'Float64' })),
];

/** Bound values, one name per distinct value (so equal expressions translate to equal SQL). */
class Params {
  readonly values: Record<string, unknown> = {};
  readonly #names = new Map<string, string>();

  add(v: string | number | bigint | null): string {
    const key = `${typeof v}:${String(v)}`;
    let name = this.#names.get(key);
    if (!name) {
      name = `p${this.#names.size + 1}`;
      this.#names.set(key, name);
      this.values[name] = v;
    }
    return `@${name}`;
  }
}

interface Scope {
  /** Column name → its SQL and type. */
  columns: Map<string, OutputColumn & { sql: string }>;
  /** Names that may qualify a column (`w.blob1`): the dataset's name or the alias. */
  qualifiers: Set<string>;
  /** Column names in `SELECT *` order. */
  star: OutputColumn[];
}

interface Ctx {
  aliases: Map<string, Expr>;
  /** Aliases being expanded (inside one, its own name is the column). */
  expanding: Set<string>;
  /** The SQL of GROUP BY keys, in a grouped query's SELECT / HAVING / ORDER BY. */
  keys: Set<string> | null;
  inAgg: boolean;
  clause: string;
}

const CMP_NAMES: Record<string, string> = {
  '=': 'equals',
  '!=': 'notEquals',
  '<': 'less',
  '>': 'greater',
  '<=': 'lessOrEquals',
  '>=': 'greaterOrEquals',
  '+': 'plus',
  '-': 'minus',
  '*': 'multiply',
  '/': 'divide',
  '%': 'modulo',
  AND: 'and',
  OR: 'or',
  '||': 'concat',
};

/** The name ClickHouse gives an unaliased column: the expression in its function form. */
export function render(e: Expr): string {
  switch (e.k) {
    case 'num':
      return e.text;
    case 'str':
      return `'${e.v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    case 'bool':
      return String(e.v);
    case 'null':
      return 'NULL';
    case 'interval':
      return `toInterval${e.unit[0]}${e.unit.slice(1).toLowerCase()}(${e.n})`;
    case 'col':
      return e.name;
    case 'star':
      return '*';
    case 'call': {
      const args = `${e.distinct ? 'DISTINCT ' : ''}${e.args.map(render).join(', ')}`;
      return e.params ? `${e.name}(${e.params.map(render).join(', ')})(${args})` : `${e.name}(${args})`;
    }
    case 'neg':
      return `negate(${render(e.e)})`;
    case 'not':
      return `not(${render(e.e)})`;
    case 'bin':
      return `${CMP_NAMES[e.op]}(${render(e.l)}, ${render(e.r)})`;
    case 'in':
      return `${e.not ? 'notIn' : 'in'}(${render(e.e)}, (${e.list.map(render).join(', ')}))`;
    case 'between': {
      const r = `and(greaterOrEquals(${render(e.e)}, ${render(e.lo)}), lessOrEquals(${render(e.e)}, ${render(e.hi)}))`;
      return e.not ? `not(${r})` : r;
    }
    case 'like':
      return `${e.not ? 'not' : ''}${e.ci ? (e.not ? 'ILike' : 'ilike') : e.not ? 'Like' : 'like'}(${render(e.e)}, ${render(e.pattern)})`;
    case 'isnull':
      return `${e.not ? 'isNotNull' : 'isNull'}(${render(e.e)})`;
    case 'case':
      return `multiIf(${e.whens.map(([w, t]) => `${render(w)}, ${render(t)}`).join(', ')}, ${e.else ? render(e.else) : 'NULL'})`;
  }
}

const bare = (...ts: Typed[]): string | null => ts.find((t) => t.bare)?.bare ?? null;
const agg = (...ts: Typed[]): boolean => ts.some((t) => t.agg);

export class Translator {
  readonly params = new Params();
  #subqueries = 0;

  constructor(
    readonly account: string,
    /** The query's `now()`, whole seconds. */
    readonly now: number,
    /** Whether a dataset exists in the account (an unknown name is an error naming it). */
    readonly hasDataset: (name: string) => boolean,
  ) {}

  /**
   * One SELECT. The outermost one leaves LIMIT and OFFSET to the caller (which counts the rows
   * before the limit); a subquery's are in its SQL.
   */
  select(s: Select, outer: boolean): Translated & { limit: number | null; offset: number } {
    const scope = this.#scope(s);
    const aliases = new Map<string, Expr>();
    const items = this.#expand(s.items, scope);
    for (const it of items) if (it.alias !== null && it.e) aliases.set(it.alias, it.e);
    const ctx = (clause: string, keys: Set<string> | null = null): Ctx => ({
      aliases,
      expanding: new Set(),
      keys,
      inAgg: false,
      clause,
    });
    const tx = (e: Expr, c: Ctx): Typed => this.#tr(e, c, scope);

    const where: string[] = [];
    if (s.from?.k === 'dataset')
      where.push(`account = ${this.params.add(this.account)}`, `dataset = ${this.params.add(s.from.name)}`);
    if (s.where) {
      const w = tx(s.where, ctx('WHERE'));
      if (w.agg) throw new AnalyticsSqlError('aggregate functions are not allowed in WHERE: use HAVING');
      where.push(`(${w.sql})`);
    }
    const positional = (e: Expr): Expr => {
      if (e.k !== 'num' || !e.int) return e;
      const item = items[e.v - 1];
      if (!item?.e) throw new AnalyticsSqlError(`position ${e.v} is not a column of the SELECT list`);
      return item.e;
    };
    const keys = s.groupBy.map((g) => {
      const t = tx(positional(g), ctx('GROUP BY'));
      if (t.agg) throw new AnalyticsSqlError('aggregate functions are not allowed in GROUP BY');
      return t.sql;
    });
    const probe = items.map((it) => tx(it.e as Expr, ctx('SELECT')));
    const grouped = keys.length > 0 || s.having !== null || probe.some((t) => t.agg);
    const keySet = grouped ? new Set(keys) : null;
    const check = (t: Typed, where: string): Typed => {
      if (keySet && t.bare && !keySet.has(t.sql))
        throw new AnalyticsSqlError(
          `column ${t.bare} in ${where} is not under an aggregate function and not in GROUP BY`,
        );
      return t;
    };
    const outs = items.map((it) => check(tx(it.e as Expr, ctx('SELECT', keySet)), 'SELECT'));
    const having = s.having ? check(tx(s.having, ctx('HAVING', keySet)), 'HAVING') : null;
    const order = s.orderBy.map((o) => {
      const t = check(tx(positional(o.e), ctx('ORDER BY', keySet)), 'ORDER BY');
      return `${t.sql}${o.desc ? ' DESC' : ''} NULLS ${o.nullsFirst ? 'FIRST' : 'LAST'}`;
    });

    const columns = items.map((it, i) => ({ name: it.alias ?? render(it.e as Expr), type: outs[i].type }));
    let from = '';
    if (s.from?.k === 'dataset') from = ' FROM points';
    else if (s.from?.k === 'sub') from = ` FROM (${scope.subSql}) AS ${scope.subName}`;
    let sql = `SELECT ${s.distinct ? 'DISTINCT ' : ''}${outs.map((t, i) => `${t.sql} AS c${i}`).join(', ')}${from}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    if (keys.length) sql += ` GROUP BY ${keys.join(', ')}`;
    if (having) sql += ` HAVING ${having.sql}`;
    if (order.length) sql += ` ORDER BY ${order.join(', ')}`;
    if (!outer && (s.limit !== null || s.offset > 0))
      sql += ` LIMIT ${this.params.add(BigInt(s.limit ?? -1))} OFFSET ${this.params.add(BigInt(s.offset))}`;
    return { sql, params: this.params.values, columns, limit: s.limit, offset: s.offset };
  }

  #scope(s: Select): Scope & { subSql?: string; subName?: string } {
    if (!s.from) return { columns: new Map(), qualifiers: new Set(), star: [] };
    const qualifiers = new Set<string>();
    if (s.from.alias) qualifiers.add(s.from.alias);
    if (s.from.k === 'dataset') {
      if (!this.hasDataset(s.from.name))
        throw new AnalyticsSqlError(
          `unknown dataset "${s.from.name}": no data point has been written to it in this account (SHOW TABLES lists the datasets)`,
        );
      qualifiers.add(s.from.name);
      const columns = new Map(DATASET_COLUMNS.map((c) => [c.name, { ...c, sql: c.name }]));
      return { columns, qualifiers, star: DATASET_COLUMNS };
    }
    const inner = this.select(s.from.select, false);
    const subName = `s${++this.#subqueries}`;
    const columns = new Map<string, OutputColumn & { sql: string }>();
    inner.columns.forEach((c, i) => {
      if (!columns.has(c.name)) columns.set(c.name, { ...c, sql: `${subName}.c${i}` });
    });
    return { columns, qualifiers, star: inner.columns, subSql: inner.sql, subName };
  }

  /** `*` becomes the source's columns. */
  #expand(items: SelectItem[], scope: Scope): SelectItem[] {
    const out: SelectItem[] = [];
    for (const it of items) {
      if (it.e) out.push(it);
      else {
        if (scope.star.length === 0) throw new AnalyticsSqlError('SELECT * needs a FROM');
        for (const c of scope.star) out.push({ e: { k: 'col', name: c.name }, alias: null });
      }
    }
    return out;
  }

  #column(name: string, c: Ctx, scope: Scope): Typed {
    let col = name;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const q = name.slice(0, dot);
      if (!scope.qualifiers.has(q))
        throw new AnalyticsSqlError(`unknown table "${q}" in ${name}: a query reads one dataset`);
      col = name.slice(dot + 1);
    } else {
      const alias = c.aliases.get(name);
      if (alias && !c.expanding.has(name)) {
        c.expanding.add(name);
        try {
          return this.#tr(alias, c, scope);
        } finally {
          c.expanding.delete(name);
        }
      }
    }
    const found = scope.columns.get(col);
    if (!found) {
      const known = scope.columns.size
        ? [...scope.columns.keys()]
            .join(', ')
            .replace(/blob1, .*blob20/, 'blob1 … blob20')
            .replace(/double1, .*double20/, 'double1 … double20')
        : 'none (the query has no FROM)';
      throw new AnalyticsSqlError(`unknown column ${col} in ${c.clause} (columns: ${known})`);
    }
    return { sql: found.sql, type: found.type, agg: false, bare: c.inAgg ? null : col };
  }

  #tr(e: Expr, c: Ctx, scope: Scope): Typed {
    const t = this.#translate(e, c, scope);
    // A GROUP BY key used whole is not a bare column, whatever it holds.
    if (c.keys?.has(t.sql)) return { ...t, bare: null };
    return t;
  }

  #translate(e: Expr, c: Ctx, scope: Scope): Typed {
    const tr = (x: Expr) => this.#tr(x, c, scope);
    const lit = (sql: string, type: SqlType): Typed => ({ sql, type, agg: false, bare: null });
    switch (e.k) {
      case 'num':
        return e.int
          ? lit(this.params.add(BigInt(e.v)), literalIntType(e.v))
          : lit(this.params.add(e.v), 'Float64');
      case 'str':
        return lit(this.params.add(e.v), 'String');
      case 'bool':
        return lit(e.v ? '1' : '0', 'Bool');
      case 'null':
        return lit('NULL', 'Nullable(Nothing)');
      case 'interval':
        return { sql: '', type: 'Interval', agg: false, bare: null, interval: { n: e.n, unit: e.unit } };
      case 'star':
        throw new AnalyticsSqlError('* is only allowed as the SELECT list or in count(*)');
      case 'col':
        return this.#column(e.name, c, scope);
      case 'call':
        return callFunction(e, this.#tx(c, scope));
      case 'neg': {
        const v = this.#value(tr(e.e), 'negate');
        if (!isNumeric(v.type)) throw new AnalyticsSqlError(`negate: ${v.type} is not a number`);
        const type = isFloat(v.type) ? 'Float64' : v.type.replace(/^UInt/, 'Int');
        return { ...v, sql: `(-${v.sql})`, type };
      }
      case 'not': {
        const v = this.#value(tr(e.e), 'not');
        return { ...v, sql: `(NOT ${v.sql})`, type: 'UInt8' };
      }
      case 'bin':
        return this.#binary(e.op, tr(e.l), tr(e.r), e);
      case 'in': {
        const v = this.#value(tr(e.e), 'in');
        const list = e.list.map((x) => this.#comparable(v, this.#value(tr(x), 'in')));
        if (list.length === 0) return { ...v, sql: e.not ? '1' : '0', type: 'UInt8' };
        return {
          sql: `(${v.sql} ${e.not ? 'NOT IN' : 'IN'} (${list.map((x) => x.sql).join(', ')}))`,
          type: 'UInt8',
          agg: agg(v, ...list),
          bare: bare(v, ...list),
        };
      }
      case 'between': {
        const v = this.#value(tr(e.e), 'between');
        const lo = this.#comparable(v, this.#value(tr(e.lo), 'between'));
        const hi = this.#comparable(v, this.#value(tr(e.hi), 'between'));
        return {
          sql: `(${v.sql} ${e.not ? 'NOT BETWEEN' : 'BETWEEN'} ${lo.sql} AND ${hi.sql})`,
          type: 'UInt8',
          agg: agg(v, lo, hi),
          bare: bare(v, lo, hi),
        };
      }
      case 'like': {
        const v = this.#value(tr(e.e), 'like');
        const p = this.#value(tr(e.pattern), 'like');
        const sql = `_ae_like(${v.sql}, ${p.sql}, ${e.ci ? 1 : 0})`;
        return { sql: e.not ? `(NOT ${sql})` : sql, type: 'UInt8', agg: agg(v, p), bare: bare(v, p) };
      }
      case 'isnull': {
        const v = this.#value(tr(e.e), 'isNull');
        return { ...v, sql: `(${v.sql} IS ${e.not ? 'NOT ' : ''}NULL)`, type: 'UInt8' };
      }
      case 'case': {
        const base = e.base ? this.#value(tr(e.base), 'CASE') : null;
        const parts: Typed[] = base ? [base] : [];
        let type: SqlType | null = null;
        let sql = `CASE${base ? ` ${base.sql}` : ''}`;
        for (const [w, then] of e.whens) {
          const wt = this.#value(tr(w), 'CASE');
          const tt = this.#value(tr(then), 'CASE');
          parts.push(wt, tt);
          type = type === null ? tt.type : commonType(type, tt.type);
          sql += ` WHEN ${base ? this.#comparable(base, wt).sql : wt.sql} THEN ${tt.sql}`;
        }
        if (e.else) {
          const el = this.#value(tr(e.else), 'CASE');
          parts.push(el);
          type = commonType(type as SqlType, el.type);
          sql += ` ELSE ${el.sql}`;
        }
        return { sql: `${sql} END`, type: type as SqlType, agg: agg(...parts), bare: bare(...parts) };
      }
    }
  }

  /** What functions see of the translator. */
  #tx(c: Ctx, scope: Scope): Tx {
    return {
      tr: (x) => this.#tr(x, c, scope),
      value: (t, fn) => this.#value(t, fn),
      checkAggregate: (name) => {
        if (c.inAgg)
          throw new AnalyticsSqlError(
            `aggregate functions cannot be nested: ${name}() is inside another one`,
          );
        if (c.clause === 'WHERE')
          throw new AnalyticsSqlError(`aggregate functions are not allowed in WHERE (${name}()): use HAVING`);
        if (c.clause === 'GROUP BY')
          throw new AnalyticsSqlError(`aggregate functions are not allowed in GROUP BY (${name}())`);
      },
      aggregate: (x) => {
        c.inAgg = true;
        try {
          return this.#tr(x, c, scope);
        } finally {
          c.inAgg = false;
        }
      },
      comparable: (a, b) => this.#comparable(a, b),
      param: (v) => this.params.add(v),
      now: this.now,
    };
  }

  /** A value, not an INTERVAL (those only add to or subtract from times). */
  #value(t: Typed, fn: string): Typed {
    if (t.interval)
      throw new AnalyticsSqlError(
        `${fn}: an INTERVAL can only be added to or subtracted from a date or time`,
      );
    return t;
  }

  /** `b` compared with `a`: a string compared with a time is read as a time. */
  #comparable(a: Typed, b: Typed): Typed {
    if (isTime(a.type) && b.type === 'String' && b.sql.startsWith('@')) {
      const text = this.params.values[b.sql.slice(1)] as string;
      const secs = parseDateTime(text);
      if (secs === null)
        throw new AnalyticsSqlError(`cannot read '${text}' as a DateTime ('YYYY-MM-DD hh:mm:ss')`);
      return { ...b, sql: this.params.add(BigInt(secs)), type: 'DateTime' };
    }
    return b;
  }

  #binary(op: BinOp, l: Typed, r: Typed, e: Expr): Typed {
    const parts = { agg: agg(l, r), bare: bare(l, r) };
    const fn = CMP_NAMES[op];
    if (op === '+' || op === '-') {
      const iv = r.interval ?? (op === '+' ? l.interval : undefined);
      const time = r.interval ? l : l.interval ? r : null;
      if (iv && time) {
        if (!isTime(time.type))
          throw new AnalyticsSqlError(
            `${fn}: an INTERVAL can only be added to or subtracted from a date or time`,
          );
        const n = op === '-' ? -iv.n : iv.n;
        const secs = UNIT_SECONDS[iv.unit];
        const sql =
          secs !== undefined
            ? `(${time.sql} + ${this.params.add(BigInt(n * secs))})`
            : `_ae_add_months(${time.sql}, ${this.params.add(BigInt(n * (UNIT_MONTHS[iv.unit] as number)))})`;
        return { sql, type: time.type === 'Date' && secs === undefined ? 'Date' : 'DateTime', ...parts };
      }
    }
    this.#value(l, fn);
    this.#value(r, fn);
    switch (op) {
      case 'AND':
      case 'OR':
        return { sql: `(${l.sql} ${op} ${r.sql})`, type: 'UInt8', ...parts };
      case '=':
      case '!=':
      case '<':
      case '>':
      case '<=':
      case '>=': {
        const [a, b] = isTime(r.type) ? [this.#comparable(r, l), r] : [l, this.#comparable(l, r)];
        if ((a.type === 'String') !== (b.type === 'String') && !isNull(a.type) && !isNull(b.type))
          throw new AnalyticsSqlError(
            `${fn}: cannot compare ${a.type} with ${b.type} in ${render(e)} (convert one side, e.g. toString or toFloat64)`,
          );
        return { sql: `(${a.sql} ${op} ${b.sql})`, type: 'UInt8', ...parts };
      }
      case '||':
        return { sql: `(${l.sql} || ${r.sql})`, type: 'String', ...parts };
    }
    const numeric = (t: Typed) => isNumeric(t.type) || isTime(t.type) || isNull(t.type);
    if (!numeric(l) || !numeric(r))
      throw new AnalyticsSqlError(`${fn}: illegal types of arguments (${l.type}, ${r.type}) in ${render(e)}`);
    if (op === '/') return { sql: `(CAST(${l.sql} AS REAL) / ${r.sql})`, type: 'Float64', ...parts };
    if (op === '%') {
      const ints = isInt(l.type) && isInt(r.type);
      return {
        sql: ints ? `(${l.sql} % ${r.sql})` : `mod(${l.sql}, ${r.sql})`,
        type: ints ? l.type : 'Float64',
        ...parts,
      };
    }
    if (isTime(l.type) && isInt(r.type) && op !== '*')
      return { sql: `(${l.sql} ${op} ${r.sql})`, type: l.type, ...parts };
    if (isTime(l.type) && isTime(r.type) && op === '-')
      return { sql: `(${l.sql} - ${r.sql})`, type: 'Int64', ...parts };
    const type = arithmeticType(
      isTime(l.type) ? 'UInt32' : l.type,
      isTime(r.type) ? 'UInt32' : r.type,
      op as '+',
    );
    return { sql: `(${l.sql} ${op} ${r.sql})`, type, ...parts };
  }
}
