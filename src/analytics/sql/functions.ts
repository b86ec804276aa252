/**
 * The functions of Analytics Engine's SQL (https://developers.cloudflare.com/analytics/analytics-engine/sql-reference/):
 * aggregates (count, sum, avg, min, max, quantiles, argMin/argMax, first/last_value, topK),
 * conditional, mathematical, string, date-time, type-conversion, bit and encoding functions.
 * Each takes its arguments' translations and answers SQLite SQL and a ClickHouse type; what
 * SQLite lacks is one of the `_ae_*` functions of ./sqlite-functions.ts. Names match without
 * regard to case. A function not listed here is an error naming it.
 */
import { AnalyticsSqlError } from '../limits.ts';
import type { Expr, IntervalUnit } from './ast.ts';
import {
  checkTimezone,
  commonType,
  intBits,
  isFloat,
  isInt,
  isNumeric,
  isTime,
  parseDateTime,
  type SqlType,
  UNIT_MONTHS,
  UNIT_SECONDS,
} from './types.ts';

/** One translated expression. */
export interface Typed {
  sql: string;
  type: SqlType;
  /** It holds an aggregate. */
  agg: boolean;
  /** A column it uses outside any aggregate (which a grouped query must group by), or null. */
  bare: string | null;
  /** An INTERVAL literal (no SQL of its own: it only adds to or subtracts from times). */
  interval?: { n: number; unit: IntervalUnit };
}

/** What a function sees of the translator (./translate.ts). */
export interface Tx {
  tr(e: Expr): Typed;
  /** `t`, refused if it is an INTERVAL. */
  value(t: Typed, fn: string): Typed;
  /** An aggregate's argument (refused inside another aggregate, in WHERE or GROUP BY). */
  aggregate(e: Expr): Typed;
  /** Throws when an aggregate function may not be called here (inside another one). */
  checkAggregate(name: string): void;
  comparable(a: Typed, b: Typed): Typed;
  param(v: string | number | bigint | null): string;
  /** The query's now(), whole seconds. */
  now: number;
}

type Call = Extract<Expr, { k: 'call' }>;
type Fn = (c: Call, x: Tx) => Typed;

const fail = (msg: string): never => {
  throw new AnalyticsSqlError(msg);
};

function arity(c: Call, min: number, max = min): void {
  if (c.args.length < min || c.args.length > max)
    fail(
      `${c.name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, received ${c.args.length}`,
    );
}

function plain(c: Call): void {
  if (c.params) fail(`${c.name} is not a parametric function: write ${c.name}(…)`);
  if (c.distinct) fail(`DISTINCT is not allowed in ${c.name}()`);
}

/** The arguments as values (a scalar function's). */
function values(c: Call, x: Tx, min: number, max = min): Typed[] {
  plain(c);
  arity(c, min, max);
  return c.args.map((a) => x.value(x.tr(a), c.name));
}

function made(sql: string, type: SqlType, parts: Typed[]): Typed {
  return {
    sql,
    type,
    agg: parts.some((p) => p.agg),
    bare: parts.find((p) => p.bare)?.bare ?? null,
  };
}

function aggregate(sql: string, type: SqlType): Typed {
  return { sql, type, agg: true, bare: null };
}

function numberArg(c: Call, t: Typed, what = 'a number'): Typed {
  if (!isNumeric(t.type) && !isTime(t.type)) fail(`${c.name}(): ${t.type} is not ${what}`);
  return t;
}

/** A literal number argument (a level, a count), read when translating. */
function literalNumber(c: Call, e: Expr | undefined, what: string): number {
  const v = e?.k === 'num' ? e.v : e?.k === 'neg' && e.e.k === 'num' ? -e.e.v : undefined;
  if (v === undefined) return fail(`${c.name}: ${what} must be a number literal`);
  return v;
}

function literalString(c: Call, e: Expr | undefined, what: string): string {
  if (e?.k !== 'str') return fail(`${c.name}: ${what} must be a string literal`);
  return e.v;
}

