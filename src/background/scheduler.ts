/**
 * Cron Triggers (https://developers.cloudflare.com/workers/configuration/cron-triggers/): each
 * worker's `triggers.crons`, run as `scheduled(controller, env, ctx)` at every minute they name,
 * UTC. One scheduler per network: a schedule fires once for the whole network, not once per
 * PoP (Cloudflare runs a trigger in one location). It sleeps until the earliest next firing
 * of any job; a firing that comes due while the process was busy runs late, never twice, and a
 * minute the process slept through entirely (suspended laptop) is not replayed.
 *
 * The clock is injectable so tests and the jitter benchmark can drive it; `fire(at)` runs every
 * job due at that minute, as the timer does.
 */
import { CronError, type CronSchedule, parseCron } from './cron/index.ts';

export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SchedulerOptions {
  /** Runs one firing: the worker's `scheduled()` with this cron and scheduled time. */
  run(worker: string, cron: string, scheduledTime: number): Promise<void>;
  /** A firing that failed (the handler threw, a limit): logged by the caller. */
  onError?(worker: string, cron: string, err: Error): void;
  clock?: SchedulerClock;
  /** Longest sleep between looks at the clock, ms (default one hour). */
  maxSleepMs?: number;
}

interface Job {
  worker: string;
  cron: string;
  schedule: CronSchedule;
  next: number;
}

const REAL_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class CronScheduler {
  readonly #jobs = new Map<string, Job[]>();
  readonly #options: SchedulerOptions;
  readonly #clock: SchedulerClock;
  #timer: unknown = null;
  #running = false;
  /** Firings started and not yet settled (close() waits for them). */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? REAL_CLOCK;
  }

  /**
   * A worker's crons, replacing what it had. Every expression is checked first: a bad one
   * throws a CronError naming `where` (the config key) and changes nothing.
   */
  set(worker: string, crons: readonly string[], where: string): void {
    const now = this.#clock.now();
    const jobs = crons.map((cron, i) => {
      let schedule: CronSchedule;
      try {
        schedule = parseCron(cron);
      } catch (err) {
        if (err instanceof CronError) throw new CronError(`${where}[${i}]: ${err.message}`);
        throw err as Error;
      }
      // Cloudflare accepts a cron that can never fire (`0 0 30 2 *`): it is kept, and never due.
      const next = schedule.firesEver ? schedule.next(new Date(now)).getTime() : Number.POSITIVE_INFINITY;
      return { worker, cron, schedule, next };
    });
    if (jobs.length) this.#jobs.set(worker, jobs);
    else this.#jobs.delete(worker);
    if (this.#running) this.#arm();
  }

  /** Every job, with its next firing (for the admin view and logs). */
  list(): { worker: string; cron: string; next: string }[] {
    return [...this.#jobs.values()].flat().map((j) => ({
      worker: j.worker,
      cron: j.cron,
      next: Number.isFinite(j.next) ? new Date(j.next).toISOString() : 'never',
    }));
  }

  start(): void {
    this.#running = true;
    this.#arm();
  }

  /** Stop firing; resolves when the firings already started have settled. */
  async close(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Run every job due at or before `at` (each once, at the time it was due) and move it to its
   * next firing after `at`. Resolves with how many firings started, once they have settled.
   */
  async fire(at: number): Promise<number> {
    const started: Promise<void>[] = [];
    for (const jobs of this.#jobs.values())
      for (const j of jobs) {
        if (j.next > at) continue;
        started.push(this.#run(j, j.next));
        j.next = this.#after(j, at);
      }
    await Promise.allSettled(started);
    return started.length;
  }

  /** The job's first firing after `at`; never, when none is left (the search has a horizon). */
  #after(j: Job, at: number): number {
    try {
      return j.schedule.next(new Date(at)).getTime();
    } catch (err) {
      if (err instanceof CronError) return Number.POSITIVE_INFINITY;
      throw err;
    }
  }

  #run(j: Job, scheduledTime: number): Promise<void> {
    const p = this.#options
      .run(j.worker, j.cron, scheduledTime)
      .catch((err) => this.#options.onError?.(j.worker, j.cron, err as Error))
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
    return p;
  }

  #arm(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    let earliest = Number.POSITIVE_INFINITY;
    for (const jobs of this.#jobs.values()) for (const j of jobs) earliest = Math.min(earliest, j.next);
    if (!this.#running || earliest === Number.POSITIVE_INFINITY) return;
    const now = this.#clock.now();
    const wait = Math.max(0, Math.min(earliest - now, this.#options.maxSleepMs ?? 3_600_000));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      const at = this.#clock.now();
      // Minutes slept through (the process was suspended) are skipped, not replayed.
      for (const jobs of this.#jobs.values())
        for (const j of jobs) if (j.next < at - 60_000) j.next = this.#after(j, at - 60_000);
      void this.fire(at);
      this.#arm();
    }, wait);
  }
}
