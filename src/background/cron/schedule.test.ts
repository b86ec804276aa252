import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CRON_FIELD_COUNT,
  CRON_TRIGGERS_PER_ACCOUNT,
  CronError,
  nextFirings,
  parseCron,
  parseCronTriggers,
} from './index.ts';

const utc = (iso: string) => new Date(`${iso}Z`);
const iso = (d: Date) => d.toISOString();

describe('cron schedule: next()', () => {
  it('is the first matching minute strictly after the given minute, seconds zeroed', () => {
    const every = parseCron('* * * * *');
    assert.equal(iso(every.next(utc('2024-05-05T10:00:00.000'))), '2024-05-05T10:01:00.000Z');
    assert.equal(iso(every.next(utc('2024-05-05T10:00:59.999'))), '2024-05-05T10:01:00.000Z');
    const quarter = parseCron('*/15 * * * *');
    assert.equal(iso(quarter.next(utc('2024-05-05T10:15:00'))), '2024-05-05T10:30:00.000Z');
    assert.equal(iso(quarter.next(utc('2024-05-05T10:14:30'))), '2024-05-05T10:15:00.000Z');
    assert.equal(iso(quarter.next(utc('2024-12-31T23:59:00'))), '2025-01-01T00:00:00.000Z');
  });

  it('matches() looks at the whole minute, UTC', () => {
    const s = parseCron('30 9 * * *');
    assert.equal(s.matches(utc('2024-05-05T09:30:00')), true);
    assert.equal(s.matches(utc('2024-05-05T09:30:59.999')), true);
    assert.equal(s.matches(utc('2024-05-05T09:31:00')), false);
    assert.equal(s.matches(new Date('2024-05-05T09:30:00+02:00')), false);
    assert.equal(s.matches(new Date(Number.NaN)), false);
  });

  it('nextFirings lists firings in order; rejects a bad count', () => {
    const s = parseCron('0 0 1 */4 *');
    assert.deepEqual(nextFirings(s, utc('2024-01-01T00:00'), 4).map(iso), [
      '2024-05-01T00:00:00.000Z',
      '2024-09-01T00:00:00.000Z',
      '2025-01-01T00:00:00.000Z',
      '2025-05-01T00:00:00.000Z',
    ]);
    assert.deepEqual(nextFirings(s, utc('2024-01-01T00:00'), 0), []);
    assert.throws(() => nextFirings(s, utc('2024-01-01T00:00'), -1), RangeError);
    assert.throws(() => nextFirings(s, utc('2024-01-01T00:00'), 1.5), RangeError);
    assert.throws(() => s.next(new Date(Number.NaN)), RangeError);
  });

  it('is UTC whatever the host zone, across DST changes', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'UTC']) {
        process.env.TZ = tz;
        const s = parseCron('30 2 * * *');
        // 2024-03-10 (US spring forward), 2024-03-31 (EU), 2024-11-03 (US fall back).
        assert.equal(iso(s.next(utc('2024-03-10T00:00'))), '2024-03-10T02:30:00.000Z', tz);
        assert.equal(iso(s.next(utc('2024-03-31T00:00'))), '2024-03-31T02:30:00.000Z', tz);
        assert.deepEqual(nextFirings(s, utc('2024-11-02T12:00'), 2).map(iso), [
          '2024-11-03T02:30:00.000Z',
          '2024-11-04T02:30:00.000Z',
        ]);
        assert.equal(parseCron('0 0 * * SUN').matches(utc('2024-11-03T00:00')), true, tz);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('works in years 0-99 and far from now', () => {
    assert.equal(iso(parseCron('0 0 L 2 *').next(utc('0004-01-01T00:00'))), '0004-02-29T00:00:00.000Z');
    assert.equal(iso(parseCron('0 0 1 1 *').next(utc('0099-06-01T00:00'))), '0100-01-01T00:00:00.000Z');
    assert.equal(iso(parseCron('0 0 29 2 *').next(utc('2096-03-01T00:00'))), '2104-02-29T00:00:00.000Z');
  });

  it('jumps by field: rare schedules are found quickly, even 40 years out', () => {
    // Feb 29 is a Thursday in 2080, then not until 2120 (2100 is not a leap year).
    const fifthThursday = parseCron('0 0 * FEB THU#5');
    const started = performance.now();
    assert.equal(iso(fifthThursday.next(utc('2080-03-01T00:00'))), '2120-02-29T00:00:00.000Z');
    // 100 leap days from 2000: 25 in 2000-2096, 24 in each of the next three centuries (no
    // 2100, 2200, 2300), then 2400, 2404, 2408.
    const leap = nextFirings(parseCron('59 23 29 2 *'), utc('2000-01-01T00:00'), 100);
    assert.equal(iso(leap[99]), '2408-02-29T23:59:00.000Z');
    assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  });
});

describe('cron schedule: expressions that never fire', () => {
  it('parse (Cloudflare accepts them) but say so, and next() throws instead of looping', () => {
    for (const e of ['0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 30,31 FEB *', '0 0 L-29 2 *', '0 0 30W 2 *']) {
      const s = parseCron(e);
      assert.equal(s.firesEver, false, e);
      assert.throws(() => s.next(utc('2024-01-01T00:00')), {
        name: 'CronError',
        message: `cron "${e}": never fires (no month it allows has a day-of-month it names)`,
      });
    }
  });

  it('those that fire rarely or through the weekday field are not mistaken for them', () => {
    for (const e of [
      '0 0 29 2 *',
      '0 0 31 4,5 *',
      '0 0 L-28 2 *',
      '0 0 30 2 MON',
      '0 0 * 2 1#5',
      '0 0 29W 2 *',
    ]) {
      const s = parseCron(e);
      assert.equal(s.firesEver, true, e);
      assert.ok(s.matches(s.next(utc('2024-03-01T00:00'))), e);
    }
  });
});

describe('cron schedule: a Worker’s list and the limits', () => {
  it('rejects two expressions that are one schedule, as Cloudflare’s API does', () => {
    assert.equal(parseCronTriggers(['0 0 * * 1', '0 0 * * 2', '*/30 * * * *']).length, 3);
    assert.throws(() => parseCronTriggers(['0 0 * * 1', '0 0 * * SUN']), {
      name: 'CronError',
      message:
        'cron "0 0 * * SUN": the same schedule as "0 0 * * 1"; Cloudflare rejects duplicate Cron Triggers',
    });
    assert.throws(
      () => parseCronTriggers(['0,30 * * * *', '*/30 * * * *']),
      /the same schedule as "0,30 \* \* \* \*"/,
    );
    assert.throws(() => parseCronTriggers(['0 0 * * *', '0 0 * * 0']), /day-of-week value must be 1-7/);
  });

  it('exports the documented limits', () => {
    assert.deepEqual(CRON_TRIGGERS_PER_ACCOUNT, { free: 5, paid: 250 });
    assert.equal(CRON_FIELD_COUNT, 5);
    assert.ok(new CronError('x') instanceof Error);
  });
});
