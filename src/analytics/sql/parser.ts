/**
 * Parser of Analytics Engine's SQL dialect into ./ast.ts: SHOW TABLES / TIMEZONE / TIMEZONES,
 * and SELECT [DISTINCT] … [FROM dataset | (subquery)] [WHERE] [GROUP BY] [HAVING] [ORDER BY]
 * [LIMIT n | ALL | m, n] [OFFSET n] [FORMAT JSON | JSONEachRow | TabSeparated], with ClickHouse's
 * expression syntax: operators by precedence (OR, AND, NOT, comparisons with IN / BETWEEN /
 * LIKE / ILIKE / IS NULL, + - ||, * / %, unary -), INTERVAL literals, CASE, parametric calls
 * (`quantileExactWeighted(0.5)(x, w)`), `position(a IN b)`, `extract(DAY FROM t)` and aliases
 * with or without AS. Anything else is refused with an error naming it: JOIN, UNION, WITH,
 * subqueries in expressions, statements other than SELECT and SHOW.
 */
import { AnalyticsSqlError } from '../limits.ts';
import type { BinOp, Expr, Format, IntervalUnit, Select, SelectItem, Source, Statement } from './ast.ts';
import { type Token, tokenize } from './lexer.ts';

/** Words that end an expression or a list, so they are never taken as a bare alias. */
const RESERVED = new Set(
  (
    'SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET FORMAT AS AND OR NOT IN BETWEEN LIKE ILIKE ' +
    'IS NULL ASC DESC UNION JOIN INNER LEFT RIGHT FULL CROSS ARRAY ON USING SETTINGS SAMPLE PREWHERE ' +
    'WINDOW INTO WITH CASE WHEN THEN ELSE END DISTINCT ALL INTERVAL TRUE FALSE NULLS FIRST LAST'
  ).split(' '),
);

/** Clauses ClickHouse has that the Analytics Engine dialect (and Outpost) does not. */
const UNSUPPORTED_CLAUSES: Record<string, string> = {
  UNION: 'UNION',
  JOIN: 'JOIN',
  INNER: 'JOIN',
  LEFT: 'JOIN',
  RIGHT: 'JOIN',
  FULL: 'JOIN',
  CROSS: 'JOIN',
  ARRAY: 'ARRAY JOIN',
  SETTINGS: 'SETTINGS',
  SAMPLE: 'SAMPLE',
  PREWHERE: 'PREWHERE',
  WINDOW: 'WINDOW',
  INTO: 'INTO OUTFILE',
  WITH: 'WITH',
};

const UNITS: Record<string, IntervalUnit> = {
  SECOND: 'SECOND',
  MINUTE: 'MINUTE',
  HOUR: 'HOUR',
  DAY: 'DAY',
  WEEK: 'WEEK',
  MONTH: 'MONTH',
  QUARTER: 'QUARTER',
  YEAR: 'YEAR',
};

const FORMATS: Record<string, Format> = {
  JSON: 'JSON',
  JSONEACHROW: 'JSONEachRow',
  TABSEPARATED: 'TabSeparated',
  TSV: 'TabSeparated',
};

/** Nesting of parentheses and subqueries (a deeper query is refused, not a stack overflow). */
const MAX_DEPTH = 64;

function unitOf(word: string): IntervalUnit | undefined {
  const w = word.toUpperCase();
  return UNITS[w] ?? UNITS[w.replace(/S$/, '')];
}

class Parser {
  readonly #t: Token[];
  #i = 0;
  #depth = 0;

  constructor(sql: string) {
    this.#t = tokenize(sql);
  }

