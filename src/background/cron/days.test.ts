import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextFirings, parseCron } from './index.ts';

/** The next `n` firings after `iso` (UTC), as "YYYY-MM-DDTHH:MM". */
function firings(expression: string, iso: string, n = 1): string[] {
  return nextFirings(parseCron(expression), new Date(`${iso}Z`), n).map((d) => d.toISOString().slice(0, 16));
}
const at = (expression: string, iso: string) => parseCron(expression).matches(new Date(`${iso}Z`));

describe('cron days: L (last day of the month)', () => {
  it('0 12 L * * is the 29th of February in leap years, the 28th otherwise (2100 is not leap)', () => {
    assert.deepEqual(firings('0 12 L * *', '2024-02-01T00:00'), ['2024-02-29T12:00']);
    assert.deepEqual(firings('0 12 L * *', '2023-02-01T00:00'), ['2023-02-28T12:00']);
    assert.deepEqual(firings('0 12 L * *', '2000-02-01T00:00'), ['2000-02-29T12:00']);
    assert.deepEqual(firings('0 12 L * *', '2100-02-01T00:00'), ['2100-02-28T12:00']);
    assert.deepEqual(firings('0 12 L * *', '2024-01-31T12:00', 4), [
      '2024-02-29T12:00',
      '2024-03-31T12:00',
      '2024-04-30T12:00',
      '2024-05-31T12:00',
    ]);
    assert.equal(at('0 12 L * *', '2024-02-28T12:00'), false);
  });

  it('L-n is n days before the last; L-nW the weekday nearest to it', () => {
    assert.deepEqual(firings('0 0 L-2 * *', '2024-02-01T00:00', 2), ['2024-02-27T00:00', '2024-03-29T00:00']);
    // L-1 of June 2024 is Saturday the 29th → Friday the 28th; of September 2024 Sunday the 29th → Monday the 30th.
    assert.deepEqual(firings('0 0 L-1W * *', '2024-06-01T00:00'), ['2024-06-28T00:00']);
    assert.deepEqual(firings('0 0 L-1W * *', '2024-09-01T00:00'), ['2024-09-30T00:00']);
    // L-2 of September 2024 is Saturday the 28th: Friday the 27th only, not also Monday the 30th
    // (saffron's `contains` slip).
    assert.deepEqual(firings('0 0 L-2W * *', '2024-09-01T00:00', 2), [
      '2024-09-27T00:00',
      '2024-10-29T00:00',
    ]);
    assert.equal(at('0 0 L-2W * *', '2024-09-30T00:00'), false);
    // L-30 exists only in 31-day months: the 1st.
    assert.deepEqual(firings('0 0 L-30 * *', '2024-02-01T00:00'), ['2024-03-01T00:00']);
  });

  it('LW is the last weekday: Friday when the month ends on a weekend', () => {
    assert.deepEqual(firings('59 23 LW * *', '2024-08-01T00:00'), ['2024-08-30T23:59']); // Aug 31 is a Saturday
    assert.deepEqual(firings('59 23 LW * *', '2024-03-01T00:00'), ['2024-03-29T23:59']); // Mar 31 is a Sunday
    assert.deepEqual(firings('59 23 LW * *', '2024-02-01T00:00'), ['2024-02-29T23:59']); // Thursday
  });
});

describe('cron days: W (nearest weekday)', () => {
  it('15W: a Saturday 15th moves to Friday the 14th, a Sunday 15th to Monday the 16th', () => {
    assert.deepEqual(firings('0 9 15W * *', '2024-06-01T00:00'), ['2024-06-14T09:00']);
    assert.deepEqual(firings('0 9 15W * *', '2024-09-01T00:00'), ['2024-09-16T09:00']);
    assert.deepEqual(firings('0 9 15W * *', '2024-05-01T00:00'), ['2024-05-15T09:00']); // a Wednesday
    assert.equal(at('0 9 15W * *', '2024-06-15T09:00'), false);
  });

  it('1W never leaves the month: a Saturday 1st moves to Monday the 3rd, a Sunday 1st to the 2nd', () => {
    assert.deepEqual(firings('0 9 1W * *', '2024-05-31T12:00'), ['2024-06-03T09:00']);
    assert.deepEqual(firings('0 9 1W * *', '2024-08-31T12:00'), ['2024-09-02T09:00']);
  });

  it('a last day on a weekend moves back into the month; a day the month lacks selects nothing', () => {
    assert.deepEqual(firings('0 9 31W * *', '2024-03-01T00:00'), ['2024-03-29T09:00']); // 31st is a Sunday
    assert.deepEqual(firings('0 9 30W * *', '2023-09-01T00:00'), ['2023-09-29T09:00']); // 30th is a Saturday
    // June 2023 has no 31st: nothing in June (not Friday the 30th, saffron's `contains` slip), July 31st next.
    assert.equal(at('0 9 31W * *', '2023-06-30T09:00'), false);
    assert.deepEqual(firings('0 9 31W * *', '2023-06-01T00:00'), ['2023-07-31T09:00']);
  });
});

