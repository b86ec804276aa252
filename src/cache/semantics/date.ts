/**
 * HTTP-date (RFC 9110 §5.6.7), read strictly: IMF-fixdate, or one of the two obsolete formats
 * recipients must still accept (rfc850-date, asctime-date), and nothing else. A value that
 * Date.parse would guess at (no comma, doubled spaces, dashes in an IMF-fixdate, a one-digit
 * hour, "UTC" instead of "GMT", time with periods) is not a date: for Expires that means
 * already expired (RFC 9111 §5.3). Day and month names are matched without regard to case,
 * which changes no date's meaning.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const DAY_LONG = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';

/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850 = new RegExp(`^${DAY_LONG}, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`, 'i');
/** Sun Nov  6 08:49:37 1994 (day of month: two digits, or a space and one digit) */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} (\\d\\d| \\d) ${TIME} (\\d{4})$`, 'i');

function utc(year: number, month: string, day: string, h: string, m: string, s: string): number | undefined {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const [dd, hh, mm, ss] = [Number(day), Number(h), Number(m), Number(s)];
  // 60 seconds: a leap second (§5.6.7 allows it); the date is taken as the next second.
  if (dd < 1 || dd > 31 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const t = Date.UTC(year, mon, dd, hh, mm, ss);
  // Reject days past the month's end (31 Feb), which Date.UTC would roll over.
  if (new Date(t - (ss === 60 ? 1000 : 0)).getUTCDate() !== dd) return undefined;
  return t;
}

/**
 * An HTTP-date as ms since the epoch, or undefined when the value is not one. `now` only
 * places an rfc850-date's two-digit year: one that would be more than 50 years in the future
 * is in the past century (§5.6.7).
 */
export function httpDate(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let m = IMF_FIXDATE.exec(v);
  if (m) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = ASCTIME.exec(v);
  if (m) return utc(Number(m[6]), m[1], m[2].trim(), m[3], m[4], m[5]);
  m = RFC850.exec(v);
  if (m) {
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2], m[1], m[4], m[5], m[6]);
  }
  return undefined;
}
