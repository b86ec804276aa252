/**
 * Workflows (`[[workflows]]`), host side: `create`, `get`, an instance's `status`, `pause`,
 * `resume`, `terminate`, `restart` and `sendEvent` go to the network's engine
 * (src/background/workflows/engine.ts) under the calling worker's account and the binding's
 * Workflow name; `step` carries a running instance's step calls (the run's token names it).
 * Arguments are untrusted: each is checked here or by the engine. A step call also gives the
 * invocation a fresh CPU and subrequest budget: on Workers each step has its own.
 */
import { NamedError } from '../bridge/named-error.ts';
import type { WorkflowStepCall } from './protocol.ts';
import type { HostBinding } from './types.ts';

const ACTIONS = new Set(['pause', 'resume', 'terminate', 'restart']);
/** createBatch's limit (Cloudflare's). */
const MAX_BATCH = 100;
/** How long one step may run before the wall-clock limit recycles the isolate (its timeout caps at this). */
export const STEP_WALL_MS = 15 * 60_000;

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
    const guard = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        rethrow(err);
      }
    };
    return {
      create: (o, ctx, [list]) => {
        o.requireLive(ctx);
        if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH)
          throw new NamedError(`Workflow create: 1 to ${MAX_BATCH} instances at a time`, 'TypeError');
        const ids: (string | null)[] = [];
        const errors: { index: number; id?: string; message: string }[] = [];
        list.forEach((item, index) => {
          const { id, params } = (item ?? {}) as { id?: unknown; params?: unknown };
          try {
            if (id !== undefined && typeof id !== 'string')
              throw new NamedError('A Workflow instance id must be a string', 'TypeError');
            ids.push(engine().create(account, b.name, id, params));
          } catch (err) {
            if (list.length === 1) rethrow(err);
            ids.push(null);
            errors.push({
              index,
              ...(typeof id === 'string' ? { id } : {}),
              message: (err as Error).message,
            });
          }
        });
        return { ids, errors };
      },
      get: (o, ctx, [id]) => {
        o.requireLive(ctx);
        guard(() => engine().get(ref(id)));
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
        guard(() => e[action as 'pause' | 'resume' | 'terminate' | 'restart'](ref(id)));
      },
      sendEvent: (o, ctx, [id, type, payload]) => {
        o.requireLive(ctx);
        guard(() => engine().sendEvent(ref(id), type as string, payload));
      },
      step: (o, ctx, [token, call]) => {
        o.requireLive(ctx);
        if (typeof token !== 'string' || !call || typeof call !== 'object')
          throw new NamedError('invalid Workflow step call', 'TypeError');
        const c = call as WorkflowStepCall;
        if (c.op !== 'end') o.stepBudget(ctx, STEP_WALL_MS);
        return engine().step(token, c);
      },
    };
  },
};
