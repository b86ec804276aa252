/**
 * A Workflow run in the isolate: `new Class(ctx, env).run(event, step)` with the `step` object
 * of workers-types' WorkflowStep. Every step asks the engine first (one binding call,
 * src/background/workflows/engine.ts says what it answers): a completed step's output comes
 * back without running again, a failed one's error is thrown again, a step that is not due
 * parks (its promise never settles). Once something is parked and no callback is running, the
 * run ends as "suspended" and the engine runs it again from the top when something is due —
 * `run()` replays its completed steps from the engine's record.
 *
 * Steps are named as Cloudflare names them: `name` plus a count of the calls with that name in
 * this run (a loop calling step.do("x") makes x#1, x#2, …), so a run must call its steps in the
 * same order each time, as on Workers.
 */
import {
  type StepConfigData,
  stepBackoffMs,
  type WorkflowRunArgs,
  type WorkflowRunOutcome,
  type WorkflowStepCall,
  type WorkflowStepReply,
} from '../../bindings/protocol.ts';
import { raceInFrame } from '../async.ts';
import { callBinding } from '../bridge.ts';
import { resolvedIntrinsic, thenInFrame } from '../context.ts';
import { clearTimeout, setTimeout } from '../timers.ts';
import { durationMs, MAX_DURATION_MS } from './durations.ts';
import { NonRetryableError, stepError } from './errors.ts';

/** Cloudflare's defaults for a step (workers-sdk's workflows-shared). */
const DEFAULTS = { limit: 5, delay: 1000, backoff: 'exponential', timeout: '10 minutes' } as const;
const MAX_STEP_NAME = 256;
const BACKOFFS = new Set(['constant', 'linear', 'exponential']);
const CONFIG_KEYS = new Set(['retries', 'timeout', 'sensitive']);
/** waitForEvent's default timeout. */
const WAIT_DEFAULT = '24 hours';

type Callback = (ctx: object) => unknown;
type DelayFn = (input: { ctx: object; error: Error }) => unknown;

function stepName(name: unknown, what: string): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_STEP_NAME ||
    /[\x00-\x1f]/.test(name)
  )
    throw new TypeError(
      `${what}: a step name is a string of 1 to ${MAX_STEP_NAME} characters without control characters`,
    );
  return name;
}

interface ResolvedConfig {
  data: StepConfigData;
  delay: DelayFn | null;
  /** As the callback's ctx.config shows it. */
  shown: object;
}

function resolveConfig(name: string, raw: unknown): ResolvedConfig {
  const c = (raw ?? {}) as { retries?: Record<string, unknown>; timeout?: unknown };
  if (typeof c !== 'object' || Array.isArray(c) || Object.keys(c).some((k) => !CONFIG_KEYS.has(k)))
    throw new TypeError(`step.do("${name}"): the config may have retries, timeout and sensitive`);
  const r = c.retries ?? {};
  if (typeof r !== 'object' || Object.keys(r).some((k) => k !== 'limit' && k !== 'delay' && k !== 'backoff'))
    throw new TypeError(`step.do("${name}"): retries is { limit, delay, backoff? }`);
  const limit = r.limit ?? DEFAULTS.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 10_000)
    throw new TypeError(`step.do("${name}"): retries.limit must be a whole number from 0 to 10000`);
  const backoff = r.backoff ?? DEFAULTS.backoff;
  if (typeof backoff !== 'string' || !BACKOFFS.has(backoff))
    throw new TypeError(`step.do("${name}"): retries.backoff must be "constant", "linear" or "exponential"`);
  const delayRaw = r.delay ?? DEFAULTS.delay;
  const delay = typeof delayRaw === 'function' ? (delayRaw as DelayFn) : null;
  const delayMs = delay ? 0 : durationMs(delayRaw, `step.do("${name}"): retries.delay`);
  const timeoutMs = durationMs(c.timeout ?? DEFAULTS.timeout, `step.do("${name}"): timeout`);
  if (timeoutMs <= 0) throw new TypeError(`step.do("${name}"): timeout must be more than 0`);
  return {
    data: { limit, delayMs, backoff: backoff as StepConfigData['backoff'], timeoutMs },
    delay,
    shown: {
      retries: { limit, backoff, ...(delay ? {} : { delay: delayRaw }) },
      timeout: c.timeout ?? DEFAULTS.timeout,
    },
  };
}

class WorkflowTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkflowTimeoutError';
  }
}

