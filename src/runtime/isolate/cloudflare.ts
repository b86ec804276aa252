/**
 * The `cloudflare:workers` module (https://developers.cloudflare.com/workers/runtime-apis/context/
 * and .../bindings/service-bindings/rpc/): entrypoint base classes, `env`, `waitUntil` and `cache`.
 */

import { rejectedIntrinsic } from './async.ts';
import { callAsync } from './bridge.ts';
import { registerBuiltin } from './modules.ts';
import { tracing } from './tracing.ts';

export { tracing };

let workerEnv: Record<string, unknown> = {};
export function setWorkerEnv(e: Record<string, unknown>): void {
  workerEnv = e;
}

/** Set by dispatch.ts: attach a promise to the request in flight (see waitUntil below). */
export const hooks = { waitUntil: (_p: unknown) => {} };

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

export function isWorkflowClass(v: unknown): boolean {
  return typeof v === 'function' && v.prototype instanceof WorkflowEntrypoint;
}

export function isEntrypointClass(v: unknown): v is new (ctx: unknown, env: unknown) => any {
  return typeof v === 'function' && v.prototype instanceof WorkerEntrypoint;
}

/**
 * `waitUntil` imported from the module: Workers ties it to the current request through async
 * context, and so does Outpost (the invocation the calling code runs for: context.ts); called
 * outside any invocation, the promise still runs but nothing waits for it.
 */
export function waitUntil(p: unknown): void {
  hooks.waitUntil(p);
}

function list(v: unknown): unknown {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : v;
}

/**
 * `ctx.cache` and `cache` from cloudflare:workers (https://developers.cloudflare.com/workers/cache/purge/).
 * Outpost has no cache in front of workers yet, so a purge reaches the worker's own cached
 * fetch() subrequests, on every PoP. `invalidate` (mark stale, revalidate) is not built: it
 * says so instead of purging silently.
 */
export const cache = Object.freeze({
  purge(options: { tags?: unknown; pathPrefixes?: unknown; purgeEverything?: unknown }): Promise<unknown> {
    const o = options ?? {};
    if (typeof o !== 'object')
      return rejectedIntrinsic(new TypeError('cache.purge: options must be an object'));
    return callAsync('purge', {
      tags: list(o.tags),
      pathPrefixes: list(o.pathPrefixes),
      purgeEverything: o.purgeEverything,
    });
  },
  invalidate(_options: unknown): Promise<unknown> {
    return rejectedIntrinsic(
      new Error('cache.invalidate() is not supported by Outpost yet: use cache.purge()'),
    );
  },
});

registerBuiltin('cloudflare:workers', () =>
  Object.freeze({
    __esModule: true,
    WorkerEntrypoint,
    DurableObject,
    WorkflowEntrypoint,
    RpcTarget,
    env: workerEnv,
    waitUntil,
    cache,
    tracing,
  }),
);
