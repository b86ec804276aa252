import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './limiter.ts';
import type { RateLimitRule } from './types.ts';

/** A limiter on a clock the test sets. */
function clocked(start: number, random?: () => number) {
  const clock = { t: start };
  const rl = new RateLimiter({ now: () => clock.t, ...(random ? { random } : {}) });
  return { clock, rl };
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sliding = (limit: number, periodSec: number, shards = 1): RateLimitRule => ({
  mode: 'sliding',
  limit,
  periodSec,
  shards,
});
const fixed = (limit: number, periodSec: number, shards = 1): RateLimitRule => ({
  mode: 'fixed',
  limit,
  periodSec,
  shards,
});

/** Hits at the current time, all in one millisecond: how many were allowed. */
function burst(rl: RateLimiter, n: number, rule: RateLimitRule, key = 'k', pop?: string): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (rl.hit('ns', key, rule, pop).allowed) ok++;
  return ok;
}

describe('sliding window', () => {
  it('is exact at the window edges: t, t + period - 1 ms, t + period, many hits per ms', () => {
    const t = 1_000_003_217;
    const { clock, rl } = clocked(t);
    const rule = sliding(100, 10);
    assert.equal(burst(rl, 1000, rule), 100, 'a burst in one ms allows exactly the limit');
    clock.t = t + 9_999;
    const edge = rl.hit('ns', 'k', rule);
    assert.equal(edge.allowed, false, 'one ms before the period ends, the first hits still count');
    assert.equal(edge.retryAfterSec, 1);
    assert.equal(burst(rl, 50, rule), 0);
    clock.t = t + 10_000;
    assert.equal(burst(rl, 1000, rule), 100, 'at t + period the hits of t have left the window');
    clock.t = t + 19_999;
    assert.equal(burst(rl, 10, rule), 0);
  });

  it('frees capacity hit by hit as the oldest leave, not all at once', () => {
    const t = 5_000_000;
    const { clock, rl } = clocked(t);
    const rule = sliding(3, 10);
    for (let i = 0; i < 3; i++) {
      clock.t = t + i * 1000;
      assert.equal(rl.hit('ns', 'k', rule).allowed, true);
    }
    clock.t = t + 5000;
    const refused = rl.hit('ns', 'k', rule);
    assert.deepEqual(refused, { allowed: false, limit: 3, remaining: 0, resetSec: 5, retryAfterSec: 5 });
    clock.t = t + 10_000; // the hit of t leaves; those of t+1s and t+2s stay
    assert.deepEqual(rl.hit('ns', 'k', rule), {
      allowed: true,
      limit: 3,
      remaining: 0,
      resetSec: 1,
      retryAfterSec: 0,
    });
    assert.equal(rl.hit('ns', 'k', rule).allowed, false);
    clock.t = t + 11_000;
    assert.equal(rl.hit('ns', 'k', rule).allowed, true);
  });

  it('decides as the definition does, and no span of one period holds more than the limit', () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = prng(seed);
      const t0 = 1_700_000_000_000 + Math.floor(random() * 1e6);
      const { clock, rl } = clocked(t0);
      const limit = 1 + Math.floor(random() * 20);
      const periodMs = 1000 * (1 + Math.floor(random() * 3));
      const rule = sliding(limit, periodMs / 1000);
      const allowed: number[] = [];
      for (let i = 0; i < 3000; i++) {
        // Bursts in one ms, short gaps and long ones: the window's edges are crossed often.
        const r = random();
        clock.t += r < 0.5 ? 0 : r < 0.9 ? Math.floor(random() * 50) : Math.floor(random() * periodMs);
        const inWindow = allowed.filter((a) => a > clock.t - periodMs).length;
        const d = rl.hit('ns', 'k', rule);
        assert.equal(d.allowed, inWindow < limit, `seed ${seed}, hit ${i}`);
        if (d.allowed) allowed.push(clock.t);
      }
      for (const a of allowed) {
        const n = allowed.filter((b) => b > a - periodMs && b <= a).length;
        assert.ok(n <= limit, `seed ${seed}: ${n} hits in (${a - periodMs}, ${a}]`);
      }
    }
  });

  it('tells when to retry: a retry after Retry-After seconds is allowed', () => {
    const t = 2_000_000_500;
    const { clock, rl } = clocked(t);
    const rule = sliding(2, 60);
    rl.hit('ns', 'k', rule);
    clock.t = t + 30_250;
    rl.hit('ns', 'k', rule);
    const d = rl.hit('ns', 'k', rule);
    assert.equal(d.allowed, false);
    assert.equal(d.retryAfterSec, 30); // the first hit leaves at t + 60 s, 29.75 s from now
    clock.t = t + 59_999;
    assert.equal(rl.hit('ns', 'k', rule).allowed, false);
    clock.t = t + 30_250 + d.retryAfterSec * 1000;
    assert.equal(rl.hit('ns', 'k', rule).allowed, true);
  });

  it('reads a clock that steps back as standing still: no hit is counted twice', () => {
    const t = 9_000_000;
    const { clock, rl } = clocked(t);
    const rule = sliding(5, 10);
    assert.equal(burst(rl, 5, rule), 5);
    clock.t = t - 30_000;
    assert.equal(burst(rl, 5, rule), 0);
    clock.t = t + 10_000;
    assert.equal(burst(rl, 9, rule), 5);
  });
});

