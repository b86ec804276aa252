import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCron } from './index.ts';

/** A seeded PRNG (mulberry32), so a failure names the seed that reproduces it. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** A random list for a field min..max: values, ranges (some wrapping), steps, names. */
function list(r: Rng, min: number, max: number, names?: readonly string[]): string {
  const v = () => {
    const n = r.int(min, max);
    return names && r.next() < 0.3 ? names[n - min].toLowerCase() : String(n);
  };
  const step = () => r.int(1, Math.min(max - min, 12));
  const item = () =>
    r.pick([() => v(), () => `${v()}-${v()}`, () => `${v()}-${v()}/${step()}`, () => `${v()}/${step()}`])();
  const first = r.next() < 0.15 ? `*/${step()}` : item();
  const rest = Array.from({ length: r.int(0, 2) }, item);
  return [first, ...rest].join(',');
}

function randomExpression(r: Rng): string {
  const minute = r.next() < 0.3 ? '*' : list(r, 0, 59);
  const hour = r.next() < 0.4 ? '*' : list(r, 0, 23);
  const month = r.next() < 0.75 ? '*' : list(r, 1, 12, MONTHS);
  const dom =
    r.next() < 0.45
      ? '*'
      : r.pick([
          () => list(r, 1, 31),
          () => 'L',
          () => 'LW',
          () => `L-${r.int(1, 30)}`,
          () => `L-${r.int(1, 30)}W`,
          () => `${r.int(1, 31)}W`,
        ])();
  const dow =
    r.next() < 0.5
      ? '*'
      : r.pick([
          () => list(r, 1, 7, DAYS),
          () => 'L',
          () => `${r.pick([String(r.int(1, 7)), r.pick(DAYS)])}L`,
          () => `${r.pick([String(r.int(1, 7)), r.pick(DAYS)])}#${r.int(1, 5)}`,
        ])();
  return `${minute} ${hour} ${dom} ${month} ${dow}`;
}

const MINUTE = 60_000;

describe('cron property: next() agrees with a minute-by-minute scan of matches()', () => {
  it('for 200 random expressions over three weeks each', () => {
    const seed = 20_240_229;
    const r = rng(seed);
    const span = 21 * 24 * 60;
    for (let i = 0; i < 200; i++) {
      const expression = randomExpression(r);
      const s = parseCron(expression);
      // Starts from 1970 to 2400, a third of them in the last days of a month (where L, W, # live).
      let start = Date.UTC(r.int(1970, 2400), r.int(0, 11), r.next() < 0.33 ? r.int(24, 31) : r.int(1, 28));
      start += r.int(0, 24 * 60 - 1) * MINUTE + r.int(0, 59_999);
      const first = Math.floor(start / MINUTE) * MINUTE + MINUTE;
      const expected: number[] = [];
      for (let k = 0; k < span; k++)
        if (s.matches(new Date(first + k * MINUTE))) expected.push(first + k * MINUTE);
      const where = `seed ${seed}, #${i}: "${expression}" after ${new Date(start).toISOString()}`;
      let at = new Date(start);
      for (const t of expected) {
        at = s.next(at);
        assert.equal(at.toISOString(), new Date(t).toISOString(), where);
      }
      if (s.firesEver) {
        const beyond = s.next(at);
        assert.ok(beyond.getTime() >= first + span * MINUTE, `${where}: ${beyond.toISOString()} was missed`);
        assert.ok(s.matches(beyond), `${where}: ${beyond.toISOString()} does not match`);
      } else {
        assert.equal(expected.length, 0, where);
      }
    }
  });
});

/**
 * One month laid out with the platform's own calendar (Date), independent of days.ts: each
 * day's weekday, 0 = Sunday.
 */
function monthOf(y: number, m: number): number[] {
  const days = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Array.from({ length: days }, (_, i) => new Date(Date.UTC(y, m, i + 1)).getUTCDay());
}
const isWeekday = (w: number) => w !== 0 && w !== 6;
/** The weekday of the month nearest to `target` (there is never a tie), or 0 when there is none. */
function nearestWeekday(month: number[], target: number): number {
  if (target < 1 || target > month.length) return 0;
  let best = 0;
  month.forEach((w, i) => {
    if (isWeekday(w) && (best === 0 || Math.abs(i + 1 - target) < Math.abs(best - target))) best = i + 1;
  });
  return best;
}

describe('cron property: L, W, # agree with their plain definitions on every day', () => {
  it('from 1999 to 2031, and in 2100 and 2400', () => {
    /** [field, where it goes, the days it selects in a month] */
    const rules: [string, 'dom' | 'dow', (month: number[]) => number[]][] = [
      ['L', 'dom', (mo) => [mo.length]],
    ];
    rules.push([
      'LW',
      'dom',
      (mo) => [mo.map((w, i) => (isWeekday(w) ? i + 1 : 0)).reduce((a, b) => Math.max(a, b))],
    ]);
    for (let n = 1; n <= 31; n++) rules.push([`${n}W`, 'dom', (mo) => [nearestWeekday(mo, n)]]);
    for (let n = 1; n <= 30; n++) {
      rules.push([`L-${n}`, 'dom', (mo) => [mo.length - n]]);
      rules.push([`L-${n}W`, 'dom', (mo) => [nearestWeekday(mo, mo.length - n)]]);
    }
    for (let x = 1; x <= 7; x++) {
      const days = (mo: number[]) => mo.flatMap((w, i) => (w === x - 1 ? [i + 1] : []));
      rules.push([`${x}L`, 'dow', (mo) => days(mo).slice(-1)]);
      for (let k = 1; k <= 5; k++)
        rules.push([`${DAYS[x - 1]}#${k}`, 'dow', (mo) => days(mo).slice(k - 1, k)]);
    }
    const schedules = rules.map(([f, where, select]) => ({
      f,
      select,
      s: parseCron(where === 'dom' ? `0 12 ${f} * *` : `0 12 * * ${f}`),
    }));
    const years = [...Array.from({ length: 33 }, (_, i) => 1999 + i), 2100, 2400];
    for (const y of years) {
      for (let m = 0; m < 12; m++) {
        const month = monthOf(y, m);
        for (const { f, select, s } of schedules) {
          const want = select(month).filter((d) => d >= 1);
          const got = month.flatMap((_, i) =>
            s.matches(new Date(Date.UTC(y, m, i + 1, 12))) ? [i + 1] : [],
          );
          assert.deepEqual(got, want, `${f} in ${y}-${m + 1}`);
        }
      }
    }
  });
});