/** A time argument: a DateTime or Date, or a string read as one. */
function timeArg(c: Call, x: Tx, e: Expr): Typed {
  const t = x.value(x.tr(e), c.name);
  if (isTime(t.type)) return t;
  if (t.type === 'String') {
    if (e.k === 'str') {
      const secs = parseDateTime(e.v);
      if (secs === null) fail(`${c.name}: cannot read '${e.v}' as a DateTime`);
      return { ...t, sql: x.param(BigInt(secs as number)), type: 'DateTime' };
    }
    return { ...t, sql: `_ae_parse_datetime(${t.sql})`, type: 'DateTime' };
  }
  if (isNumeric(t.type)) return { ...t, sql: `CAST(${t.sql} AS INTEGER)`, type: 'DateTime' };
  return fail(`${c.name}(): ${t.type} is not a date or time`);
}

function timezone(c: Call, e: Expr | undefined): void {
  if (e !== undefined) checkTimezone(literalString(c, e, 'the timezone'), c.name);
}

/** `t` rounded down to a multiple of `n` units (ClickHouse's toStartOfInterval, UTC). */
function startOf(t: Typed, n: number, unit: IntervalUnit, x: Tx): Typed {
  if (!Number.isSafeInteger(n) || n < 1) fail(`toStartOfInterval: the interval must be at least 1 ${unit}`);
  const secs = UNIT_SECONDS[unit];
  let sql: string;
  if (unit === 'SECOND' || unit === 'MINUTE' || unit === 'DAY') {
    const s = x.param(BigInt(n * (secs as number)));
    sql = `((${t.sql} / ${s}) * ${s})`;
  } else if (unit === 'HOUR') {
    // Hours count from the start of each day, as ClickHouse does.
    const s = x.param(BigInt(n * 3600));
    const day = x.param(86400n);
    sql = `((${t.sql} - ${t.sql} % ${day}) + ((${t.sql} % ${day}) / ${s}) * ${s})`;
  } else {
    const months = UNIT_MONTHS[unit];
    sql = `_ae_start(${t.sql}, ${x.param(BigInt(n * (months ?? 0)))}, ${months === undefined ? "'WEEK'" : "'MONTH'"}, ${x.param(BigInt(n))})`;
  }
  return { ...t, sql, type: 'DateTime' };
}

function fixedStart(n: number, unit: IntervalUnit): Fn {
  return (c, x) => {
    plain(c);
    arity(c, 1, 2);
    timezone(c, c.args[1]);
    return startOf(timeArg(c, x, c.args[0]), n, unit, x);
  };
}

function datePart(format: string, type: SqlType): Fn {
  return (c, x) => {
    plain(c);
    arity(c, 1, 2);
    timezone(c, c.args[1]);
    const t = timeArg(c, x, c.args[0]);
    return { ...t, sql: `CAST(strftime('${format}', ${t.sql}, 'unixepoch') AS INTEGER)`, type };
  };
}

const EXTRACT: Record<string, string> = {
  YEAR: '%Y',
  MONTH: '%m',
  DAY: '%d',
  HOUR: '%H',
  MINUTE: '%M',
  SECOND: '%S',
};

/** A value as text the way ClickHouse prints it (times as 'YYYY-MM-DD hh:mm:ss'). */
function textOf(t: Typed): string {
  if (t.type === 'String') return t.sql;
  if (t.type === 'DateTime') return `_ae_datetime_text(${t.sql})`;
  if (t.type === 'Date') return `substr(_ae_datetime_text(${t.sql}), 1, 10)`;
  return `_ae_to_string(${t.sql})`;
}

function toInt(bits: number, signed: boolean): Fn {
  const type = `${signed ? 'Int' : 'UInt'}${bits}`;
  return (c, x) => {
    const [a] = values(c, x, 1);
    return made(`_ae_to_int(${a.sql}, ${bits}, ${signed ? 1 : 0})`, type, [a]);
  };
}

const toFloat: Fn = (c, x) => {
  const [a] = values(c, x, 1);
  return made(a.type === 'String' ? `_ae_to_float(${a.sql})` : `CAST(${a.sql} AS REAL)`, 'Float64', [a]);
};

const toDateTime: Fn = (c, x) => {
  plain(c);
  arity(c, 1, 2);
  timezone(c, c.args[1]);
  return timeArg(c, x, c.args[0]);
};

const toStringFn: Fn = (c, x) => {
  const [a] = values(c, x, 1);
  return made(textOf(a), 'String', [a]);
};

