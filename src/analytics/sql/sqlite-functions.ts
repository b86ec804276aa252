/**
 * The `_ae_*` SQL functions and aggregates the translated queries call (./functions.ts), for
 * what SQLite has no function of its own: ClickHouse's LIKE (case-sensitive, `\` escapes),
 * calendar arithmetic, toStartOfInterval over weeks and months, formatDateTime, integer
 * conversions that wrap like ClickHouse's, bit functions at the operand's width, hex/bin,
 * quantiles (exact, weighted, interpolated), argMin/argMax, first/last values and topK.
 * Registered once per connection.
 */
import type Database from 'better-sqlite3';
import { AnalyticsSqlError } from '../limits.ts';
import { addMonths, formatDateTime, monthIndex, monthStart, parseDateTime } from './types.ts';

type V = number | bigint | string | null | Buffer;

const registered = new WeakSet<Database.Database>();
const likeCache = new Map<string, RegExp>();

/** ClickHouse's LIKE pattern as a RegExp: % any run, _ any one character, \ escapes. */
function likeRegExp(pattern: string, ci: boolean): RegExp {
  const key = `${ci ? 'i' : 's'}${pattern}`;
  let re = likeCache.get(key);
  if (re) return re;
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) src += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (ch === '%') src += '[\\s\\S]*';
    else if (ch === '_') src += '[\\s\\S]';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`, ci ? 'iu' : 'u');
  if (likeCache.size > 256) likeCache.clear();
  likeCache.set(key, re);
  return re;
}

const num = (v: V): number => (typeof v === 'bigint' ? Number(v) : Number(v));

/** A whole number as SQLite should get it: a number when exact, else a BigInt. */
function int(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const WEEK = 7 * 86400;
/** Monday 1969-12-29, from which ClickHouse counts weeks. */
const WEEK_BASE = -3 * 86400;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function formatTime(t: number, fmt: string): string {
  const d = new Date(t * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const h = d.getUTCHours();
  const yday =
    Math.floor(
      (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) /
        86400000,
    ) + 1;
  const parts: Record<string, () => string> = {
    Y: () => String(d.getUTCFullYear()),
    y: () => p(d.getUTCFullYear() % 100),
    C: () => p(Math.floor(d.getUTCFullYear() / 100)),
    m: () => p(d.getUTCMonth() + 1),
    d: () => p(d.getUTCDate()),
    e: () => String(d.getUTCDate()).padStart(2, ' '),
    H: () => p(h),
    I: () => p(h % 12 === 0 ? 12 : h % 12),
    M: () => p(d.getUTCMinutes()),
    i: () => p(d.getUTCMinutes()),
    S: () => p(d.getUTCSeconds()),
    s: () => p(d.getUTCSeconds()),
    p: () => (h < 12 ? 'AM' : 'PM'),
    F: () => `${parts.Y()}-${parts.m()}-${parts.d()}`,
    T: () => `${parts.H()}:${parts.M()}:${parts.S()}`,
    R: () => `${parts.H()}:${parts.M()}`,
    D: () => `${parts.m()}/${parts.d()}/${parts.y()}`,
    j: () => p(yday, 3),
    u: () => String(((d.getUTCDay() + 6) % 7) + 1),
    w: () => String(d.getUTCDay()),
    a: () => DAYS[d.getUTCDay()],
    b: () => MONTHS[d.getUTCMonth()],
    h: () => MONTHS[d.getUTCMonth()],
    n: () => '\n',
    t: () => '\t',
    '%': () => '%',
  };
  return fmt.replace(/%(.)/gs, (_m, c: string) => {
    const f = parts[c];
    if (!f) throw new AnalyticsSqlError(`formatDateTime: %${c} is not a supported format`);
    return f();
  });
}

/** A number as ClickHouse prints it in text (whole floats without ".0"). */
function text(v: V): string | null {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function toBits(v: V, float: boolean, width: number): bigint {
  if (float) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, num(v));
    return view.getBigUint64(0);
  }
  const n = typeof v === 'bigint' ? v : BigInt(Math.trunc(num(v)) || 0);
  return BigInt.asUintN(width, n);
}

function popcount(x: bigint): number {
  let n = 0;
  for (let v = x; v > 0n; v >>= 1n) n += Number(v & 1n);
  return n;
}

function bitOp(op: string, widthV: V, kinds: string, a: V, b: V): number | bigint | null {
  if (a === null || b === null) return null;
  const w = num(widthV);
  const W = BigInt(w);
  const x = toBits(a, kinds[0] === '1', w);
  const y = () => toBits(b, kinds[1] === '1', w);
  const n = () => BigInt(Math.trunc(num(b))) % W;
  const mask = (v: bigint) => int(BigInt.asUintN(w, v));
  switch (op) {
    case 'and':
      return mask(x & y());
    case 'or':
      return mask(x | y());
    case 'xor':
      return mask(x ^ y());
    case 'not':
      return mask(~x);
    case 'shl':
      return mask(x << BigInt(Math.trunc(num(b))));
    case 'shr':
      return mask(x >> BigInt(Math.trunc(num(b))));
    case 'rotl':
      return mask((x << n()) | (x >> (W - n())));
    case 'rotr':
      return mask((x >> n()) | (x << (W - n())));
    case 'test':
      return Number((x >> BigInt(Math.trunc(num(b)))) & 1n);
    case 'count':
      return popcount(x);
    case 'hamming':
      return popcount(x ^ y());
  }
  throw new AnalyticsSqlError(`unknown bit operation ${op}`);
}

function encode(kind: V, how: V, v: V): string | null {
  if (v === null) return null;
  let bytes: Uint8Array;
  if (how === 's') bytes = Buffer.from(text(v) as string, 'utf8');
  else if (how === 'f') {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(num(v));
    bytes = b;
  } else {
    let x = BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(num(v))));
    const out: number[] = [];
    do {
      out.unshift(Number(x & 255n));
      x >>= 8n;
    } while (x > 0n);
    bytes = Uint8Array.from(out);
  }
  return Array.from(bytes, (byte) =>
    kind === 'hex' ? byte.toString(16).toUpperCase().padStart(2, '0') : byte.toString(2).padStart(8, '0'),
  ).join('');
}

function round(v: V, digits: V, mode: V): number | null {
  if (v === null) return null;
  const x = num(v);
  const f = 10 ** Math.trunc(num(digits ?? 0));
  const y = x * f;
  let r: number;
  if (mode === 'floor') r = Math.floor(y);
  else if (mode === 'ceil') r = Math.ceil(y);
  else {
    // Banker's rounding for floats, as ClickHouse's round.
    r = Math.round(y);
    if (Math.abs(y % 1) === 0.5) r = 2 * Math.round(y / 2);
  }
  return r / f;
}

function toInt(v: V, bits: V, signed: V): number | bigint | null {
  if (v === null) return null;
  let n: bigint;
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const s = text(v)?.trim() ?? '';
    if (!/^[+-]?\d+(\.\d*)?$/.test(s))
      throw new AnalyticsSqlError(`cannot parse '${s.slice(0, 80)}' as a whole number`);
    n = BigInt(s.replace(/\..*$/, '').replace(/^\+/, ''));
  } else if (typeof v === 'bigint') n = v;
  else n = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  const w = num(bits);
  return int(num(signed) ? BigInt.asIntN(w, n) : BigInt.asUintN(w, n));
}

interface Best {
  arg: V;
  val: V;
  max: number;
}

interface TopK {
  n: number;
  counts: Map<string | number, number>;
}

/** SQLite's order of two non-null values: numbers before text, text by bytes. */
function compare(a: V, b: V): number {
  const an = typeof a === 'number' || typeof a === 'bigint';
  const bn = typeof b === 'number' || typeof b === 'bigint';
  if (an && bn) return num(a) - num(b);
  if (an !== bn) return an ? -1 : 1;
  const x = text(a) as string;
  const y = text(b) as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

interface QuantileState {
  q: number;
  mode: number;
  values: [number, number][];
}

function quantileOf(s: QuantileState): number | null {
  const vals = s.values;
  if (vals.length === 0) return null;
  vals.sort((a, b) => a[0] - b[0]);
  if (s.mode === 2) {
    // quantileExactWeighted: the first value whose accumulated weight reaches ceil(total × q).
    let total = 0;
    for (const [, w] of vals) total += w;
    const threshold = Math.ceil(total * s.q);
    let acc = 0;
    for (const [v, w] of vals) {
      acc += w;
      if (acc >= threshold) return v;
    }
    return vals[vals.length - 1][0];
  }
  if (s.mode === 1) {
    const n = s.q < 1 ? Math.floor(s.q * vals.length) : vals.length - 1;
    return vals[Math.min(n, vals.length - 1)][0];
  }
  const pos = s.q * (vals.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, vals.length - 1);
  return vals[lo][0] + (pos - lo) * (vals[hi][0] - vals[lo][0]);
}

/** better-sqlite3's typings take a step of (state, state); ours take the row's values. */
function aggregate<S>(
  db: Database.Database,
  name: string,
  o: { start: () => S; step: (s: S, ...args: V[]) => S; result: (s: S) => unknown },
): void {
  db.aggregate(name, o as unknown as Parameters<Database.Database['aggregate']>[1]);
}

/** Register the functions on `db` (once per connection). */
export function registerFunctions(db: Database.Database): void {
  if (registered.has(db)) return;
  registered.add(db);
  const det = { deterministic: true };
  db.function('_ae_like', det, (s: V, p: V, ci: V) =>
    s === null || p === null
      ? null
      : likeRegExp(text(p) as string, num(ci) === 1).test(text(s) as string)
        ? 1
        : 0,
  );
  db.function('_ae_add_months', det, (t: V, m: V) => (t === null ? null : addMonths(num(t), num(m))));
  db.function('_ae_start', det, (t: V, months: V, kind: V, n: V) => {
    if (t === null) return null;
    if (kind === 'WEEK') {
      const size = WEEK * num(n);
      return Math.floor((num(t) - WEEK_BASE) / size) * size + WEEK_BASE;
    }
    const m = num(months);
    return monthStart(Math.floor(monthIndex(num(t)) / m) * m);
  });
  db.function('_ae_parse_datetime', det, (s: V) => {
    if (s === null) return null;
    const t = parseDateTime(text(s) as string);
    if (t === null) throw new AnalyticsSqlError(`cannot read '${String(s).slice(0, 80)}' as a DateTime`);
    return t;
  });
  db.function('_ae_datetime_text', det, (t: V) => (t === null ? null : formatDateTime(num(t))));
  db.function('_ae_format_datetime', det, (t: V, f: V) =>
    t === null || f === null ? null : formatTime(num(t), text(f) as string),
  );
  db.function('_ae_to_string', det, (v: V) => text(v));
  db.function('_ae_to_int', det, toInt);
  db.function('_ae_to_float', det, (v: V) => {
    if (v === null) return null;
    const n = Number(text(v)?.trim());
    if (Number.isNaN(n)) throw new AnalyticsSqlError(`cannot parse '${String(v).slice(0, 80)}' as Float64`);
    return n;
  });
  db.function('_ae_int_div', det, (a: V, b: V) => {
    if (a === null || b === null) return null;
    if (num(b) === 0) throw new AnalyticsSqlError('intDiv: division by zero');
    return Math.trunc(num(a) / num(b));
  });
  db.function('_ae_round', det, round);
  db.function('_ae_case', det, (s: V, upper: V) => {
    const t = text(s);
    return t === null ? null : num(upper) ? t.toUpperCase() : t.toLowerCase();
  });
  db.function('_ae_affix', det, (s: V, a: V, end: V) => {
    const t = text(s);
    const x = text(a);
    if (t === null || x === null) return null;
    return (num(end) ? t.endsWith(x) : t.startsWith(x)) ? 1 : 0;
  });
  db.function('_ae_format', { deterministic: true, varargs: true }, (f: V, ...args: V[]) => {
    if (f === null) return null;
    let next = 0;
    return (text(f) as string).replace(/\{(\d*)\}/g, (_m, i: string) => {
      const v = args[i === '' ? next++ : Number(i)];
      if (v === undefined) throw new AnalyticsSqlError('format: more {} than arguments');
      return text(v) ?? 'NULL';
    });
  });
  db.function('_ae_bit', det, bitOp);
  db.function('_ae_encode', det, encode);

  aggregate<QuantileState>(db, '_ae_quantile', {
    start: () => ({ q: 0.5, mode: 0, values: [] }),
    step: (s, q, v, w, mode) => {
      if (v === null || w === null) return s;
      s.q = num(q);
      s.mode = num(mode);
      const weight = num(w);
      if (weight > 0) s.values.push([num(v), weight]);
      return s;
    },
    result: quantileOf,
  });
  aggregate<Best>(db, '_ae_arg_best', {
    start: () => ({ arg: null, val: null, max: 1 }),
    step: (s, a, v, max) => {
      if (v === null) return s;
      s.max = num(max);
      if (s.val === null || (s.max ? compare(v, s.val) > 0 : compare(v, s.val) < 0)) {
        s.val = v;
        s.arg = a;
      }
      return s;
    },
    result: (s) => s.arg,
  });
  aggregate<{ v: V; seen: boolean }>(db, '_ae_first', {
    start: () => ({ v: null, seen: false }),
    step: (s, v) => {
      if (!s.seen && v !== null) {
        s.v = v;
        s.seen = true;
      }
      return s;
    },
    result: (s) => s.v,
  });
  aggregate<{ v: V }>(db, '_ae_last', {
    start: () => ({ v: null }),
    step: (s, v) => {
      if (v !== null) s.v = v;
      return s;
    },
    result: (s) => s.v,
  });
  aggregate<TopK>(db, '_ae_topk', {
    start: () => ({ n: 10, counts: new Map() }),
    step: (s, n, v, w) => {
      if (v === null || w === null) return s;
      s.n = num(n);
      const key = typeof v === 'bigint' ? Number(v) : Buffer.isBuffer(v) ? v.toString('utf8') : v;
      s.counts.set(key, (s.counts.get(key) ?? 0) + num(w));
      return s;
    },
    result: (s) =>
      JSON.stringify(
        [...s.counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, s.n)
          .map(([k]) => k),
      ),
  });
}
