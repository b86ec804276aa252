import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpDate } from './date.ts';

const T = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2026, 0, 1);

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  it('reads IMF-fixdate and the two obsolete formats', () => {
    assert.equal(httpDate('Sun, 06 Nov 1994 08:49:37 GMT'), T);
    assert.equal(httpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), T);
    assert.equal(httpDate('Sun Nov  6 08:49:37 1994'), T);
    assert.equal(httpDate('Sun Nov 06 08:49:37 1994'), T);
  });
  it('an rfc850 two-digit year more than 50 years ahead is in the past century', () => {
    assert.equal(httpDate('Thursday, 18-Aug-50 02:01:18 GMT', NOW), Date.UTC(2050, 7, 18, 2, 1, 18));
    assert.equal(httpDate('Wednesday, 18-Aug-99 02:01:18 GMT', NOW), Date.UTC(1999, 7, 18, 2, 1, 18));
  });
  it('matches day, month and zone names without regard to case', () => {
    assert.equal(httpDate('SUN, 06 NOV 1994 08:49:37 gmt'), T);
  });
  for (const [what, v] of [
    ['UTC instead of GMT', 'Thu, 18 Aug 2050 02:01:18 UTC'],
    ['another zone', 'Thu, 18 Aug 2050 02:01:18 AEST'],
    ['a two-digit year in an IMF-fixdate', 'Thu, 18 Aug 50 02:01:18 GMT'],
    ['no comma', 'Thu 18 Aug 2050 02:01:18 GMT'],
    ['doubled spaces', 'Thu, 18  Aug  2050 02:01:18 GMT'],
    ['dashes in an IMF-fixdate', 'Thu, 18-Aug-2050 02:01:18 GMT'],
    ['periods in the time', 'Thu, 18 Aug 2050 02.01.18 GMT'],
    ['a one-digit hour', 'Thu, 18 Aug 2050 2:01:18 GMT'],
    ['no weekday', '18 Aug 2050 02:01:18 GMT'],
    ['a number', '0'],
    ['ISO 8601', '2050-08-18T02:01:18Z'],
    ['a day past the month’s end', 'Thu, 31 Feb 2050 02:01:18 GMT'],
    ['hour 24', 'Thu, 18 Aug 2050 24:01:18 GMT'],
  ])
    it(`is not a date with ${what}`, () => assert.equal(httpDate(v), undefined));
});
