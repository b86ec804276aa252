/**
 * What Cloudflare's Cron Triggers accept, as facts the parser (parse.ts) reads from one table.
 *
 * Sources, in order of authority:
 *  - The docs, https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions:
 *    five fields, UTC; characters `* , - /` everywhere, `L W` in day-of-month, `L #` in
 *    day-of-week; months 1-12 or JAN-DEC, weekdays 1-7 or SUN-SAT (both case-insensitive);
 *    "Days of the week go from 1 = Sunday to 7 = Saturday" (so `0` is rejected, as deploys
 *    report: workers-sdk issues #8674 and #8923, "invalid cron string [code: 10100]").
 *  - Cloudflare's parser, saffron (github.com/cloudflare/saffron, saffron/src/parse.rs and
 *    lib.rs, "a cron parser used as part of the backend for Cron Triggers"; its C API serves
 *    the Workers API, its WASM build the dashboard). It settles what the docs leave open: step
 *    values run 1..(max - min) (`*\/60` and `*\/0` are rejected), `#` takes 1-5, `L-n` and
 *    `L-nW` (undocumented) take n = 1-30, `?` and `@daily`-style macros are not accepted, `L`
 *    and `W` are upper case only while names are not, fields are separated by spaces or tabs
 *    with nothing before the first or after the last.
 *  - Limits, https://developers.cloudflare.com/workers/platform/limits/#account-plan-limits:
 *    Cron Triggers per account (not per Worker, whatever the cron page's wording): 5 on Workers
 *    Free, 250 on Workers Paid.
 *
 * Miniflare 2 scheduled with the `cron-schedule` package, and Miniflare 3+/wrangler do not
 * schedule at all (only `/cdn-cgi/handler/scheduled`): neither is a reference, since
 * `cron-schedule` is Unix cron (Sunday = 0, no L/W/#).
 */

/** Cron Triggers per account, by Workers plan (the limits page). Not per Worker. */
export const CRON_TRIGGERS_PER_ACCOUNT = { free: 5, paid: 250 } as const;

/** Fields in a Cloudflare cron expression: minute hour day-of-month month day-of-week. */
export const CRON_FIELD_COUNT = 5;

/** Where the syntax is documented, for messages and comments. */
export const CRON_DOCS_URL =
  'https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions';

/** A malformed expression, or one that never fires; the message names the expression and the part. */
export class CronError extends Error {
  override name = 'CronError';
}

export type FieldName = 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week';

export interface Field {
  readonly name: FieldName;
  readonly min: number;
  readonly max: number;
  /** Three-letter names for min, min + 1, …; matched case-insensitively. */
  readonly names?: readonly string[];
  /** The allowed values, as messages state them. */
  readonly expected: string;
}

export const MINUTE: Field = { name: 'minute', min: 0, max: 59, expected: '0-59' };
export const HOUR: Field = { name: 'hour', min: 0, max: 23, expected: '0-23' };
export const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31, expected: '1-31' };
export const MONTH: Field = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  expected: '1-12 or JAN-DEC',
};
export const DAY_OF_WEEK: Field = {
  name: 'day-of-week',
  min: 1,
  max: 7,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
  expected: '1-7 (1 = Sunday, 7 = Saturday) or SUN-SAT',
};

/** The largest step a field takes (saffron: max - min; `*\/59` for minutes, `*\/6` for weekdays). */
export function maxStep(field: Field): number {
  return field.max - field.min;
}

/** `#` counts the first to the fifth occurrence of a weekday in the month. */
export const MAX_NTH = 5;

/** `L-n`: the n-th day before the month's last, n = 1-30. */
export const MAX_LAST_OFFSET = 30;
