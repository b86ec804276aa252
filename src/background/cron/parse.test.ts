import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronError, parseCron } from './index.ts';

function rejects(expression: string, message: string) {
  assert.throws(
    () => parseCron(expression),
    (err: unknown) => {
      assert.ok(err instanceof CronError, `${expression}: ${err}`);
      assert.equal(err.message, message);
      assert.equal(err.name, 'CronError');
      return true;
    },
  );
}

describe('cron syntax: what Cloudflare accepts', () => {
  it("accepts every example on Cloudflare's Cron Triggers pages", () => {
    for (const e of [
      '* * * * *',
      '*/30 * * * *',
      '45 * * * *',
      '0 17 * * sun',
      '0 17 * * 1',
      '10 7 * * mon-fri',
      '10 7 * * 2-6',
      '0 15 1 * *',
      '0 18 * * 6L',
      '0 18 * * friL',
      '59 23 LW * *',
      '*/3 * * * *',
      '0 0 * JAN-JUN FRI',
      '0 0 LW JUL-DEC *',
    ]) {
      assert.equal(parseCron(e).expression, e);
    }
  });

  it('accepts what saffron (Cloudflare’s parser) does beyond the docs', () => {
    for (const e of [
      '0 0 L-3 * *',
      '0 0 L-30W * *',
      '05 07 * * *',
      '0\t0  *\t * *',
      '5/15 * * * *',
      '0 0 * JAN/3 *',
      '0 0 * * MON/2',
      '0 0 * * L',
      '*/5,7,10-12 * * * *',
      '0 0 * * SUN#1',
      '0 0 1 jan,Feb,MAR *',
      '0 0 * * 7',
      '5,* * * * *',
    ]) {
      assert.doesNotThrow(() => parseCron(e), e);
    }
  });

  it('rejects a wrong number of fields, and whitespace around them', () => {
    rejects(
      '* * * *',
      'cron "* * * *": expected 5 fields (minute hour day-of-month month day-of-week), received 4',
    );
    rejects(
      '0 * * * * *',
      'cron "0 * * * * *": expected 5 fields (minute hour day-of-month month day-of-week), received 6',
    );
    rejects('', 'cron "": expected 5 fields (minute hour day-of-month month day-of-week), received 0');
    rejects(' * * * * *', 'cron " * * * * *": leading or trailing whitespace is not allowed');
    rejects('* * * * *\n', 'cron "* * * * *\\n": leading or trailing whitespace is not allowed');
  });

  it('rejects values out of range, naming the field', () => {
    rejects('60 * * * *', 'cron "60 * * * *": minute value must be 0-59, received "60"');
    rejects('0 24 * * *', 'cron "0 24 * * *": hour value must be 0-23, received "24"');
    rejects('0 0 0 * *', 'cron "0 0 0 * *": day-of-month value must be 1-31, received "0"');
    rejects('0 0 32 * *', 'cron "0 0 32 * *": day-of-month value must be 1-31, received "32"');
    rejects('0 0 * 13 *', 'cron "0 0 * 13 *": month value must be 1-12 or JAN-DEC, received "13"');
    rejects('0 0 * 0 *', 'cron "0 0 * 0 *": month value must be 1-12 or JAN-DEC, received "0"');
    rejects('0 0 1-40 * *', 'cron "0 0 1-40 * *": day-of-month value must be 1-31, received "40"');
  });

  it('rejects Sunday = 0: Cloudflare counts weekdays 1-7 from Sunday', () => {
    const msg = 'day-of-week value must be 1-7 (1 = Sunday, 7 = Saturday) or SUN-SAT';
    rejects('0 0 * * 0', `cron "0 0 * * 0": ${msg}, received "0"`);
    rejects('0 0 * * 8', `cron "0 0 * * 8": ${msg}, received "8"`);
    rejects('0 0 * * 0-6', `cron "0 0 * * 0-6": ${msg}, received "0"`);
  });

  it('rejects steps of 0 or beyond the field (saffron: 1 to max - min)', () => {
    rejects('*/0 * * * *', 'cron "*/0 * * * *": minute step must be 1-59, received "0"');
    rejects('*/60 * * * *', 'cron "*/60 * * * *": minute step must be 1-59, received "60"');
    rejects('0 */24 * * *', 'cron "0 */24 * * *": hour step must be 1-23, received "24"');
    rejects('0 0 */31 * *', 'cron "0 0 */31 * *": day-of-month step must be 1-30, received "31"');
    rejects('0 0 * */12 *', 'cron "0 0 * */12 *": month step must be 1-11, received "12"');
    rejects('0 0 * * */7', 'cron "0 0 * * */7": day-of-week step must be 1-6, received "7"');
    rejects('1-5/x * * * *', 'cron "1-5/x * * * *": minute step must be 1-59, received "x"');
    rejects('*/ * * * *', 'cron "*/ * * * *": minute step must be 1-59, received ""');
  });

  it('rejects unknown names, and names where a field has none', () => {
    rejects(
      '0 0 * FOO *',
      'cron "0 0 * FOO *": month name must be a three-letter abbreviation JAN-DEC, received "FOO"',
    );
    rejects(
      '0 0 * JANUARY *',
      'cron "0 0 * JANUARY *": month name must be a three-letter abbreviation JAN-DEC, received "JANUARY"',
    );
    rejects(
      '0 0 * * SUNDAY',
      'cron "0 0 * * SUNDAY": day-of-week name must be a three-letter abbreviation SUN-SAT, received "SUNDAY"',
    );
    rejects(
      '0 0 * * MON-FRX',
      'cron "0 0 * * MON-FRX": day-of-week name must be a three-letter abbreviation SUN-SAT, received "FRX"',
    );
    rejects('0 0 MON * *', 'cron "0 0 MON * *": day-of-month value must be 1-31, received "MON"');
  });

  it('rejects # outside 1-5', () => {
    rejects(
      '0 0 * * MON#6',
      'cron "0 0 * * MON#6": day-of-week occurrence after "#" must be 1-5, received "6"',
    );
    rejects('0 0 * * 2#0', 'cron "0 0 * * 2#0": day-of-week occurrence after "#" must be 1-5, received "0"');
    rejects('0 0 * * 2#', 'cron "0 0 * * 2#": day-of-week occurrence after "#" must be 1-5, received ""');
    rejects(
      '0 0 * * 0#2',
      'cron "0 0 * * 0#2": day-of-week value must be 1-7 (1 = Sunday, 7 = Saturday) or SUN-SAT, received "0"',
    );
  });

  it('rejects L and W out of place, in lists, or in lower case', () => {
    rejects(
      '0 0 L,15 * *',
      'cron "0 0 L,15 * *": day-of-month "L" cannot be combined with other values in a list, received "L,15"',
    );
    rejects(
      '0 0 1,15W * *',
      'cron "0 0 1,15W * *": day-of-month "15W" cannot be combined with other values in a list, received "1,15W"',
    );
    rejects(
      '0 0 * * MON,5L',
      'cron "0 0 * * MON,5L": day-of-week "5L" cannot be combined with other values in a list, received "MON,5L"',
    );
    rejects(
      '0 0 * * 2#1,3',
      'cron "0 0 * * 2#1,3": day-of-week "2#1" cannot be combined with other values in a list, received "2#1,3"',
    );
    rejects('0 0 lw * *', 'cron "0 0 lw * *": day-of-month "L" and "W" must be upper case, received "lw"');
    rejects('0 0 15w * *', 'cron "0 0 15w * *": day-of-month "L" and "W" must be upper case, received "15w"');
    rejects(
      '0 0 * * fril',
      'cron "0 0 * * fril": day-of-week "L" and "W" must be upper case, received "fril"',
    );
    rejects('0 0 L-0 * *', 'cron "0 0 L-0 * *": day-of-month offset after "L-" must be 1-30, received "0"');
    rejects(
      '0 0 L-31 * *',
      'cron "0 0 L-31 * *": day-of-month offset after "L-" must be 1-30, received "31"',
    );
    rejects('0 0 32W * *', 'cron "0 0 32W * *": day-of-month value before "W" must be 1-31, received "32"');
    rejects('0 0 0W * *', 'cron "0 0 0W * *": day-of-month value before "W" must be 1-31, received "0"');
    rejects('L * * * *', 'cron "L * * * *": minute value must be 0-59, received "L"');
    rejects('0 0 W * *', 'cron "0 0 W * *": day-of-month value must be 1-31, received "W"');
  });

  it('rejects ? and @macros, which Cloudflare does not accept', () => {
    rejects(
      '0 0 ? * MON',
      'cron "0 0 ? * MON": day-of-month "?" is not supported by Cloudflare Cron Triggers (use "*"), received "?"',
    );
    rejects(
      '0 0 1 * ?',
      'cron "0 0 1 * ?": day-of-week "?" is not supported by Cloudflare Cron Triggers (use "*"), received "?"',
    );
    rejects(
      '@daily',
      'cron "@daily": macros such as "@daily" are not supported by Cloudflare Cron Triggers; write the five fields',
    );
  });

  it('rejects garbage and malformed lists', () => {
    rejects('a b c d e', 'cron "a b c d e": minute value must be 0-59, received "a"');
    rejects(
      '1-2-3 * * * *',
      'cron "1-2-3 * * * *": minute item is not a value, range or step, received "1-2-3"',
    );
    rejects(
      '1/2/3 * * * *',
      'cron "1/2/3 * * * *": minute item is not a value, range or step, received "1/2/3"',
    );
    rejects('1,,2 * * * *', 'cron "1,,2 * * * *": minute list has an empty item, received "1,,2"');
    rejects('1, * * * *', 'cron "1, * * * *": minute list has an empty item, received "1,"');
    rejects(
      '*,5 * * * *',
      'cron "*,5 * * * *": minute "*" cannot be combined with other values in a list, received "*,5"',
    );
    rejects('*-5 * * * *', 'cron "*-5 * * * *": minute "*" takes only a step ("*/2"), received "*-5"');
    rejects('5-* * * * *', 'cron "5-* * * * *": minute value must be 0-59, received "*"');
    rejects('1.5 * * * *', 'cron "1.5 * * * *": minute value must be 0-59, received "1.5"');
    rejects('-1 * * * *', 'cron "-1 * * * *": minute value must be 0-59, received ""');
    assert.throws(() => parseCron(5 as unknown as string), {
      name: 'CronError',
      message: 'cron expression must be a string, received number',
    });
  });
});
