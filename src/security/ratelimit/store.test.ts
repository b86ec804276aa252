import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './limiter.ts';
import { MemoryCounterStore } from './store.ts';
import type { RateLimitRule } from './types.ts';

function setup(options: { maxKeys?: number; maxBytes?: number } = {}) {
  const clock = { t: 1_000_000 };
  const store = new MemoryCounterStore(options);
  const rl = new RateLimiter({ now: () => clock.t, store });
  return { clock, store, rl };
}

const fixed: RateLimitRule = { mode: 'fixed', limit: 3, periodSec: 10, shards: 1 };
const sliding = (limit: number): RateLimitRule => ({ mode: 'sliding', limit, periodSec: 10, shards: 1 });

describe('memory bounds', () => {
  it('keeps at most maxKeys counters, the least recently used going first', () => {
    const { store, rl } = setup({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) rl.hit('ns', `k${i}`, fixed);
    assert.equal(store.size, 100);
    // The newest are still counted; the oldest were forgotten.
    for (let i = 0; i < 2; i++) rl.hit('ns', 'k999', fixed);
    assert.equal(rl.hit('ns', 'k999', fixed).allowed, false);
  });

  it('drops idle counters as later hits pass them', () => {
    const { clock, store, rl } = setup();
    for (let i = 0; i < 200; i++) rl.hit('ns', `k${i}`, fixed);
    assert.equal(store.size, 200);
    clock.t += 10_000; // every window is over
    for (let i = 0; i < 60; i++) rl.hit('ns', `fresh${i}`, fixed);
    // Each hit looks at the four least recently used: 200 idle ones are gone in 50 hits.
    assert.equal(store.size, 60);
  });

  it('drops idle counters of a namespace nobody hits any more', () => {
    const { clock, store, rl } = setup();
    for (let i = 0; i < 40; i++) rl.hit('quiet', `k${i}`, fixed);
    clock.t += 10_000;
    for (let i = 0; i < 40; i++) rl.hit('busy', `k${i}`, fixed);
    assert.equal(store.countersOf('quiet'), 0);
  });

  it("evicts from the namespace holding the most: a flood of keys evicts the flooder's own", () => {
    const { store, rl } = setup({ maxKeys: 100 });
    for (let i = 0; i < 10; i++) for (let j = 0; j < 3; j++) rl.hit('victim', `user${i}`, fixed);
    for (let i = 0; i < 10_000; i++) rl.hit('attacker', `junk${i}`, fixed);
    assert.equal(store.countersOf('victim'), 10);
    for (let i = 0; i < 10; i++) assert.equal(rl.hit('victim', `user${i}`, fixed).allowed, false);
  });

  it('bounds a sliding log by the limit: at most about 8 bytes × limit per key', () => {
    const { clock, store, rl } = setup();
    const rule = sliding(1000);
    for (let i = 0; i < 50_000; i++) {
      clock.t += i % 7 === 0 ? 1 : 0;
      rl.hit('ns', 'hot', rule);
    }
    assert.ok(store.bytes <= 200 + 8 * 1024, `${store.bytes} bytes for one key of limit 1000`);
    // Once its hits expire the log shrinks back.
    clock.t += 10_000;
    for (let i = 0; i < 10; i++) rl.hit('ns', 'hot', rule);
    assert.ok(store.bytes < 400, `${store.bytes} bytes after the window emptied`);
  });

  it('keeps at most maxBytes of state, evicting the biggest namespace first', () => {
    const { store, rl } = setup({ maxBytes: 64 * 1024 });
    for (let i = 0; i < 5; i++) rl.hit('small', `k${i}`, fixed);
    for (let k = 0; k < 40; k++) for (let i = 0; i < 1000; i++) rl.hit('big', `key${k}`, sliding(1000));
    assert.ok(store.bytes <= 64 * 1024, `${store.bytes}`);
    assert.equal(store.countersOf('small'), 5);
    assert.ok(store.countersOf('big') < 40);
  });

  it('refuses budgets that are not', () => {
    assert.throws(() => new MemoryCounterStore({ maxKeys: 0 }), /maxKeys/);
    assert.throws(() => new MemoryCounterStore({ maxBytes: 10 }), /maxBytes/);
  });
});
