import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PopWindow } from './pop-window.ts';

const req = (pop: string, ms: number, status = 200, cacheStatus = 'none') => ({
  pop,
  worker: 'w',
  status,
  cacheStatus,
  seconds: ms / 1000,
  bytes: 0,
});

/** Waits into the next whole second: what was recorded before is then in the window. */
async function nextSecond(): Promise<void> {
  const now = performance.now();
  await new Promise((r) => setTimeout(r, 1000 - (now % 1000) + 5));
}

describe('PoP window (the network map’s figures)', () => {
  it('records nothing until it is read, then counts requests, 5xx, hits and percentiles per PoP', async () => {
    const w = new PopWindow(10, 256);
    await nextSecond(); // all of what follows within one second
    w.record(req('LHR', 5));
    assert.deepEqual(w.read(), {}, 'not recording before a read');
    assert.equal(w.recording, true);
    for (let i = 1; i <= 100; i++) w.record(req('LHR', i));
    w.record(req('LHR', 50, 503));
    w.record(req('CDG', 2, 200, 'HIT'));
    w.record(req('CDG', 2, 200, 'MISS'));
    w.record(req('CDG', 2, 200, 'STALE'));
    w.record(req('CDG', 2, 200, 'DYNAMIC'));
    assert.equal(w.read().LHR.requests, 0, 'the current second is not counted yet');
    await nextSecond();
    const f = w.read();
    assert.equal(f.LHR.requests, 101);
    assert.equal(f.LHR.errors, 1);
    assert.equal(f.LHR.hitRatio, null, 'no lookups');
    assert.ok(Math.abs((f.LHR.p50 ?? 0) - 50) <= 1, `p50 ${f.LHR.p50}`);
    assert.ok((f.LHR.p99 ?? 0) >= 99, `p99 ${f.LHR.p99}`);
    assert.ok(Math.abs(f.LHR.rps - 10.1) < 1e-9);
    assert.equal(f.CDG.hitRatio, 2 / 3, 'HIT and STALE of three lookups; DYNAMIC did not look');
  });

  it('keeps a bounded sample per second whose percentiles stay close', async () => {
    const w = new PopWindow(10, 64);
    w.read();
    for (let i = 0; i < 10_000; i++) w.record(req('SIN', (i % 100) + 1));
    await nextSecond();
    const f = w.read().SIN;
    assert.equal(f.requests, 10_000);
    assert.ok(f.p50 !== null && f.p50 > 30 && f.p50 < 70, `p50 ${f.p50} from 64 samples`);
  });
});
