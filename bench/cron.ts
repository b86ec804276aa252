/**
 * Cron firing jitter (issue: "cron firing jitter over 100 ticks"): how late after its due time a
 * cron's scheduled() starts and finishes, through the real scheduler and runtime, against a bare
 * Node timer chain with the same period measured in the same run (the floor any timer-driven
 * scheduler has). Time is scaled so a minute lasts `tickMs` (100 ticks of `* * * * *` in ~10 s):
 * the scheduler computes real cron minutes on a clock that runs fast, and every delay it waits is
 * a real timer; lateness is reported in real milliseconds.
 */
import { join } from 'node:path';
import { CronScheduler, type SchedulerClock } from '../src/background/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { fmt, median, percentile } from './util.ts';

export async function cronBench(opts: { ticks: number; tickMs: number }) {
  const scale = 60_000 / opts.tickMs;
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'cron'), { warn: () => {} });
  const runtime = new Runtime({ observer: noopObserver, poolSize: 1 });
  runtime.deploy('cron', await bundleWorker(config, { root: join(import.meta.dirname, '..') }), config);
  await runtime.warm('cron');

  // Baseline: a bare timer chain aimed at the same instants.
  const bare: number[] = [];
  const origin = performance.now();
  await new Promise<void>((done) => {
    let n = 0;
    const next = () => {
      const due = origin + (n + 1) * opts.tickMs;
      setTimeout(() => {
        bare.push(performance.now() - due);
        if (++n < opts.ticks) next();
        else done();
      }, due - performance.now());
    };
    next();
  });

  // The scheduler on a fast clock (a minute in tickMs), starting just after a minute boundary.
  const realStart = performance.now();
  const fakeStart = Math.ceil(Date.now() / 60_000) * 60_000 + 1_000;
  const clock: SchedulerClock = {
    now: () => fakeStart + (performance.now() - realStart) * scale,
    setTimeout: (fn, ms) => setTimeout(fn, ms / scale),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  };
  const start: number[] = [];
  const end: number[] = [];
  let fired = 0;
  await new Promise<void>((done) => {
    const scheduler = new CronScheduler({
      clock,
      run: async (worker, cron, scheduledTime) => {
        start.push((clock.now() - scheduledTime) / scale);
        await runtime.event(worker, 'scheduled', [{ scheduledTime, cron }]);
        end.push((clock.now() - scheduledTime) / scale);
        if (++fired === opts.ticks) {
          void scheduler.close();
          done();
        }
      },
    });
    scheduler.set('cron', config.crons, 'triggers.crons');
    scheduler.start();
  });
  await runtime.close();
  const row = (label: string, xs: number[]) =>
    `| ${label} | ${fmt(median(xs), 2)} | ${fmt(percentile(xs, 99), 2)} | ${fmt(Math.max(...xs), 2)} |`;
  return {
    table: [
      `Cron firing jitter — ${opts.ticks} ticks of "* * * * *", a minute lasting ${opts.tickMs} ms; lateness after the due time, real ms`,
      '| | p50 | p99 | max |',
      '|---|---|---|---|',
      row('bare Node timer chain (baseline)', bare),
      row('scheduler: scheduled() starts', start),
      row('scheduler: scheduled() done', end),
    ],
    ratios: { cronStartP50Ms: median(start), cronDoneP99Ms: percentile(end, 99) },
  };
}
