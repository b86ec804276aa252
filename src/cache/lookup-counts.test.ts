import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LookupCounts } from './lookup-counts.ts';

describe('lookup counts (the dashboard’s Cache view)', () => {
  it('counts lookups by status and the hit ratio (HIT, STALE, UPDATING, REVALIDATED are hits)', () => {
    const c = new LookupCounts();
    assert.equal(c.hitRatio, null);
    for (const s of ['HIT', 'HIT', 'MISS', 'STALE', 'EXPIRED', 'UPDATING', 'REVALIDATED', 'MISS'])
      c.record('https://a/', s);
    assert.deepEqual(c.byStatus, { HIT: 2, MISS: 2, STALE: 1, EXPIRED: 1, UPDATING: 1, REVALIDATED: 1 });
    assert.equal(c.hitRatio, 5 / 8);
  });

  it('counts URLs only once read, across caches, and keeps at most 1000 of them', () => {
    const a = new LookupCounts();
    const b = new LookupCounts();
    a.record('https://before/', 'HIT');
    assert.deepEqual(a.top(5), [], 'not counted before the first read');
    for (let i = 0; i < 5; i++) b.record('https://hot/', 'HIT');
    b.record('https://cold/', 'MISS');
    assert.deepEqual(b.top(5), [
      ['https://hot/', 5],
      ['https://cold/', 1],
    ]);
    // A long tail of URLs asked twice does not push out a hot one, nor grow past the bound…
    for (let i = 0; i < 5000; i++) for (let j = 0; j < 2; j++) b.record(`https://tail/${i}`, 'MISS');
    let top = b.top(2000);
    assert.ok(top.length <= 1000, `${top.length} URLs kept`);
    assert.deepEqual(top[0], ['https://hot/', 5]);
    // …and a new URL asked often afterwards gets in and up.
    for (let i = 0; i < 50; i++) b.record('https://new/', 'HIT');
    top = b.top(3);
    assert.deepEqual(top[0], ['https://new/', 50]);
    // A very long URL is counted by its start.
    b.record(`https://long/${'x'.repeat(5000)}`, 'MISS');
    assert.ok(b.top(2000).every(([u]) => u.length <= 513));
  });
});
