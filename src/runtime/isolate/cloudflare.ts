/**
 * The `cloudflare:workers` module (https://developers.cloudflare.com/workers/runtime-apis/context/
 * and .../bindings/service-bindings/rpc/): entrypoint base classes, `env` and `waitUntil`.
 */
import { registerBuiltin } from './modules.ts';

let workerEnv: Record<string, unknown> = {};
export function setWorkerEnv(e: Record<string, unknown>): void {
  workerEnv = e;
}

/** Set by dispatch.ts: attach a promise to the request in flight (see waitUntil below). */
export const hooks = { waitUntil: (_p: Promise<unknown>) => {} };

/** What every entrypoint class gets from the runtime: `this.ctx` and `this.env`. */
class Entrypoint {
  ctx: unknown;
  env: unknown;
  constructor(ctx: unknown, env: unknown) {
    this.ctx = ctx;
    this.env = env;
  }
}

export class WorkerEntrypoint extends Entrypoint {}
export class DurableObject extends Entrypoint {}
export class WorkflowEntrypoint extends Entrypoint {}

/** Marks a class whose instances are passed by reference over RPC (not supported yet: documented gap). */
export class RpcTarget {}

export function isEntrypointClass(v: unknown): v is new (ctx: unknown, env: unknown) => any {
  return typeof v === 'function' && v.prototype instanceof WorkerEntrypoint;
}

/**
 * `waitUntil` imported from the module: Workers ties it to the current request through async
 * context. Outpost ties it to the most recent request in flight in this isolate (exact when
 * requests do not overlap); with none in flight, the promise still runs but nothing waits for it.
 */
export function waitUntil(p: unknown): void {
  hooks.waitUntil(Promise.resolve(p));
}

registerBuiltin('cloudflare:workers', () =>
  Object.freeze({
    __esModule: true,
    WorkerEntrypoint,
    DurableObject,
    WorkflowEntrypoint,
    RpcTarget,
    env: workerEnv,
    waitUntil,
  }),
);