describe('fixed window', () => {
  it('uses windows aligned to multiples of the period, exact at their edges', () => {
    const start = 1_700_000_000_000 - (1_700_000_000_000 % 60_000); // a multiple of 60 s
    const { clock, rl } = clocked(start - 1);
    const rule = fixed(10, 60);
    assert.equal(burst(rl, 50, rule), 10, 'the window before');
    clock.t = start;
    assert.equal(burst(rl, 50, rule), 10, 'a new window opens at the multiple of the period');
    clock.t = start + 59_999;
    const last = rl.hit('ns', 'k', rule);
    assert.deepEqual(last, { allowed: false, limit: 10, remaining: 0, resetSec: 1, retryAfterSec: 1 });
    clock.t = start + 60_000;
    assert.equal(burst(rl, 50, rule), 10);
  });

  it('reports what is left and when the window ends', () => {
    const start = 600_000;
    const { clock, rl } = clocked(start + 2_500);
    const rule = fixed(3, 10);
    assert.deepEqual(rl.hit('ns', 'k', rule), {
      allowed: true,
      limit: 3,
      remaining: 2,
      resetSec: 8,
      retryAfterSec: 0,
    });
    clock.t = start + 9_001;
    rl.hit('ns', 'k', rule);
    rl.hit('ns', 'k', rule);
    assert.deepEqual(rl.hit('ns', 'k', rule), {
      allowed: false,
      limit: 3,
      remaining: 0,
      resetSec: 1,
      retryAfterSec: 1,
    });
  });

  it('keeps keys and namespaces apart', () => {
    const { rl } = clocked(10_000);
    const rule = fixed(2, 10);
    assert.equal(burst(rl, 5, rule, 'a'), 2);
    assert.equal(burst(rl, 5, rule, 'b'), 2);
    assert.equal(rl.hit('other', 'a', rule).allowed, true);
  });
});

describe('local (per PoP)', () => {
  it('counts each PoP alone: across N PoPs up to N × limit pass', () => {
    const { rl } = clocked(50_000);
    const rule: RateLimitRule = { mode: 'local', limit: 5, periodSec: 10, shards: 1 };
    assert.equal(burst(rl, 20, rule, 'k', 'FRA'), 5);
    assert.equal(burst(rl, 20, rule, 'k', 'AMS'), 5);
    assert.equal(burst(rl, 20, rule, 'k', 'LHR'), 5);
    assert.equal(burst(rl, 20, rule, 'k', 'FRA'), 0);
  });

  it('needs the PoP', () => {
    const { rl } = clocked(50_000);
    const rule: RateLimitRule = { mode: 'local', limit: 5, periodSec: 10, shards: 1 };
    assert.throws(() => rl.hit('ns', 'k', rule), /counts per PoP/);
  });
});

describe('sharding', () => {
  it('never allows more than shards × ceil(limit / shards) < limit + shards per window', () => {
    for (const [limit, shards] of [
      [10, 4],
      [100, 7],
      [64, 64],
      [1000, 3],
    ]) {
      const per = Math.ceil(limit / shards);
      const bound = shards * per;
      assert.ok(bound < limit + shards);
      for (const seed of [1, 2, 3]) {
        for (const rule of [fixed(limit, 10, shards), sliding(limit, 10, shards)]) {
          const { rl } = clocked(100_000, prng(seed));
          const ok = burst(rl, limit * 20, rule);
          assert.ok(ok <= bound, `${rule.mode} ${limit}/${shards}: ${ok} > ${bound}`);
          // Enough hits fill every shard: the bound is reached, not just respected.
          assert.equal(ok, bound, `${rule.mode} ${limit}/${shards} seed ${seed}`);
        }
      }
    }
  });

  it('can refuse a key below its limit while other shards have room', () => {
    // Every hit lands on shard 0 (the worst luck): it refuses after ceil(10/4) = 3.
    const { rl } = clocked(100_000, () => 0);
    const rule = fixed(10, 10, 4);
    assert.equal(burst(rl, 10, rule), 3);
    // With a fair random choice the first refusal also comes before the limit, typically.
    let early = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const { rl: r } = clocked(100_000, prng(seed));
      let n = 0;
      while (r.hit('ns', 'k', rule).allowed) n++;
      if (n < 10) early++;
    }
    assert.ok(early > 25, `${early} of 50 keys were refused before 10 hits`);
  });

  it('reports remaining as the chosen shard’s × shards, capped at the limit', () => {
    const { rl } = clocked(100_000, () => 0.99);
    const rule = fixed(10, 10, 4);
    assert.equal(rl.hit('ns', 'k', rule).remaining, 8); // shard 3: 2 of 3 left
    rl.hit('ns', 'k', rule);
    rl.hit('ns', 'k', rule);
    assert.equal(rl.hit('ns', 'k', rule).remaining, 0);
  });
});

describe('rules and keys', () => {
  it('refuses a rule out of bounds, naming the field', () => {
    const { rl } = clocked(0);
    const bad: [Partial<RateLimitRule>, RegExp][] = [
      [{ limit: 0 }, /rule\.limit/],
      [{ limit: 1_000_001 }, /rule\.limit/],
      [{ limit: 1.5 }, /rule\.limit/],
      [{ periodSec: 86_401 }, /rule\.periodSec/],
      [{ periodSec: 0.5 }, /rule\.periodSec/],
      [{ shards: 65 }, /rule\.shards/],
      [{ shards: 11 }, /must not exceed rule\.limit/],
      [{ mode: 'leaky' as never }, /rule\.mode/],
    ];
    for (const [change, re] of bad)
      assert.throws(() => rl.hit('ns', 'k', { ...sliding(10, 10), ...change }), re);
  });

  it('counts a long key under its digest: two long keys differing at the end stay apart', () => {
    const { rl } = clocked(0);
    const rule = fixed(1, 10);
    const a = `${'x'.repeat(100_000)}a`;
    const b = `${'x'.repeat(100_000)}b`;
    assert.equal(rl.hit('ns', a, rule).allowed, true);
    assert.equal(rl.hit('ns', b, rule).allowed, true);
    assert.equal(rl.hit('ns', a, rule).allowed, false);
  });
});