/** Bit functions: integers of the argument's width (floats by their IEEE 754 bits). */
function bit(op: string, n: number): Fn {
  return (c, x) => {
    const args = values(c, x, n);
    for (const a of args) numberArg(c, a, 'a number');
    const width = Math.max(
      ...args
        .slice(0, op === 'shl' || op === 'shr' || op === 'rotl' || op === 'rotr' || op === 'test' ? 1 : n)
        .map((a) => (isFloat(a.type) ? 64 : intBits(a.type))),
    );
    const kinds = args.map((a) => (isFloat(a.type) ? 1 : 0)).join('');
    const type =
      op === 'count' || op === 'test' || op === 'hamming'
        ? 'UInt8'
        : isInt(args[0].type)
          ? args[0].type
          : 'UInt64';
    const sql = `_ae_bit('${op}', ${x.param(BigInt(width))}, '${kinds}', ${args.map((a) => a.sql).join(', ')}${n === 1 ? ', 0' : ''})`;
    return made(sql, type, args);
  };
}

function encode(kind: 'hex' | 'bin'): Fn {
  return (c, x) => {
    const [a] = values(c, x, 1);
    const how = a.type === 'String' ? 's' : isFloat(a.type) ? 'f' : 'i';
    return made(`_ae_encode('${kind}', '${how}', ${a.sql})`, 'String', [a]);
  };
}

/** quantile levels: a number in [0, 1]. */
function level(c: Call, e: Expr | undefined, fallback: number): number {
  if (e === undefined) return fallback;
  const v = literalNumber(c, e, 'the level');
  if (!(v >= 0 && v <= 1)) fail(`${c.name}: the level must be between 0 and 1, received ${v}`);
  return v;
}

/** quantile(level)(x) and friends; `exact`: an actual value, else linear interpolation. */
function quantile(exact: boolean, weighted: boolean): Fn {
  return (c, x) => {
    if (c.distinct) fail(`DISTINCT is not allowed in ${c.name}()`);
    // quantileWeighted(level, x, weight): the legacy form with the level as an argument.
    let params = c.params ?? [];
    let args = c.args;
    if (!c.params && weighted && args.length === 3) {
      params = [args[0]];
      args = args.slice(1);
    }
    if (params.length > 1) fail(`${c.name} takes one level: ${c.name}(0.5)(…)`);
    const want = weighted ? 2 : 1;
    if (args.length !== want)
      fail(
        `${c.name} takes ${want === 2 ? 'a value and a weight' : 'one value'}, received ${args.length} arguments`,
      );
    const q = level(c, params[0], 0.5);
    const v = numberArg(c, x.aggregate(args[0]));
    const w = weighted ? numberArg(c, x.aggregate(args[1]), 'a number (a weight)') : null;
    const type = exact ? v.type : isTime(v.type) ? v.type : 'Float64';
    return aggregate(
      `_ae_quantile(${x.param(q)}, ${v.sql}, ${w ? w.sql : '1'}, ${exact ? (weighted ? 2 : 1) : 0})`,
      type,
    );
  };
}

function argBest(max: boolean): Fn {
  return (c, x) => {
    plain(c);
    arity(c, 2);
    const a = x.aggregate(c.args[0]);
    const v = x.aggregate(c.args[1]);
    return aggregate(`_ae_arg_best(${a.sql}, ${v.sql}, ${max ? 1 : 0})`, a.type);
  };
}

function edge(last: boolean): Fn {
  return (c, x) => {
    plain(c);
    arity(c, 1);
    const a = x.aggregate(c.args[0]);
    return aggregate(`${last ? '_ae_last' : '_ae_first'}(${a.sql})`, a.type);
  };
}

function topK(weighted: boolean): Fn {
  return (c, x) => {
    if (c.distinct) fail(`DISTINCT is not allowed in ${c.name}()`);
    if ((c.params?.length ?? 0) > 1) fail(`${c.name} takes one parameter: ${c.name}(N)(…)`);
    const n = c.params?.length ? literalNumber(c, c.params[0], 'N') : 10;
    if (!Number.isSafeInteger(n) || n < 1 || n > 10_000)
      fail(`${c.name}: N must be a whole number from 1 to 10000`);
    const want = weighted ? 2 : 1;
    if (c.args.length !== want) fail(`${c.name} takes ${want} argument${want === 1 ? '' : 's'}`);
    const v = x.aggregate(c.args[0]);
    const w = weighted ? numberArg(c, x.aggregate(c.args[1]), 'a number (a weight)') : null;
    return aggregate(`_ae_topk(${x.param(BigInt(n))}, ${v.sql}, ${w ? w.sql : '1'})`, `Array(${v.type})`);
  };
}

