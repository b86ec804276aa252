/**
 * Which days a cron expression's day-of-month and day-of-week fields select, in UTC. Pure
 * calendar arithmetic on (year, month0, day): no Date objects, no time zones, so DST and the
 * host's zone never matter and years 0-99 are not remapped to 1900-1999.
 *
 * Semantics (https://developers.cloudflare.com/workers/configuration/cron-triggers/#supported-cron-expressions,
 * settled by Cloudflare's parser saffron, github.com/cloudflare/saffron saffron/src/lib.rs):
 *  - `L` the month's last day; `L-n` n days before it; `LW` the last weekday (Mon-Fri);
 *    `L-nW` the weekday nearest to `L-n`.
 *  - `nW` the weekday nearest to day n, never leaving the month (Quartz): Saturday → the
 *    Friday before, or Monday the 3rd when n = 1; Sunday → the Monday after, or the Friday
 *    before when n is the last day. A day n the month lacks (`31W` in April) selects nothing.
 *  - `xL` the month's last weekday x; `x#k` its k-th (k = 1-5; no k-th, no firing).
 *  - Both fields restricted (neither is a bare `*`): a day matches if EITHER does, as in
 *    classic cron and as saffron's `Cron::contains` does (`(false, false) => dow || dom`).
 *    Only a bare `*` counts as unrestricted: `*\/1` restricts (to every day), so
 *    `0 0 *\/1 * MON` fires daily.
 *
 * Deliberate difference: saffron's `contains` has two edge-case slips its own next-time search
 * (`find_next_day_of_month`) does not share: `31W` matching Friday the 30th of a 30-day month,
 * and `L-nW` matching both the Friday before and the Monday after a Saturday target. Here both
 * follow the next-time search, the one that decides when a trigger fires.
 */

export type DomRule =
  | { readonly kind: 'any' }
  /** Index 1-31. */
  | { readonly kind: 'days'; readonly days: readonly boolean[] }
  /** `L` (offset 0), `L-n`. */
  | { readonly kind: 'last'; readonly offset: number }
  /** `LW` (offset 0), `L-nW`. */
  | { readonly kind: 'lastWeekday'; readonly offset: number }
  /** `nW`. */
  | { readonly kind: 'nearestWeekday'; readonly day: number };

export type DowRule =
  | { readonly kind: 'any' }
  /** Index 0 = Sunday … 6 = Saturday (the expression's 1-7 less one). */
  | { readonly kind: 'days'; readonly days: readonly boolean[] }
  /** `xL`: weekday 0-6. */
  | { readonly kind: 'last'; readonly weekday: number }
  /** `x#k`: weekday 0-6, nth 1-5. */
  | { readonly kind: 'nth'; readonly weekday: number; readonly nth: number };

export function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The most days month0 ever has (February: 29). */
export function longestMonth(month0: number): number {
  return month0 === 1 ? 29 : MONTH_DAYS[month0];
}

export function daysInMonth(year: number, month0: number): number {
  return month0 === 1 && isLeapYear(year) ? 29 : MONTH_DAYS[month0];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month0: number, day: number): number {
  const y = month0 < 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const m = month0 + 1;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(year: number, month0: number, day: number): number {
  return (((daysFromCivil(year, month0, day) + 4) % 7) + 7) % 7;
}

/** The weekday (Mon-Fri) nearest to `target`, staying inside the month (Quartz `W`). */
export function nearestWeekday(year: number, month0: number, target: number, dim: number): number {
  const w = weekday(year, month0, target);
  if (w === 6) return target === 1 ? 3 : target - 1;
  if (w === 0) return target === dim ? target - 2 : target + 1;
  return target;
}

function domMatches(rule: DomRule, year: number, month0: number, day: number, dim: number): boolean {
  switch (rule.kind) {
    case 'any':
      return true;
    case 'days':
      return rule.days[day];
    case 'last':
      return day === dim - rule.offset;
    case 'lastWeekday': {
      const target = dim - rule.offset;
      return target >= 1 && day === nearestWeekday(year, month0, target, dim);
    }
    case 'nearestWeekday':
      return rule.day <= dim && day === nearestWeekday(year, month0, rule.day, dim);
  }
}

function dowMatches(rule: DowRule, year: number, month0: number, day: number, dim: number): boolean {
  if (rule.kind === 'any') return true;
  const w = weekday(year, month0, day);
  switch (rule.kind) {
    case 'days':
      return rule.days[w];
    case 'last':
      return w === rule.weekday && day + 7 > dim;
    case 'nth':
      return w === rule.weekday && Math.floor((day - 1) / 7) + 1 === rule.nth;
  }
}

/** Does the day (year, month0, day) satisfy the two day fields (either, when both are restricted)? */
export function dayMatches(dom: DomRule, dow: DowRule, year: number, month0: number, day: number): boolean {
  const dim = daysInMonth(year, month0);
  if (dom.kind === 'any') return dowMatches(dow, year, month0, day, dim);
  if (dow.kind === 'any') return domMatches(dom, year, month0, day, dim);
  return domMatches(dom, year, month0, day, dim) || dowMatches(dow, year, month0, day, dim);
}

/**
 * Does any day ever match, in any of the months allowed? Exact: a restricted day-of-week
 * always finds a day (every weekday, last weekday and 1st-4th occurrence is in every month;
 * a 5th falls on the 29th-31st, which some allowed month has in some year, February 29
 * included); otherwise the day-of-month must name a day some allowed month has.
 */
export function anyDayMatches(dom: DomRule, dow: DowRule, months: readonly boolean[]): boolean {
  if (dow.kind !== 'any' || dom.kind === 'any') return true;
  let longest = 0;
  for (let m = 0; m < 12; m++) if (months[m]) longest = Math.max(longest, longestMonth(m));
  switch (dom.kind) {
    case 'days':
      return dom.days.some((on, day) => on && day <= longest);
    case 'last':
    case 'lastWeekday':
      return dom.offset < longest;
    case 'nearestWeekday':
      return dom.day <= longest;
  }
}