/**
 * Step timeouts of one run with one timer: armed for the earliest deadline of the callbacks
 * running, and re-armed only when an earlier one starts (each timer is a host call, and most
 * steps end long before their timeout). A timeout rejects the step; its callback cannot be
 * stopped, and what it returns later goes nowhere.
 */
class Deadlines {
  readonly #pending = new Map<number, { at: number; fail: () => void }>();
  #timer: number | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #next = 0;

  race<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, {
        at: Date.now() + ms,
        fail: () => reject(new WorkflowTimeoutError(`step.do("${name}") timed out after ${ms} ms`)),
      });
      this.#arm();
      thenInFrame(
        p,
        (v) => {
          this.#pending.delete(id);
          resolve(v);
        },
        (e) => {
          this.#pending.delete(id);
          reject(e);
        },
      );
    });
  }

  #arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const d of this.#pending.values()) earliest = Math.min(earliest, d.at);
    if (earliest === Number.POSITIVE_INFINITY || (this.#timer !== null && this.#timerAt <= earliest)) return;
    this.stop();
    this.#timerAt = earliest;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, earliest - Date.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const [id, d] of this.#pending)
      if (d.at <= now) {
        this.#pending.delete(id);
        d.fail();
      }
    this.#arm();
  }

  /** The run is over: no timer outlives it. */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}

const toError = (e: unknown) => ({
  name: typeof (e as Error)?.name === 'string' ? (e as Error).name : 'Error',
  message: typeof (e as Error)?.message === 'string' ? (e as Error).message : String(e),
});

