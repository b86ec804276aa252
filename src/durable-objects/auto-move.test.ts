import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallOrigins } from './auto-move.ts';

describe('automatic moves: where calls come from', () => {
  const origins = (calls: number, clock = { t: 0 }) =>
    new CallOrigins({ calls, share: 0.8, windowMs: 1000 }, () => clock.t);

  it('moves toward the PoP that sent the share of a window of calls, once', () => {
    const o = origins(10);
    for (let i = 0; i < 8; i++) assert.equal(o.record('a', 'AMS', 'FRA'), null);
    assert.equal(o.record('a', 'FRA', 'FRA'), null);
    assert.equal(o.record('a', 'AMS', 'FRA'), 'AMS', '9 of 10 from AMS');
    // Counting starts over: the next call decides nothing.
    assert.equal(o.record('a', 'AMS', 'FRA'), null);
    assert.equal(o.size, 1);
  });

  it('stays when calls are split, or mostly local', () => {
    const split = origins(10);
    let out: string | null = null;
    for (let i = 0; i < 10; i++) out = split.record('a', i % 2 ? 'AMS' : 'LHR', 'FRA');
    assert.equal(out, null, 'half from AMS, half from LHR');
    const local = origins(10);
    for (let i = 0; i < 10; i++) out = local.record('a', i < 7 ? 'AMS' : 'FRA', 'FRA');
    assert.equal(out, null, '7 of 10 from AMS is under the share');
  });

  it('a window that ended counts nothing toward the next', () => {
    const clock = { t: 0 };
    const o = origins(10, clock);
    for (let i = 0; i < 9; i++) o.record('a', 'AMS', 'FRA');
    clock.t = 1500;
    assert.equal(o.record('a', 'AMS', 'FRA'), null, 'a new window of one call');
    for (let i = 0; i < 8; i++) o.record('a', 'AMS', 'FRA');
    assert.equal(o.record('a', 'AMS', 'FRA'), 'AMS');
  });

  it('objects are counted apart and forgotten when they leave', () => {
    const o = origins(2);
    o.record('a', 'AMS', 'FRA');
    assert.equal(o.record('b', 'LHR', 'FRA'), null);
    assert.equal(o.record('b', 'LHR', 'FRA'), 'LHR');
    o.forget('a');
    assert.equal(o.size, 0);
  });

  it('refuses settings that cannot work', () => {
    assert.throws(
      () => new CallOrigins({ calls: 0, share: 0.8, windowMs: 1 }),
      /calls must be a positive integer/,
    );
    assert.throws(() => new CallOrigins({ calls: 5, share: 0.5, windowMs: 1 }), /share must be above 0.5/);
    assert.throws(() => new CallOrigins({ calls: 5, share: 0.9, windowMs: 0 }), /windowMs must be positive/);
  });
});