describe('cron days: weekdays, # and xL', () => {
  it('1 = Sunday … 7 = Saturday, names case-insensitive, L alone = Saturday', () => {
    assert.deepEqual(firings('0 17 * * 1', '2024-03-04T00:00'), ['2024-03-10T17:00']); // a Sunday
    assert.deepEqual(firings('0 17 * * sun', '2024-03-04T00:00'), ['2024-03-10T17:00']);
    assert.deepEqual(firings('0 0 * * 7', '2024-03-04T00:00'), ['2024-03-09T00:00']); // a Saturday
    assert.deepEqual(firings('0 0 * * L', '2024-03-04T00:00'), ['2024-03-09T00:00']);
    assert.deepEqual(firings('10 7 * * mon-fri', '2024-03-08T08:00', 2), [
      '2024-03-11T07:10',
      '2024-03-12T07:10',
    ]);
    assert.deepEqual(firings('10 7 * * 2-6', '2024-03-08T08:00', 2), [
      '2024-03-11T07:10',
      '2024-03-12T07:10',
    ]);
    assert.deepEqual(firings('0 0 * * 2-6/2', '2024-03-09T00:00', 3), [
      '2024-03-11T00:00', // Monday
      '2024-03-13T00:00', // Wednesday
      '2024-03-15T00:00', // Friday
    ]);
  });

  it('FRI-MON wraps over the weekend, without Thursday', () => {
    assert.deepEqual(firings('0 0 * * FRI-MON', '2024-03-06T00:00', 5), [
      '2024-03-08T00:00',
      '2024-03-09T00:00',
      '2024-03-10T00:00',
      '2024-03-11T00:00',
      '2024-03-15T00:00',
    ]);
  });

  it('6#3 and FRI#3 are the third Friday; #5 skips months without a fifth', () => {
    assert.deepEqual(firings('0 0 * * 6#3', '2024-03-01T00:00', 2), ['2024-03-15T00:00', '2024-04-19T00:00']);
    assert.deepEqual(firings('0 0 * * FRI#3', '2024-03-01T00:00', 2), [
      '2024-03-15T00:00',
      '2024-04-19T00:00',
    ]);
    assert.deepEqual(firings('0 0 * * 1#5', '2024-04-01T00:00'), ['2024-06-30T00:00']); // April, May: no fifth Sunday
    assert.deepEqual(firings('0 0 * * SUN#1', '2024-09-01T00:00'), ['2024-10-06T00:00']);
  });

  it('5L is the last Thursday (5 = Thursday), 6L and friL the last Friday', () => {
    assert.deepEqual(firings('0 18 * * 5L', '2024-11-01T00:00'), ['2024-11-28T18:00']);
    assert.deepEqual(firings('0 18 * * 6L', '2024-11-01T00:00'), ['2024-11-29T18:00']);
    assert.deepEqual(firings('0 18 * * friL', '2024-11-01T00:00'), ['2024-11-29T18:00']);
    assert.deepEqual(firings('0 18 * * 6L', '2024-02-01T00:00'), ['2024-02-23T18:00']);
  });
});

describe('cron days: months and the day-of-month / day-of-week rule', () => {
  it('month names, ranges and wrapped steps (NOV-FEB/2 is November and January)', () => {
    assert.deepEqual(firings('0 0 1 jan-MAR *', '2024-02-15T00:00', 2), [
      '2024-03-01T00:00',
      '2025-01-01T00:00',
    ]);
    assert.deepEqual(firings('0 0 1 NOV-FEB/2 *', '2024-06-01T00:00', 3), [
      '2024-11-01T00:00',
      '2025-01-01T00:00',
      '2025-11-01T00:00',
    ]);
    assert.deepEqual(firings('0 0 1-31/10 * *', '2024-05-01T00:00', 4), [
      '2024-05-11T00:00',
      '2024-05-21T00:00',
      '2024-05-31T00:00',
      '2024-06-01T00:00',
    ]);
  });

  it('both day fields restricted: either matches (13 or Friday)', () => {
    assert.deepEqual(firings('0 0 13 * FRI', '2024-01-01T00:00', 4), [
      '2024-01-05T00:00',
      '2024-01-12T00:00',
      '2024-01-13T00:00', // a Saturday, matched by the 13
      '2024-01-19T00:00',
    ]);
    // `*/1` restricts (only a bare `*` does not): every day, not only Mondays.
    assert.deepEqual(firings('0 0 */1 * MON', '2024-01-01T00:00', 2), [
      '2024-01-02T00:00',
      '2024-01-03T00:00',
    ]);
    // One field `*`: the other alone decides.
    assert.deepEqual(firings('0 0 13 * *', '2024-01-01T00:00'), ['2024-01-13T00:00']);
    assert.deepEqual(firings('0 0 * * FRI', '2024-01-06T00:00'), ['2024-01-12T00:00']);
    // L with a weekday: the last day or any Monday.
    assert.deepEqual(firings('0 0 L * MON', '2024-04-23T00:00', 2), ['2024-04-29T00:00', '2024-04-30T00:00']);
  });
});
