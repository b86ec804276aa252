import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { coreShare, setLoadSource, shareFrom, weighCpu } from './contention.ts';

describe('contention: the share of a core a runnable thread gets', () => {
  after(() => setLoadSource(null));
  it('is 1 while the runnable threads (less the reader) fit the cores', () => {
    assert.equal(shareFrom('0.10 0.20 0.30 1/120 999\n', 2), 1);
    assert.equal(shareFrom('0.10 0.20 0.30 3/120 999\n', 2), 1);
  });
  it('is the cores over the other runnable threads beyond that', () => {
    assert.equal(shareFrom('4.00 3.00 2.00 5/120 999\n', 2), 0.5);
    assert.equal(shareFrom('9.00 3.00 2.00 9/120 999\n', 2), 0.25);
  });
  it('is never below a quarter: the runnable count is host-wide', () => {
    assert.equal(shareFrom('40.00 30.00 20.00 42/500 999\n', 2), 0.25);
  });
  it('is 1 when /proc/loadavg cannot be read or parsed', () => {
    assert.equal(shareFrom(null, 2), 1);
    assert.equal(shareFrom('garbage', 2), 1);
  });
  it('weighs CPU readings by the share, read at most every 20 ms', () => {
    let reads = 0;
    setLoadSource(() => {
      reads++;
      return `8.00 8.00 8.00 ${4 * 2 + 1}/100 1`;
    });
    const share = coreShare(1000);
    assert.ok(share > 0 && share < 1);
    assert.equal(coreShare(1010), share);
    assert.equal(reads, 1);
    coreShare(1030);
    assert.equal(reads, 2);
    assert.equal(weighCpu(1_000_000n), BigInt(Math.floor(1_000_000 * coreShare())));
    setLoadSource(() => '0.00 0.00 0.00 1/100 1');
    assert.equal(weighCpu(1_000_000n), 1_000_000n);
  });
});
