import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARRIVAL_WINDOW_MS, PoolDemand } from './pool-demand.ts';

describe('PoolDemand', () => {
  it('keeps the base size until cold starts come faster than it', () => {
    const d = new PoolDemand(4, 64, 60_000);
    assert.equal(d.target(0), 4);
    // One a second: never more than one within the window.
    for (let t = 0; t < 10_000; t += ARRIVAL_WINDOW_MS) d.arrived(t);
    assert.equal(d.target(10_000), 4);
  });

  it('keeps as many as the largest burst within one second, up to max', () => {
    const d = new PoolDemand(4, 64, 60_000);
    for (let i = 0; i < 30; i++) d.arrived(1000 + i * 10);
    assert.equal(d.target(1300), 30);
    // A burst spread over more than the window counts what fell within one window.
    const spread = new PoolDemand(4, 64, 60_000);
    for (let i = 0; i < 40; i++) spread.arrived(i * 50);
    assert.equal(spread.target(2000), 20);
    const capped = new PoolDemand(4, 64, 60_000);
    for (let i = 0; i < 500; i++) capped.arrived(i);
    assert.equal(capped.target(500), 64);
  });

  it('halves the burst size for each hold that passes without one as large, down to the base', () => {
    const d = new PoolDemand(4, 64, 1000);
    for (let i = 0; i < 64; i++) d.arrived(i);
    assert.equal(d.target(100), 64);
    assert.equal(d.target(63 + 999), 64, 'held for holdMs');
    assert.equal(d.target(63 + 1000), 32);
    assert.equal(d.target(63 + 2000), 16);
    assert.equal(d.target(63 + 4000), 4, 'never below the base');
    assert.equal(d.target(63 + 1e9), 4);
  });

  it('renews the peak when the rate holds, and a smaller burst does not lower it', () => {
    const d = new PoolDemand(2, 64, 1000);
    // 20 a second, for five seconds: each second's count reaches the peak again.
    for (let t = 0; t < 5000; t += 50) d.arrived(t);
    assert.equal(d.target(5000), 20);
    assert.equal(d.target(5900), 20, 'renewed at the last arrival, not aged from the first');
    // A burst of 5 after the peak halved once (to 10) leaves it at 10.
    for (let i = 0; i < 5; i++) d.arrived(6500 + i);
    assert.equal(d.target(6510), 10);
  });

  it('refuses a hold that is not a positive time', () => {
    assert.throws(() => new PoolDemand(4, 64, 0), /holdMs must be more than 0, received 0/);
    assert.throws(() => new PoolDemand(4, 64, Number.NaN), /holdMs must be more than 0/);
  });

  it('never goes below the base, even with max below it', () => {
    const d = new PoolDemand(8, 2, 1000);
    assert.equal(d.max, 8);
    for (let i = 0; i < 100; i++) d.arrived(i);
    assert.equal(d.target(100), 8);
    const none = new PoolDemand(0, 0, 1000);
    for (let i = 0; i < 100; i++) none.arrived(i);
    assert.equal(none.target(100), 0, 'no pool at all stays so');
  });
});