  get #peek(): Token {
    return this.#t[this.#i];
  }

  #next(): Token {
    const t = this.#t[this.#i];
    if (t.kind !== 'eof') this.#i++;
    return t;
  }

  #isKw(word: string, t: Token = this.#peek): boolean {
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  #acceptKw(...words: string[]): boolean {
    for (let j = 0; j < words.length; j++) if (!this.#isKw(words[j], this.#t[this.#i + j])) return false;
    this.#i += words.length;
    return true;
  }

  #expectKw(word: string): void {
    if (!this.#acceptKw(word)) this.#fail(`expected ${word}`);
  }

  #isOp(op: string, t: Token = this.#peek): boolean {
    return t.kind === 'op' && t.text === op;
  }

  #acceptOp(op: string): boolean {
    if (!this.#isOp(op)) return false;
    this.#i++;
    return true;
  }

  #expectOp(op: string): void {
    if (!this.#acceptOp(op)) this.#fail(`expected "${op}"`);
  }

  #fail(what: string): never {
    const t = this.#peek;
    const found = t.kind === 'eof' ? 'the end of the query' : `"${t.text}" at offset ${t.at}`;
    throw new AnalyticsSqlError(`syntax error: ${what}, found ${found}`);
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH)
      throw new AnalyticsSqlError(`the query nests deeper than ${MAX_DEPTH} levels`);
  }

  statement(): Statement {
    let st: Statement;
    if (this.#acceptKw('SHOW')) {
      const w = this.#next();
      const what = w.kind === 'ident' ? w.text.toUpperCase() : '';
      if (what !== 'TABLES' && what !== 'TIMEZONE' && what !== 'TIMEZONES')
        throw new AnalyticsSqlError(
          `SHOW ${w.text} is not supported: SHOW TABLES, SHOW TIMEZONE and SHOW TIMEZONES are`,
        );
      st = { k: 'show', what: what.toLowerCase() as 'tables', format: this.#format() };
    } else if (this.#isKw('SELECT')) {
      const select = this.#select();
      st = { k: 'select', select, format: this.#format() };
    } else {
      const t = this.#peek;
      if (t.kind === 'eof') throw new AnalyticsSqlError('the query is empty');
      throw new AnalyticsSqlError(
        `${t.text.toUpperCase()} statements are not supported: Analytics Engine answers SELECT and SHOW TABLES`,
      );
    }
    if (this.#acceptOp(';') && this.#peek.kind !== 'eof')
      throw new AnalyticsSqlError(`one statement per query: found "${this.#peek.text}" after ";"`);
    if (this.#peek.kind !== 'eof') {
      const word = this.#peek.text.toUpperCase();
      const clause = UNSUPPORTED_CLAUSES[word];
      if (clause) throw new AnalyticsSqlError(`${clause} is not supported`);
      this.#fail('the end of the query');
    }
    return st;
  }

  #format(): Format {
    if (!this.#acceptKw('FORMAT')) return 'JSON';
    const t = this.#next();
    const f = FORMATS[t.text.toUpperCase()];
    if (!f || t.kind !== 'ident')
      throw new AnalyticsSqlError(
        `FORMAT ${t.text} is not supported: JSON, JSONEachRow and TabSeparated are`,
      );
    return f;
  }

  #select(): Select {
    this.#enter();
    this.#expectKw('SELECT');
    const distinct = this.#acceptKw('DISTINCT');
    const items: SelectItem[] = [];
    do items.push(this.#item());
    while (this.#acceptOp(','));
    let from: Source | null = null;
    if (this.#acceptKw('FROM')) from = this.#source();
    this.#refuseClause();
    const where = this.#acceptKw('WHERE') ? this.#expr() : null;
    const groupBy: Expr[] = [];
    if (this.#acceptKw('GROUP', 'BY')) {
      do groupBy.push(this.#expr());
      while (this.#acceptOp(','));
      if (this.#isKw('WITH'))
        throw new AnalyticsSqlError('GROUP BY … WITH ROLLUP/CUBE/TOTALS is not supported');
    }
    const having = this.#acceptKw('HAVING') ? this.#expr() : null;
    const orderBy: Select['orderBy'] = [];
    if (this.#acceptKw('ORDER', 'BY')) {
      do {
        const e = this.#expr();
        const desc = this.#acceptKw('DESC') || this.#acceptKw('DESCENDING');
        if (!desc) this.#acceptKw('ASC') || this.#acceptKw('ASCENDING');
        let nullsFirst = false;
        if (this.#acceptKw('NULLS')) {
          nullsFirst = this.#acceptKw('FIRST');
          if (!nullsFirst) this.#expectKw('LAST');
        }
        if (this.#isKw('WITH')) throw new AnalyticsSqlError('ORDER BY … WITH FILL is not supported');
        orderBy.push({ e, desc, nullsFirst });
      } while (this.#acceptOp(','));
    }
    let limit: number | null = null;
    let offset = 0;
    if (this.#acceptKw('LIMIT')) {
      if (!this.#acceptKw('ALL')) {
        limit = this.#count('LIMIT');
        if (this.#acceptOp(',')) {
          offset = limit;
          limit = this.#count('LIMIT');
        }
        if (this.#isKw('BY')) throw new AnalyticsSqlError('LIMIT … BY is not supported');
        if (this.#isKw('WITH')) throw new AnalyticsSqlError('LIMIT … WITH TIES is not supported');
      }
    }
    if (this.#acceptKw('OFFSET')) {
      offset = this.#count('OFFSET');
      this.#acceptKw('ROWS') || this.#acceptKw('ROW');
    }
    this.#refuseClause();
    this.#depth--;
    return { k: 'select', distinct, items, from, where, groupBy, having, orderBy, limit, offset };
  }

  #refuseClause(): void {
    const t = this.#peek;
    if (t.kind !== 'ident') return;
    const clause = UNSUPPORTED_CLAUSES[t.text.toUpperCase()];
    if (clause) throw new AnalyticsSqlError(`${clause} is not supported: a query reads one dataset`);
  }

  #count(clause: string): number {
    const t = this.#next();
    if (t.kind !== 'num' || !/^\d+$/.test(t.text) || !Number.isSafeInteger(Number(t.text)))
      throw new AnalyticsSqlError(`${clause} takes a whole number, found "${t.text}"`);
    return Number(t.text);
  }

  #item(): SelectItem {
    if (this.#acceptOp('*')) return { e: null, alias: null };
    const e = this.#expr();
    return { e, alias: this.#alias() };
  }

  #alias(): string | null {
    if (this.#acceptKw('AS')) {
      const t = this.#next();
      if (t.kind !== 'ident' && t.kind !== 'qident') this.#fail('a name after AS');
      return t.text;
    }
    const t = this.#peek;
    if (t.kind === 'qident' || (t.kind === 'ident' && !RESERVED.has(t.text.toUpperCase()))) {
      this.#i++;
      return t.text;
    }
    return null;
  }

  #source(): Source {
    if (this.#acceptOp('(')) {
      if (!this.#isKw('SELECT')) this.#fail('a subquery (SELECT …)');
      const select = this.#select();
      this.#expectOp(')');
      const alias = this.#alias();
      return { k: 'sub', select, alias };
    }
    const t = this.#next();
    if (t.kind !== 'ident' && t.kind !== 'qident') this.#fail('a dataset name after FROM');
    if (this.#isOp('.'))
      throw new AnalyticsSqlError(
        `FROM ${t.text}.…: a query reads one of the account's datasets by its name, without a database`,
      );
    if (this.#isOp('(')) throw new AnalyticsSqlError(`table functions (FROM ${t.text}(…)) are not supported`);
    return { k: 'dataset', name: t.text, alias: this.#alias() };
  }

  #expr(): Expr {
    this.#enter();
    const e = this.#or();
    this.#depth--;
    return e;
  }

  #or(first?: Expr): Expr {
    let l = this.#and(first);
    while (this.#acceptKw('OR')) l = { k: 'bin', op: 'OR', l, r: this.#and() };
    return l;
  }

  #and(first?: Expr): Expr {
    let l = first ?? this.#not();
    while (this.#acceptKw('AND')) l = { k: 'bin', op: 'AND', l, r: this.#not() };
    return l;
  }

  #not(): Expr {
    if (this.#acceptKw('NOT')) {
      this.#enter();
      const e: Expr = { k: 'not', e: this.#not() };
      this.#depth--;
      return e;
    }
    return this.#comparison();
  }

  #comparison(): Expr {
    return this.#comparisonFrom(this.#additive());
  }

  #inList(): Expr[] {
    this.#expectOp('(');
    if (this.#isKw('SELECT')) throw new AnalyticsSqlError('IN (SELECT …) is not supported: list the values');
    const list: Expr[] = [];
    if (!this.#isOp(')'))
      do list.push(this.#expr());
      while (this.#acceptOp(','));
    this.#expectOp(')');
    return list;
  }

  #additive(): Expr {
    let l = this.#multiplicative();
    for (;;) {
      const t = this.#peek;
      if (t.kind !== 'op' || (t.text !== '+' && t.text !== '-' && t.text !== '||')) return l;
      this.#i++;
      l = { k: 'bin', op: t.text as BinOp, l, r: this.#multiplicative() };
    }
  }

  #multiplicative(): Expr {
    let l = this.#unary();
    for (;;) {
      const t = this.#peek;
      if (t.kind !== 'op' || (t.text !== '*' && t.text !== '/' && t.text !== '%')) return l;
      this.#i++;
      l = { k: 'bin', op: t.text as BinOp, l, r: this.#unary() };
    }
  }

  #unary(): Expr {
    if (this.#acceptOp('-')) {
      this.#enter();
      const e = this.#unary();
      this.#depth--;
      // A negative literal stays a literal (its type is signed, its name "-42").
      if (e.k === 'num') return { ...e, v: -e.v, text: `-${e.text}` };
      return { k: 'neg', e };
    }
    if (this.#acceptOp('+')) return this.#unary();
    return this.#primary();
  }

  #primary(): Expr {
    const t = this.#next();
    if (t.kind === 'num') {
      const v = Number(t.text);
      return { k: 'num', v, int: /^\d+$/.test(t.text) && Number.isSafeInteger(v), text: t.text };
    }
    if (t.kind === 'str') return { k: 'str', v: t.text };
    if (t.kind === 'op' && t.text === '(') {
      if (this.#isKw('SELECT')) throw new AnalyticsSqlError('subqueries in expressions are not supported');
      const e = this.#expr();
      if (this.#isOp(',')) throw new AnalyticsSqlError('tuples are not supported');
      this.#expectOp(')');
      return e;
    }
    if (t.kind === 'qident') return this.#column(t.text);
    if (t.kind !== 'ident') {
      this.#i--;
      this.#fail('an expression');
    }
    const word = t.text.toUpperCase();
    if (word === 'TRUE' || word === 'FALSE') return { k: 'bool', v: word === 'TRUE' };
    if (word === 'NULL') return { k: 'null' };
    if (word === 'INTERVAL') return this.#interval();
    if (word === 'CASE') return this.#case();
    if (this.#isOp('(')) return this.#call(t.text);
    if (RESERVED.has(word)) {
      this.#i--;
      this.#fail('an expression');
    }
    return this.#column(t.text);
  }

  #column(name: string): Expr {
    // `t.blob1`: the qualifier names the one dataset (checked when translated).
    if (this.#acceptOp('.')) {
      const t = this.#next();
      if (t.kind !== 'ident' && t.kind !== 'qident') this.#fail('a column name after "."');
      return { k: 'col', name: `${name}.${t.text}` };
    }
    return { k: 'col', name };
  }

  #interval(): Expr {
    const t = this.#next();
    let n: number;
    let unitWord: string | undefined;
    if (t.kind === 'num') n = Number(t.text);
    else if (t.kind === 'str') {
      const m = /^\s*(-?\d+)\s*(?:([A-Za-z]+)\s*)?$/.exec(t.text);
      if (!m) throw new AnalyticsSqlError(`INTERVAL '${t.text}': expected a whole number`);
      n = Number(m[1]);
      unitWord = m[2];
    } else this.#fail("a number after INTERVAL (INTERVAL '1' DAY)");
    if (!Number.isSafeInteger(n)) throw new AnalyticsSqlError(`INTERVAL ${t.text}: expected a whole number`);
    if (unitWord === undefined) {
      const u = this.#next();
      unitWord = u.text;
    }
    const unit = unitOf(unitWord);
    if (!unit)
      throw new AnalyticsSqlError(
        `INTERVAL … ${unitWord}: the unit must be SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR`,
      );
    return { k: 'interval', n, unit };
  }

  #case(): Expr {
    const base = this.#isKw('WHEN') ? null : this.#expr();
    const whens: [Expr, Expr][] = [];
    while (this.#acceptKw('WHEN')) {
      const w = this.#expr();
      this.#expectKw('THEN');
      whens.push([w, this.#expr()]);
    }
    if (whens.length === 0) this.#fail('WHEN');
    const otherwise = this.#acceptKw('ELSE') ? this.#expr() : null;
    this.#expectKw('END');
    return { k: 'case', base, whens, else: otherwise };
  }

  #call(name: string): Expr {
    this.#enter();
    this.#expectOp('(');
    const lower = name.toLowerCase();
    let args: Expr[];
    let distinct = false;
    if (lower === 'extract') {
      const u = this.#next();
      const unit = unitOf(u.text);
      if (!unit) throw new AnalyticsSqlError(`extract(${u.text} FROM …): unknown time unit`);
      this.#expectKw('FROM');
      args = [{ k: 'str', v: unit }, this.#expr()];
    } else if (lower === 'cast') {
      const e = this.#expr();
      this.#expectKw('AS');
      const ty = this.#next();
      if (ty.kind !== 'ident') this.#fail('a type name after AS');
      args = [e, { k: 'str', v: ty.text }];
    } else {
      distinct = this.#acceptKw('DISTINCT');
      args = [];
      if (this.#acceptOp('*')) args.push({ k: 'star' });
      else if (lower === 'position' && !this.#isKw('NOT') && !this.#isOp(')')) {
        // position(needle IN haystack) is position(haystack, needle).
        const first = this.#additive();
        if (this.#acceptKw('IN')) args.push(this.#expr(), first);
        else {
          args.push(this.#or(this.#comparisonFrom(first)));
          while (this.#acceptOp(',')) args.push(this.#expr());
        }
      } else if (!this.#isOp(')'))
        do args.push(this.#expr());
        while (this.#acceptOp(','));
    }
    this.#expectOp(')');
    let params: Expr[] | null = null;
    if (this.#isOp('(')) {
      // Parametric: the first list was the parameters.
      this.#i++;
      params = args;
      args = [];
      distinct = this.#acceptKw('DISTINCT');
      if (!this.#isOp(')'))
        do args.push(this.#expr());
        while (this.#acceptOp(','));
      this.#expectOp(')');
    }
    if (this.#isKw('OVER'))
      throw new AnalyticsSqlError(`window functions (${name}(…) OVER …) are not supported`);
    this.#depth--;
    return { k: 'call', name, params, args, distinct };
  }

  #comparisonFrom(l: Expr): Expr {
    const t = this.#peek;
    if (t.kind === 'op' && ['=', '==', '!=', '<>', '<', '>', '<=', '>='].includes(t.text)) {
      this.#i++;
      const op = (t.text === '==' ? '=' : t.text === '<>' ? '!=' : t.text) as BinOp;
      return { k: 'bin', op, l, r: this.#additive() };
    }
    if (this.#acceptKw('IS')) {
      const not = this.#acceptKw('NOT');
      this.#expectKw('NULL');
      return { k: 'isnull', e: l, not };
    }
    const not = this.#acceptKw('NOT');
    if (this.#acceptKw('IN')) return { k: 'in', e: l, list: this.#inList(), not };
    if (this.#acceptKw('BETWEEN')) {
      const lo = this.#additive();
      this.#expectKw('AND');
      return { k: 'between', e: l, lo, hi: this.#additive(), not };
    }
    if (this.#isKw('LIKE') || this.#isKw('ILIKE')) {
      const ci = this.#next().text.toUpperCase() === 'ILIKE';
      return { k: 'like', e: l, pattern: this.#additive(), not, ci };
    }
    if (not) this.#fail('IN, BETWEEN, LIKE or ILIKE after NOT');
    return l;
  }
}

/** Parse one statement; an AnalyticsSqlError names what is wrong. */
export function parseSql(sql: string): Statement {
  return new Parser(sql).statement();
}
