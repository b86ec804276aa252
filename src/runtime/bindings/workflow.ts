/**
 * Workflows (`[[workflows]]`), host side: `create`, `get`, an instance's `status`, `pause`,
 * `resume`, `terminate`, `restart` and `sendEvent` go to the network's engine
 * (src/background/workflows/engine.ts) under the calling worker's account and the binding's
 * Workflow name; `step` carries a running instance's step calls (the run's token names it).
 * Arguments are untrusted: each is checked here or by the engine. A step call also gives the
 * invocation a fresh CPU and subrequest budget: on Workers each step has its own.
 */
import { NamedError } from '../bridge/named-error.ts';
import {
  type ErrorData,
  MAX_WORKFLOW_WAIT_MS,
  type StepConfigData,
  type WorkflowStepCall,
} from './protocol.ts';
import type { HostBinding } from './types.ts';

const ACTIONS = new Set(['pause', 'resume', 'terminate', 'restart']);
/** createBatch's limit (Cloudflare's). */
const MAX_BATCH = 100;
/** How long one step may run before the wall-clock limit recycles the isolate (its timeout caps at this). */
export const STEP_WALL_MS = 15 * 60_000;

/** The longest sleep, retry delay, step timeout or event timeout (Cloudflare: 365 days). */
const MAX_DURATION_MS = MAX_WORKFLOW_WAIT_MS;
const BACKOFFS = new Set(['constant', 'linear', 'exponential']);

function bad(what: string): never {
  throw new NamedError(`invalid Workflow step call: ${what}`, 'TypeError');
}

const whole = (v: unknown, what: string, min: number, max: number): number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : bad(what);
const ms = (v: unknown, what: string): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_DURATION_MS ? v : bad(what);
const text = (v: unknown, max: number): string =>
  typeof v === 'string' ? v.slice(0, max) : String(v).slice(0, max);

/**
 * A step call as tenant code could send it, checked field by field into a fresh object (the
 * isolate's Workflow code makes well-formed ones; anything else is refused, never stored).
 */
export function checkStepCall(raw: unknown, now: number): WorkflowStepCall {
  if (!raw || typeof raw !== 'object') bad('not an object');
  const c = raw as Record<string, unknown>;
  const name = typeof c.name === 'string' && c.name.length > 0 && c.name.length <= 256 ? c.name : bad('name');
  const count = whole(c.count, 'count', 1, 1_000_000);
  if (c.op === 'begin') {
    const k = (c.config ?? {}) as Record<string, unknown>;
    const config: StepConfigData = {
      limit: whole(k.limit, 'config.limit', 0, 10_000),
      delayMs: ms(k.delayMs, 'config.delayMs'),
      backoff: BACKOFFS.has(k.backoff as string)
        ? (k.backoff as StepConfigData['backoff'])
        : bad('config.backoff'),
      timeoutMs: ms(k.timeoutMs, 'config.timeoutMs'),
    };
    return { op: 'begin', name, count, config };
  }
  if (c.op === 'end') {
    const attempt = whole(c.attempt, 'attempt', 1, 1_000_000);
    if (c.ok === true) return { op: 'end', name, count, attempt, ok: true, value: c.value };
    const e = (c.error ?? {}) as Record<string, unknown>;
    const error: ErrorData = { name: text(e.name ?? 'Error', 100), message: text(e.message ?? '', 4096) };
    return {
      op: 'end',
      name,
      count,
      attempt,
      ok: false,
      error,
      final: c.final === true,
      delayMs: ms(c.delayMs, 'delayMs'),
    };
  }
  if (c.op === 'sleep') {
    const until = typeof c.until === 'number' && Number.isFinite(c.until) ? c.until : bad('until');
    if (until > now + MAX_DURATION_MS) bad('a sleep longer than 365 days');
    return { op: 'sleep', name, count, until };
  }
  if (c.op === 'wait') {
    if (typeof c.type !== 'string') bad('type');
    return { op: 'wait', name, count, type: c.type, timeoutMs: ms(c.timeoutMs, 'timeoutMs') };
  }
  return bad('op');
}

const asId = (v: unknown): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > 100)
    throw new NamedError('A Workflow instance id is a string of 1 to 100 characters', 'TypeError');
  return v;
};

/** The engine's errors reach the worker with their message and class name. */
function rethrow(err: unknown): never {
  const e = err as Error;
  throw new NamedError(e?.message ?? String(err), typeof e?.name === 'string' ? e.name : 'Error');
}

export const workflowBinding: HostBinding<'workflow'> = {
  describe: () => ({ type: 'workflow' }),
  connect: (b, wire) => {
    const engine = () => {
      const e = wire.workflows();
      if (!e) throw new NamedError(`env.${b.binding}: this runtime has no Workflows engine`, 'Error');
      return e;
    };
    const account = wire.version.account;
    const ref = (id: unknown) => ({ account, workflow: b.name, id: asId(id) });
    const guard = async <T>(f: () => T | Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (err) {
        rethrow(err);
      }
    };
    return {
      create: async (o, ctx, [list]) => {
        o.requireLive(ctx);
        if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH)
          throw new NamedError(`Workflow create: 1 to ${MAX_BATCH} instances at a time`, 'TypeError');
        const ids: (string | null)[] = [];
        const errors: { index: number; id?: string; message: string }[] = [];
        for (const [index, item] of list.entries()) {
          const { id, params } = (item ?? {}) as { id?: unknown; params?: unknown };
          try {
            if (id !== undefined && typeof id !== 'string')
              throw new NamedError('A Workflow instance id must be a string', 'TypeError');
            ids.push(await engine().create(account, b.name, id, params));
          } catch (err) {
            if (list.length === 1) rethrow(err);
            ids.push(null);
            errors.push({
              index,
              ...(typeof id === 'string' ? { id } : {}),
              message: (err as Error).message,
            });
          }
        }
        return { ids, errors };
      },
      get: (o, ctx, [id]) => {
        o.requireLive(ctx);
        return guard(() => engine().get(ref(id)));
      },
      status: (o, ctx, [id]) => {
        o.requireLive(ctx);
        return guard(() => engine().status(ref(id)));
      },
      control: (o, ctx, [id, action]) => {
        o.requireLive(ctx);
        if (typeof action !== 'string' || !ACTIONS.has(action))
          throw new NamedError('invalid Workflow instance call', 'TypeError');
        const e = engine();
        return guard(() => e[action as 'pause' | 'resume' | 'terminate' | 'restart'](ref(id)));
      },
      sendEvent: (o, ctx, [id, type, payload]) => {
        o.requireLive(ctx);
        return guard(() => engine().sendEvent(ref(id), type as string, payload));
      },
      step: (o, ctx, [token, call]) => {
        o.requireLive(ctx);
        if (typeof token !== 'string') bad('token');
        const c = checkStepCall(call, Date.now());
        const e = engine();
        // Only a live run of this binding's Workflow and account, and only from the invocation
        // that run is: a `step` kept past its run, or used from a fetch, renews nothing.
        if (!e.owns(token, account, b.name)) return { kind: 'stop' };
        if (o.runToken(ctx) !== token)
          throw new NamedError(
            'A Workflow step can only be used inside its own run(): this call came from another invocation',
            'Error',
          );
        if (c.op !== 'end') o.stepBudget(ctx, STEP_WALL_MS);
        return e.step(token, c);
      },
    };
  },
};
