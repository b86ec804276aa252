/**
 * Column types as the SQL API names them (ClickHouse's: String, Float64, UInt8…UInt64,
 * Int8…Int64, DateTime, Date, Bool, Array(T)), ClickHouse's promotion of integer types in
 * arithmetic, and the UTC date-time helpers shared by the translator, the SQLite functions and
 * the output formats. Times are whole seconds since the epoch everywhere (DateTime's precision).
 */
import { AnalyticsSqlError } from '../limits.ts';
import type { IntervalUnit } from './ast.ts';

export type SqlType = string;

const INT_BITS: Record<string, number> = {
  UInt8: 8,
  UInt16: 16,
  UInt32: 32,
  UInt64: 64,
  Int8: 8,
  Int16: 16,
  Int32: 32,
  Int64: 64,
  Bool: 8,
};

export const isInt = (t: SqlType): boolean => t in INT_BITS;
export const isFloat = (t: SqlType): boolean => t === 'Float64' || t === 'Float32';
export const isNumeric = (t: SqlType): boolean => isInt(t) || isFloat(t);
export const isTime = (t: SqlType): boolean => t === 'DateTime' || t === 'Date';
export const isNull = (t: SqlType): boolean => t === 'Nullable(Nothing)';
export const intBits = (t: SqlType): number => INT_BITS[t] ?? 64;
const signed = (t: SqlType): boolean => t.startsWith('Int');

/** The type of an integer literal: the smallest that holds it, as ClickHouse infers. */
export function literalIntType(v: number): SqlType {
  if (v >= 0) return v < 256 ? 'UInt8' : v < 65536 ? 'UInt16' : v < 2 ** 32 ? 'UInt32' : 'UInt64';
  return v >= -128 ? 'Int8' : v >= -32768 ? 'Int16' : v >= -(2 ** 31) ? 'Int32' : 'Int64';
}

function widen(bits: number): number {
  return Math.min(64, bits * 2);
}

/** The result of plus/minus/multiply on two numbers, as ClickHouse widens them. */
export function arithmeticType(a: SqlType, b: SqlType, op: '+' | '-' | '*'): SqlType {
  if (isFloat(a) || isFloat(b) || isNull(a) || isNull(b)) return 'Float64';
  const bits = widen(Math.max(intBits(a), intBits(b)));
  const s = signed(a) || signed(b) || op === '-';
  return `${s ? 'Int' : 'UInt'}${bits}`;
}

/** The type both branches of if/CASE fit in. */
export function commonType(a: SqlType, b: SqlType): SqlType {
  if (a === b || isNull(b)) return a;
  if (isNull(a)) return b;
  if (isNumeric(a) && isNumeric(b)) {
    if (isFloat(a) || isFloat(b)) return 'Float64';
    const bits = Math.max(intBits(a), intBits(b));
    return `${signed(a) || signed(b) ? 'Int' : 'UInt'}${bits}`;
  }
  if (isTime(a) && isTime(b)) return 'DateTime';
  throw new AnalyticsSqlError(`there is no supertype for types ${a}, ${b}`);
}

/** Seconds of the fixed-length units (MONTH, QUARTER and YEAR are calendar units). */
export const UNIT_SECONDS: Partial<Record<IntervalUnit, number>> = {
  SECOND: 1,
  MINUTE: 60,
  HOUR: 3600,
  DAY: 86400,
  WEEK: 7 * 86400,
};
export const UNIT_MONTHS: Partial<Record<IntervalUnit, number>> = { MONTH: 1, QUARTER: 3, YEAR: 12 };

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** 'YYYY-MM-DD hh:mm:ss' in UTC, as DateTime values are written. */
export function formatDateTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return String(seconds);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function formatDate(seconds: number): string {
  return formatDateTime(seconds).slice(0, 10);
}

/**
 * A DateTime from text as toDateTime reads it: 'YYYY-MM-DD hh:mm:ss', 'YYYY-MM-DD', an ISO
 * form with T and Z, or digits (a unix timestamp). null when it is none of those.
 */
export function parseDateTime(text: string): number | null {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]00:?00)?$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Months since 1970-01 of a time, and the time at the start of such a month. */
export function monthIndex(seconds: number): number {
  const d = new Date(seconds * 1000);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
}
export function monthStart(index: number): number {
  return Date.UTC(1970 + Math.floor(index / 12), ((index % 12) + 12) % 12, 1) / 1000;
}

/** `seconds` moved by `months` calendar months (the day clamped to the month's last, as ClickHouse does). */
export function addMonths(seconds: number, months: number): number {
  const d = new Date(seconds * 1000);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), last));
  target.setUTCHours(d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
  return target.getTime() / 1000;
}

/** Timezones Outpost knows: UTC only (every stored time is UTC). */
export function checkTimezone(tz: string, fn: string): void {
  if (!/^(?:UTC|Etc\/UTC|GMT|Etc\/GMT|Z)$/i.test(tz))
    throw new AnalyticsSqlError(`${fn}: timezone '${tz}' is not supported by Outpost (UTC only)`);
}