export async function runWorkflow(
  exported: Record<string, any>,
  env: object,
  ctx: object,
  args: WorkflowRunArgs,
): Promise<WorkflowRunOutcome> {
  const cls = exported[args.className];
  if (typeof cls !== 'function' || typeof cls.prototype?.run !== 'function')
    return {
      kind: 'errored',
      error: {
        name: 'TypeError',
        message: `The Workflow class "${args.className}" is not exported by this worker, or has no run() method (its exports: ${Object.keys(exported).join(', ') || 'none'}).`,
      },
    };
  /** Set once the run has ended (returned, threw or suspended): what it still does goes nowhere. */
  let over = false;
  const deadlines = new Deadlines();
  const call = (c: WorkflowStepCall): Promise<WorkflowStepReply> =>
    over ? new Promise(() => {}) : callBinding('workflow', args.binding, 'step', args.token, c);
  const counts = new Map<string, number>();
  let steps = 0;
  /** Step calls and callbacks in flight; steps parked. */
  let busy = 0;
  let parked = 0;
  let suspend = () => {};
  const suspended = new Promise<WorkflowRunOutcome>((resolve) => {
    suspend = () => {
      over = true;
      deadlines.stop();
      resolve({ kind: 'suspended' });
    };
  });
  const check = () => {
    if (parked > 0 && busy === 0) suspend();
  };
  /** A promise that never settles: this step is not due in this run (no longer busy). */
  const park = <T>(): Promise<T> => {
    busy--;
    parked++;
    check();
    return new Promise<T>(() => {});
  };
  const next = (kind: string, name: string) => {
    if (++steps > args.steps)
      throw new Error(`This instance took more than ${args.steps} steps (the Workflow's limits.steps)`);
    const n = (counts.get(`${kind}:${name}`) ?? 0) + 1;
    counts.set(`${kind}:${name}`, n);
    return n;
  };
  /** Around every step: counted busy while it talks to the engine or runs a callback (until it parks). */
  const tracked = async <T>(f: () => Promise<T>): Promise<T> => {
    busy++;
    try {
      return await f();
    } finally {
      busy--;
      check();
    }
  };

  const doStep = (nameArg: unknown, a: unknown, b?: unknown): Promise<unknown> =>
    tracked(async () => {
      const name = stepName(nameArg, 'step.do');
      const callback = (typeof a === 'function' ? a : b) as Callback;
      if (typeof callback !== 'function')
        throw new TypeError(`step.do("${name}"): the last argument must be a function`);
      const config = resolveConfig(name, typeof a === 'function' ? undefined : a);
      const count = next('do', name);
      let reply = await call({ op: 'begin', name, count, config: config.data });
      for (;;) {
        if (reply.kind === 'output') return reply.value;
        if (reply.kind === 'error') throw stepError(reply.error);
        if (reply.kind !== 'run') return park();
        const attempt = reply.attempt;
        /** This attempt failed: the engine says what comes next. */
        const failed = (error: { name: string; message: string }, final: boolean, delayMs: number) =>
          call({ op: 'end', name, count, attempt, ok: false, error, final, delayMs });
        const stepCtx = Object.freeze({
          step: Object.freeze({ name, count }),
          attempt,
          config: config.shown,
        });
        let value: unknown;
        try {
          value = await deadlines.race(
            thenInFrame(resolvedIntrinsic(), () => callback(stepCtx)),
            config.data.timeoutMs,
            name,
          );
        } catch (err) {
          const final = err instanceof NonRetryableError || (err as Error)?.name === 'NonRetryableError';
          let delayMs = stepBackoffMs(config.data, attempt);
          if (config.delay && !final && attempt <= config.data.limit) {
            try {
              delayMs = durationMs(
                await config.delay({ ctx: stepCtx, error: err as Error }),
                `step.do("${name}"): retries.delay()`,
              );
            } catch (e) {
              reply = await failed(toError(e), true, 0);
              continue;
            }
          }
          reply = await failed(toError(err), final, delayMs);
          continue;
        }
        let stored: WorkflowStepReply;
        try {
          stored = await call({ op: 'end', name, count, attempt, ok: true, value });
        } catch (err) {
          // The value does not cross (a function, a class instance with private state…).
          const error = {
            name: 'WorkflowFatalError',
            message: `The value returned by step "${name}" cannot be serialized: ${toError(err).message}`,
          };
          reply = await failed(error, true, 0);
          continue;
        }
        if (stored.kind === 'ok') return value;
        reply = stored;
      }
    });

  const sleepUntil = (nameArg: unknown, until: number): Promise<void> =>
    tracked(async () => {
      const name = stepName(nameArg, 'step.sleep');
      const count = next('sleep', name);
      const reply = await call({ op: 'sleep', name, count, until });
      if (reply.kind === 'done') return;
      return park();
    });

  /**
   * `fn()` a microtask later, its throw a rejection. An async function, not a reaction: a
   * reaction returning sleepUntil's promise would have V8 read that promise's `then`, which
   * tenant code may have replaced (async.ts chains it through the intrinsic one).
   */
  const later = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    await undefined;
    return fn();
  };
  const step = Object.freeze({
    do: doStep,
    sleep: (name: unknown, duration: unknown) =>
      later(() => sleepUntil(name, Date.now() + durationMs(duration, 'step.sleep: the duration'))),
    sleepUntil: (name: unknown, when: unknown) =>
      later(() => {
        const t = when instanceof Date ? when.getTime() : when;
        if (typeof t !== 'number' || !Number.isFinite(t))
          throw new TypeError('step.sleepUntil: the time must be a Date or milliseconds since the epoch');
        if (t - Date.now() > MAX_DURATION_MS)
          throw new RangeError('step.sleepUntil: the time must be at most 365 days from now');
        return sleepUntil(name, t);
      }),
    waitForEvent: (nameArg: unknown, options: unknown) =>
      tracked(async () => {
        const name = stepName(nameArg, 'step.waitForEvent');
        const o = (options ?? {}) as { type?: unknown; timeout?: unknown };
        if (typeof o.type !== 'string')
          throw new TypeError(`step.waitForEvent("${name}"): options.type must be a string`);
        const timeoutMs = durationMs(
          o.timeout ?? WAIT_DEFAULT,
          `step.waitForEvent("${name}"): options.timeout`,
        );
        const count = next('wait', name);
        const reply = await call({ op: 'wait', name, count, type: o.type, timeoutMs });
        if (reply.kind === 'event')
          return Object.freeze({
            payload: reply.event.payload,
            timestamp: new Date(reply.event.timestamp),
            type: reply.event.type,
          });
        if (reply.kind === 'error') throw stepError(reply.error);
        return park();
      }),
  });
  const event = Object.freeze({
    payload: args.payload,
    timestamp: new Date(args.timestamp),
    instanceId: args.instanceId,
    workflowName: args.workflowName,
  });
  const ran = (async (): Promise<WorkflowRunOutcome> => {
    try {
      // The class's constructor is tenant code too: what it throws errors the instance.
      const instance = new cls(ctx, env);
      return { kind: 'complete', value: await instance.run(event, step) };
    } catch (err) {
      return { kind: 'errored', error: toError(err) };
    } finally {
      over = true;
      deadlines.stop();
    }
  })();
  return raceInFrame([ran, suspended]);
}
