/**
 * A parsed Cron Trigger: does a minute match, and when does it next fire (UTC, whole minutes;
 * https://developers.cloudflare.com/workers/configuration/cron-triggers/ "Cron Triggers execute
 * on UTC time").
 *
 * next() jumps field by field — to the next allowed month, then the next matching day in it,
 * then hour, then minute — so a yearly schedule costs a few dozen steps, not half a million
 * minutes. An expression Cloudflare accepts but that names no day any allowed month has
 * (`0 0 30 2 *`, `0 0 31 4,6 *`) parses, as it does on Cloudflare (saffron's `any()` is false
 * and it simply never fires); `firesEver` says so, decided exactly at parse time (days.ts
 * anyDayMatches), and next() throws a CronError "never fires" instead of searching. The month
 * walk is still bounded, by 400 years: the Gregorian calendar repeats every 400 years, so a
 * longer search could find nothing new.
 *
 * Duplicates: Cloudflare's API rejects a Worker's list when two expressions compile to the same
 * schedule (saffron-worker `validate`: "Expression '…' already exists in the form of '…'");
 * parseCronTriggers() does the same.
 */
import { anyDayMatches, dayMatches, daysFromCivil, daysInMonth } from './days.ts';
import { type CronSpec, parseSpec } from './parse.ts';
import { CronError } from './syntax.ts';

export interface CronSchedule {
  /** The expression as written (what `controller.cron` carries). */
  readonly expression: string;
  /** False for an accepted expression that names no existing day (`0 0 30 2 *`). */
  readonly firesEver: boolean;
  /** Does the UTC minute containing `date` match? (Seconds and milliseconds are ignored.) */
  matches(date: Date): boolean;
  /** The first matching minute strictly after the minute containing `after`, UTC, seconds zeroed. */
  next(after: Date): Date;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The Gregorian calendar's cycle: a search this long has seen every (month, day, weekday). */
const SEARCH_YEARS = 400;
/** The last instant a Date can hold. */
const MAX_TIME = 8.64e15;

class Schedule implements CronSchedule {
  readonly expression: string;
  readonly firesEver: boolean;
  readonly #spec: CronSpec;

  constructor(expression: string, spec: CronSpec) {
    this.expression = expression;
    this.#spec = spec;
    this.firesEver = anyDayMatches(spec.dom, spec.dow, spec.months);
  }

  /** The compiled form: equal keys, same schedule. */
  get key(): string {
    return JSON.stringify(this.#spec);
  }

  matches(date: Date): boolean {
    if (!Number.isFinite(date.getTime())) return false;
    const s = this.#spec;
    return (
      s.minutes[date.getUTCMinutes()] &&
      s.hours[date.getUTCHours()] &&
      s.months[date.getUTCMonth()] &&
      dayMatches(s.dom, s.dow, date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
    );
  }

  next(after: Date): Date {
    const t = after.getTime();
    if (!Number.isFinite(t)) throw new RangeError(`next(): "after" is not a valid Date`);
    if (!this.firesEver) throw this.#neverFires();
    const s = this.#spec;
    const start = new Date(Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    let year = start.getUTCFullYear();
    let month = start.getUTCMonth();
    let day = start.getUTCDate();
    let hour = start.getUTCHours();
    let minute = start.getUTCMinutes();
    const lastYear = year + SEARCH_YEARS;
    const nextMonth = () => {
      day = 1;
      hour = 0;
      minute = 0;
      if (++month === 12) {
        month = 0;
        year++;
      }
    };
    while (year <= lastYear) {
      if (!s.months[month]) {
        nextMonth();
        continue;
      }
      const dim = daysInMonth(year, month);
      let d = day;
      while (d <= dim && !dayMatches(s.dom, s.dow, year, month, d)) d++;
      if (d > dim) {
        nextMonth();
        continue;
      }
      if (d !== day) {
        day = d;
        hour = 0;
        minute = 0;
      }
      const h = firstFrom(s.hours, hour);
      if (h < 0) {
        day++;
        hour = 0;
        minute = 0;
        continue;
      }
      if (h !== hour) {
        hour = h;
        minute = 0;
      }
      const m = firstFrom(s.minutes, minute);
      if (m < 0) {
        hour++; // past 23: the hour search above finds none and moves to the next day
        minute = 0;
        continue;
      }
      const at = daysFromCivil(year, month, day) * DAY_MS + hour * 3_600_000 + m * MINUTE_MS;
      if (at > MAX_TIME) break;
      return new Date(at);
    }
    throw new CronError(`cron ${JSON.stringify(this.expression)}: no firing within ${SEARCH_YEARS} years`);
  }

  #neverFires(): CronError {
    return new CronError(
      `cron ${JSON.stringify(this.expression)}: never fires (no month it allows has a day-of-month it names)`,
    );
  }
}

/** The first index >= from that is set, or -1. */
function firstFrom(set: readonly boolean[], from: number): number {
  for (let i = from; i < set.length; i++) if (set[i]) return i;
  return -1;
}

/** Parses a Cloudflare cron expression; throws a CronError naming the field and the bad part. */
export function parseCron(expression: string): CronSchedule {
  return new Schedule(expression, parseSpec(expression));
}

/** The next `n` firings after `after`, in order. */
export function nextFirings(schedule: CronSchedule, after: Date, n: number): Date[] {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`nextFirings(): n must be a whole number >= 0, received ${n}`);
  const out: Date[] = [];
  let at = after;
  for (let i = 0; i < n; i++) out.push((at = schedule.next(at)));
  return out;
}

/**
 * A Worker's `triggers.crons`, parsed, rejecting (like Cloudflare's API) two that are one
 * schedule however written (`0 0 * * 1` and `0 0 * * SUN`).
 */
export function parseCronTriggers(expressions: readonly string[]): CronSchedule[] {
  const seen = new Map<string, string>();
  return expressions.map((expression) => {
    const schedule = new Schedule(expression, parseSpec(expression));
    const earlier = seen.get(schedule.key);
    if (earlier !== undefined) {
      throw new CronError(
        `cron ${JSON.stringify(expression)}: the same schedule as ${JSON.stringify(earlier)}; Cloudflare rejects duplicate Cron Triggers`,
      );
    }
    seen.set(schedule.key, expression);
    return schedule;
  });
}