const FUNCTIONS: Record<string, Fn> = {
  // Aggregates
  count: (c, x) => {
    if (c.params) fail('count is not a parametric function');
    if (c.args.length === 0 || (c.args.length === 1 && c.args[0].k === 'star')) {
      if (c.distinct) fail('count(DISTINCT …) needs a column');
      return aggregate('count(*)', 'UInt64');
    }
    arity(c, 1);
    const a = x.aggregate(c.args[0]);
    return aggregate(`count(${c.distinct ? 'DISTINCT ' : ''}${a.sql})`, 'UInt64');
  },
  sum: (c, x) => {
    if (c.params) fail('sum is not a parametric function');
    arity(c, 1);
    const a = numberArg(c, x.aggregate(c.args[0]));
    const d = c.distinct ? 'DISTINCT ' : '';
    if (isFloat(a.type)) return aggregate(`total(${d}${a.sql})`, 'Float64');
    return aggregate(`coalesce(sum(${d}${a.sql}), 0)`, a.type.startsWith('Int') ? 'Int64' : 'UInt64');
  },
  avg: (c, x) => {
    if (c.params) fail('avg is not a parametric function');
    arity(c, 1);
    const a = numberArg(c, x.aggregate(c.args[0]));
    return aggregate(`avg(${c.distinct ? 'DISTINCT ' : ''}${a.sql})`, 'Float64');
  },
  min: (c, x) => {
    plain(c);
    arity(c, 1);
    const a = x.aggregate(c.args[0]);
    return aggregate(`min(${a.sql})`, a.type);
  },
  max: (c, x) => {
    plain(c);
    arity(c, 1);
    const a = x.aggregate(c.args[0]);
    return aggregate(`max(${a.sql})`, a.type);
  },
  quantileexactweighted: quantile(true, true),
  quantileweighted: quantile(true, true),
  quantileexact: quantile(true, false),
  quantile: quantile(false, false),
  median: quantile(false, false),
  argmax: argBest(true),
  argmin: argBest(false),
  first_value: edge(false),
  last_value: edge(true),
  any: edge(false),
  anylast: edge(true),
  topk: topK(false),
  topkweighted: topK(true),

  // Conditional
  if: (c, x) => {
    const [cond, a, b] = values(c, x, 3);
    return made(`CASE WHEN ${cond.sql} THEN ${a.sql} ELSE ${b.sql} END`, commonType(a.type, b.type), [
      cond,
      a,
      b,
    ]);
  },
  multiif: (c, x) => {
    const args = values(c, x, 3, 255);
    if (args.length % 2 === 0) fail('multiIf takes pairs of condition and value, then a value for none');
    let sql = 'CASE';
    let type = args[args.length - 1].type;
    for (let i = 0; i + 1 < args.length; i += 2) {
      sql += ` WHEN ${args[i].sql} THEN ${args[i + 1].sql}`;
      type = commonType(type, args[i + 1].type);
    }
    return made(`${sql} ELSE ${args[args.length - 1].sql} END`, type, args);
  },

  // Mathematical
  intdiv: (c, x) => {
    const [a, b] = values(c, x, 2).map((t) => numberArg(c, t));
    return made(`_ae_int_div(${a.sql}, ${b.sql})`, isInt(a.type) ? a.type : 'Int64', [a, b]);
  },
  log: (c, x) => {
    const [a] = values(c, x, 1).map((t) => numberArg(c, t));
    return made(`ln(${a.sql})`, 'Float64', [a]);
  },
  pow: (c, x) => {
    const [a, b] = values(c, x, 2).map((t) => numberArg(c, t));
    return made(`pow(${a.sql}, ${b.sql})`, 'Float64', [a, b]);
  },
  abs: (c, x) => {
    const [a] = values(c, x, 1).map((t) => numberArg(c, t));
    return made(`abs(${a.sql})`, a.type.replace(/^Int/, 'UInt'), [a]);
  },
  ...Object.fromEntries(
    (['round', 'floor', 'ceil'] as const).map((mode) => [
      mode,
      ((c, x) => {
        const args = values(c, x, 1, 2).map((t) => numberArg(c, t));
        const n = args[1] ? args[1].sql : '0';
        const type = isFloat(args[0].type) ? 'Float64' : args[0].type;
        return made(`_ae_round(${args[0].sql}, ${n}, '${mode}')`, type, args);
      }) as Fn,
    ]),
  ),

  // Strings
  length: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`length(${textOf(a)})`, 'UInt64', [a]);
  },
  empty: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`(${textOf(a)} = '')`, 'UInt8', [a]);
  },
  notempty: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`(${textOf(a)} != '')`, 'UInt8', [a]);
  },
  lower: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`lower(${textOf(a)})`, 'String', [a]);
  },
  upper: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`upper(${textOf(a)})`, 'String', [a]);
  },
  lowerutf8: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`_ae_case(${textOf(a)}, 0)`, 'String', [a]);
  },
  upperutf8: (c, x) => {
    const [a] = values(c, x, 1);
    return made(`_ae_case(${textOf(a)}, 1)`, 'String', [a]);
  },
  startswith: (c, x) => {
    const [a, b] = values(c, x, 2);
    return made(`_ae_affix(${textOf(a)}, ${textOf(b)}, 0)`, 'UInt8', [a, b]);
  },
  endswith: (c, x) => {
    const [a, b] = values(c, x, 2);
    return made(`_ae_affix(${textOf(a)}, ${textOf(b)}, 1)`, 'UInt8', [a, b]);
  },
  position: (c, x) => {
    const [h, n] = values(c, x, 2);
    return made(`instr(${textOf(h)}, ${textOf(n)})`, 'UInt64', [h, n]);
  },
  substring: (c, x) => {
    const args = values(c, x, 2, 3);
    for (const a of args.slice(1)) numberArg(c, a, 'a whole number');
    return made(
      `substr(${[textOf(args[0]), ...args.slice(1).map((a) => a.sql)].join(', ')})`,
      'String',
      args,
    );
  },
  format: (c, x) => {
    const args = values(c, x, 1, 64);
    if (args[0].type !== 'String') fail('format: the first argument must be the format string');
    return made(`_ae_format(${args.map(textOf).join(', ')})`, 'String', args);
  },
  concat: (c, x) => {
    const args = values(c, x, 1, 64);
    return made(`(${args.map(textOf).join(' || ')})`, 'String', args);
  },
  extract: (c, x) => {
    plain(c);
    arity(c, 2);
    const unit = literalString(c, c.args[0], 'the unit');
    const f = EXTRACT[unit];
    if (!f) fail(`extract(${unit} FROM …): the unit must be YEAR, MONTH, DAY, HOUR, MINUTE or SECOND`);
    const t = timeArg(c, x, c.args[1]);
    return { ...t, sql: `CAST(strftime('${f}', ${t.sql}, 'unixepoch') AS INTEGER)`, type: 'UInt16' };
  },

  // Dates and times
  now: (c, x) => {
    values(c, x, 0);
    return made(x.param(BigInt(x.now)), 'DateTime', []);
  },
  today: (c, x) => {
    values(c, x, 0);
    return made(x.param(BigInt(x.now - (x.now % 86400))), 'Date', []);
  },
  todatetime: toDateTime,
  todate: (c, x) => {
    const t = toDateTime(c, x);
    return { ...t, sql: `(${t.sql} - ${t.sql} % 86400)`, type: 'Date' };
  },
  tounixtimestamp: (c, x) => ({ ...toDateTime(c, x), type: 'UInt32' }),
  toyear: datePart('%Y', 'UInt16'),
  tomonth: datePart('%m', 'UInt8'),
  todayofmonth: datePart('%d', 'UInt8'),
  tohour: datePart('%H', 'UInt8'),
  tominute: datePart('%M', 'UInt8'),
  tosecond: datePart('%S', 'UInt8'),
  todayofweek: (c, x) => {
    const t = datePart('%w', 'UInt8')(c, x);
    return { ...t, sql: `((${t.sql} + 6) % 7 + 1)` };
  },
  toyyyymm: datePart('%Y%m', 'UInt32'),
  tostartofinterval: (c, x) => {
    plain(c);
    arity(c, 2, 3);
    timezone(c, c.args[2]);
    const iv = x.tr(c.args[1]).interval;
    if (!iv) return fail("toStartOfInterval takes an INTERVAL as its second argument: INTERVAL '5' MINUTE");
    return startOf(timeArg(c, x, c.args[0]), iv.n, iv.unit, x);
  },
  tostartofyear: fixedStart(1, 'YEAR'),
  tostartofquarter: fixedStart(1, 'QUARTER'),
  tostartofmonth: fixedStart(1, 'MONTH'),
  tostartofweek: fixedStart(1, 'WEEK'),
  tomonday: fixedStart(1, 'WEEK'),
  tostartofday: fixedStart(1, 'DAY'),
  tostartofhour: fixedStart(1, 'HOUR'),
  tostartoffifteenminutes: fixedStart(15, 'MINUTE'),
  tostartoftenminutes: fixedStart(10, 'MINUTE'),
  tostartoffiveminutes: fixedStart(5, 'MINUTE'),
  tostartofminute: fixedStart(1, 'MINUTE'),
  formatdatetime: (c, x) => {
    plain(c);
    arity(c, 2, 3);
    timezone(c, c.args[2]);
    const t = timeArg(c, x, c.args[0]);
    const f = x.value(x.tr(c.args[1]), c.name);
    if (f.type !== 'String') fail('formatDateTime: the format must be a string');
    return made(`_ae_format_datetime(${t.sql}, ${f.sql})`, 'String', [t, f]);
  },

  // Type conversion
  touint8: toInt(8, false),
  touint16: toInt(16, false),
  touint32: toInt(32, false),
  touint64: toInt(64, false),
  toint8: toInt(8, true),
  toint16: toInt(16, true),
  toint32: toInt(32, true),
  toint64: toInt(64, true),
  tofloat64: toFloat,
  tostring: toStringFn,
  cast: (c, x) => {
    plain(c);
    arity(c, 2);
    const to = literalString(c, c.args[1], 'the type');
    const conv = CASTS[to.toLowerCase()];
    if (!conv) fail(`CAST(… AS ${to}): the type must be String, Float64, (U)Int8…64 or DateTime`);
    return conv({ ...c, name: to, args: [c.args[0]] }, x);
  },

  // Bits and encodings
  bitand: bit('and', 2),
  bitor: bit('or', 2),
  bitxor: bit('xor', 2),
  bitnot: bit('not', 1),
  bitshiftleft: bit('shl', 2),
  bitshiftright: bit('shr', 2),
  bitrotateleft: bit('rotl', 2),
  bitrotateright: bit('rotr', 2),
  bittest: bit('test', 2),
  bitcount: bit('count', 1),
  bithammingdistance: bit('hamming', 2),
  hex: encode('hex'),
  bin: encode('bin'),
};

