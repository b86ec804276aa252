import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCron } from './index.ts';

const utc = (iso: string) => new Date(`${iso}Z`);
/** Every matching minute of one UTC day, as "HH:MM". */
function minutesOf(expression: string, day: string): string[] {
  const s = parseCron(expression);
  const out: string[] = [];
  for (let t = utc(`${day}T00:00:00`).getTime(), end = t + 86_400_000; t < end; t += 60_000) {
    if (s.matches(new Date(t))) out.push(new Date(t).toISOString().slice(11, 16));
  }
  return out;
}
describe('cron syntax: what the accepted forms select', () => {
  it('ranges, steps over ranges, lists of ranges', () => {
    assert.deepEqual(minutesOf('10-40/15 3 * * *', '2024-05-05'), ['03:10', '03:25', '03:40']);
    assert.deepEqual(minutesOf('0 1-3,22-23 * * *', '2024-05-05'), [
      '01:00',
      '02:00',
      '03:00',
      '22:00',
      '23:00',
    ]);
    assert.deepEqual(minutesOf('50/5 0 * * *', '2024-05-05'), ['00:50', '00:55']);
    assert.deepEqual(minutesOf('*/20 */8 * * *', '2024-05-05'), [
      '00:00',
      '00:20',
      '00:40',
      '08:00',
      '08:20',
      '08:40',
      '16:00',
      '16:20',
      '16:40',
    ]);
    assert.deepEqual(minutesOf('7-7 0-0 * * *', '2024-05-05'), ['00:07']);
  });

  it('a range past its end wraps (22-2), without the extra value saffron’s bit mask adds', () => {
    assert.deepEqual(minutesOf('0 22-2 * * *', '2024-05-05'), ['00:00', '01:00', '02:00', '22:00', '23:00']);
    assert.deepEqual(minutesOf('58-1/2 0 * * *', '2024-05-05'), ['00:00', '00:58']);
    assert.deepEqual(minutesOf('59-0 0 * * *', '2024-05-05'), ['00:00', '00:59']);
  });

  it('in a list after the first item, a lone * is the field’s minimum (as saffron reads it)', () => {
    assert.deepEqual(minutesOf('5,* 0 * * *', '2024-05-05'), ['00:00', '00:05']);
    assert.deepEqual(minutesOf('30,*-2 0 * * *', '2024-05-05'), ['00:00', '00:01', '00:02', '00:30']);
  });

  it('separators may be several spaces or tabs; numbers may have leading zeros', () => {
    assert.deepEqual(minutesOf('05\t007   * *\t*', '2024-05-05'), ['07:05']);
  });
});
