import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronScheduler, type SchedulerClock } from './scheduler.ts';

function setup(start: string) {
  let now = Date.parse(start);
  let timer: { fn: () => void; at: number } | null = null;
  const runs: string[] = [];
  const clock: SchedulerClock = {
    now: () => now,
    setTimeout: (fn, ms) => (timer = { fn, at: now + ms }),
    clearTimeout: (h) => {
      if (timer === h) timer = null;
    },
  };
  const s = new CronScheduler({
    clock,
    run: async (worker, cron, t) => void runs.push(`${worker} ${cron} ${new Date(t).toISOString()}`),
  });
  return {
    s,
    runs,
    timerAt: () => (timer ? new Date(timer.at).toISOString() : null),
    /** Run the timer at `when` (default: when it asked). */
    wake: async (when?: string) => {
      const t = timer as { fn: () => void; at: number };
      timer = null;
      now = when ? Date.parse(when) : t.at;
      t.fn();
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('CronScheduler', () => {
  it('sleeps until the earliest job and fires each due job once, at its due time', async () => {
    const t = setup('2026-03-01T10:00:30Z');
    t.s.set('a', ['*/15 * * * *'], 'triggers.crons');
    t.s.set('b', ['1 10 * * *'], 'triggers.crons');
    t.s.start();
    assert.equal(t.timerAt(), '2026-03-01T10:01:00.000Z');
    await t.wake();
    assert.deepEqual(t.runs, ['b 1 10 * * * 2026-03-01T10:01:00.000Z']);
    assert.equal(t.timerAt(), '2026-03-01T10:15:00.000Z');
    // The timer is late by 20 s: the firing is late, once, with its own due time.
    await t.wake('2026-03-01T10:15:20Z');
    assert.deepEqual(t.runs.at(-1), 'a */15 * * * * 2026-03-01T10:15:00.000Z');
    assert.equal(t.runs.length, 2);
  });

  it('minutes slept through (a suspended process) are not replayed', async () => {
    const t = setup('2026-03-01T10:00:30Z');
    t.s.set('a', ['* * * * *'], 'triggers.crons');
    t.s.start();
    await t.wake('2026-03-01T13:00:10Z');
    // Only the minute that came due last (13:00) runs, not the three hours before it.
    assert.deepEqual(t.runs, ['a * * * * * 2026-03-01T13:00:00.000Z']);
    assert.equal(t.timerAt(), '2026-03-01T13:01:00.000Z');
  });

  it('a bad cron names where it came from and changes nothing; one that never fires is kept, never due', () => {
    const t = setup('2026-03-01T10:00:30Z');
    t.s.set('a', ['0 * * * *'], 'triggers.crons');
    assert.throws(
      () => t.s.set('a', ['0 * * * *', '* * *'], 'wrangler.toml: triggers.crons'),
      /^CronError: wrangler\.toml: triggers\.crons\[1\]: cron "\* \* \*"/,
    );
    assert.deepEqual(
      t.s.list().map((j) => j.cron),
      ['0 * * * *'],
    );
    t.s.set('b', ['0 0 30 2 *'], 'triggers.crons');
    assert.deepEqual(t.s.list()[1], { worker: 'b', cron: '0 0 30 2 *', next: 'never' });
    t.s.start();
    assert.equal(t.timerAt(), '2026-03-01T11:00:00.000Z');
  });

  it('close() stops the timer and waits for firings in flight', async () => {
    let release: () => void = () => {};
    let done = false;
    let timer: unknown = null;
    const s = new CronScheduler({
      clock: {
        now: () => Date.parse('2026-03-01T10:00:00Z'),
        setTimeout: (fn) => (timer = fn),
        clearTimeout: () => (timer = null),
      },
      run: () => new Promise<void>((r) => (release = r)).then(() => void (done = true)),
    });
    s.set('a', ['* * * * *'], 'x');
    s.start();
    assert.ok(timer);
    void s.fire(Date.parse('2026-03-01T10:01:00Z'));
    const closed = s.close();
    assert.equal(timer, null);
    release();
    await closed;
    assert.equal(done, true);
  });
});