const CASTS: Record<string, Fn> = {
  string: toStringFn,
  float64: toFloat,
  float32: toFloat,
  datetime: toDateTime,
  uint8: toInt(8, false),
  uint16: toInt(16, false),
  uint32: toInt(32, false),
  uint64: toInt(64, false),
  int8: toInt(8, true),
  int16: toInt(16, true),
  int32: toInt(32, true),
  int64: toInt(64, true),
};

const ALIASES: Record<string, string> = {
  ln: 'log',
  power: 'pow',
  ceiling: 'ceil',
  lengthutf8: 'length',
  tolower: 'lowerutf8',
  toupper: 'upperutf8',
  substr: 'substring',
  mid: 'substring',
  locate: 'position',
};

const AGGREGATES = new Set([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'quantileexactweighted',
  'quantileweighted',
  'quantileexact',
  'quantile',
  'median',
  'argmax',
  'argmin',
  'first_value',
  'last_value',
  'any',
  'anylast',
  'topk',
  'topkweighted',
]);

export function callFunction(c: Call, x: Tx): Typed {
  const key = c.name.toLowerCase();
  if (AGGREGATES.has(key)) x.checkAggregate(c.name);
  const fn = FUNCTIONS[ALIASES[key] ?? key];
  if (!fn)
    return fail(
      `unknown function ${c.name}: Analytics Engine's SQL does not have it (or Outpost does not support it yet)`,
    );
  return fn(c, x);
}
