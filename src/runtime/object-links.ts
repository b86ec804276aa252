/**
 * The runtime's side of Durable Objects (src/durable-objects/ decides where objects live and
 * runs their events through the runtime, its ObjectHost): what a worker's Durable Object
 * bindings reach, resolved by name when called so a class's worker can be redeployed.
 */
import { bindingsOf } from '../config/index.ts';
import {
  type DurableObjects,
  idFromName,
  newUniqueId,
  type ObjectClass,
  ObjectError,
} from '../durable-objects/index.ts';
import { sameAccountTarget } from './accounts.ts';
import type { ObjectLinks } from './bridge/durable.ts';
import { NamedError } from './bridge/named-error.ts';
import type { WorkerResponse, WorkerVersion } from './types.ts';

/** What finds a deployed worker's current version (the runtime). */
interface Deployed {
  current(tenant: string): WorkerVersion | undefined;
}

/** The class `className` of the worker deployed as `tenant`, or an error naming `what` asked. */
export function objectClassOf(
  runtime: Deployed,
  tenant: string,
  className: string,
  what: string,
): ObjectClass {
  const tv = runtime.current(tenant);
  if (!tv) throw new ObjectError(`${what} points to the worker "${tenant}", which is not running`);
  const cls = tv.durableObjectClasses.find((c) => c.className === className);
  if (!cls)
    throw new ObjectError(`${what}: no migration of worker "${tenant}" creates the class "${className}"`);
  return { tenant, className, backend: cls.storage, namespace: `${tenant}/${className}` };
}

/** What `version`'s Durable Object bindings do, called from PoP `pop`. */
export function objectLinks(
  runtime: Deployed,
  objects: DurableObjects,
  pop: string,
  version: WorkerVersion,
): ObjectLinks {
  // Each binding's class, kept while the worker it is in has the version it was found in: a
  // redeploy of that worker finds it again. (Found on every call, it was a filter, two finds and
  // a namespace string made anew per call on a hot object.)
  const found = new Map<string, { tenant: string; in: WorkerVersion | undefined; cls: ObjectClass }>();
  const target = (binding: string): ObjectClass => {
    const hit = found.get(binding);
    if (hit !== undefined && runtime.current(hit.tenant) === hit.in) return hit.cls;
    const b = bindingsOf(version.bindings, 'do').find((d) => d.binding === binding);
    if (!b) throw new NamedError(`"${binding}" is not a Durable Object binding of this worker`, 'TypeError');
    const what = `Durable Object binding "${binding}"`;
    const tenant = b.scriptName ?? version.tenant;
    const current = runtime.current(tenant);
    // A class of another worker: only one of this worker's account (src/runtime/accounts.ts).
    if (b.scriptName !== undefined) sameAccountTarget(version, current, what, b.scriptName);
    const cls = objectClassOf(runtime, tenant, b.className, what);
    found.set(binding, { tenant, in: current, cls });
    return cls;
  };
  return {
    id: (binding, kind, arg) => {
      const t = target(binding);
      if (kind === 'name') return idFromName(t.namespace, String(arg));
      if (kind === 'unique') return newUniqueId(t.namespace);
      return objects.checkId(t, arg);
    },
    fetch: (call, request) =>
      objects.call(pop, target(call.binding), call, { kind: 'fetch', request }) as Promise<WorkerResponse>,
    rpc: (call, method, args) => objects.call(pop, target(call.binding), call, { kind: 'rpc', method, args }),
  };
}
