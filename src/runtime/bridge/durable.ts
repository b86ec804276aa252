/**
 * Durable Objects, host side of the isolate's calls: ids (`doId`, synchronous), stub calls
 * (`do`: fetch or RPC, routed by the runtime to the object wherever it lives) and, inside an
 * object's own isolate, its storage (`doStorage`, synchronous: see src/runtime/isolate/durable.ts
 * for why). Storage errors reach the object typed (TypeError, RangeError, Error) with
 * Cloudflare's texts.
 */
import {
  type ListOptions,
  type ObjectCall,
  type StagedStorage,
  StorageError,
} from '../../durable-objects/index.ts';
import { calleeChain } from '../loops.ts';
import type { WorkerRequest, WorkerResponse } from '../types.ts';
import { NamedError } from './named-error.ts';
import { passedUpgrade } from './passed-sockets.ts';
import { requestFromIsolate, responseToIsolate } from './service.ts';
import type { IsolateOwner } from './syscalls.ts';

/** Where a worker's Durable Object bindings lead (set by the runtime). */
export interface ObjectLinks {
  /** An id of the binding's namespace: from a name, new, or checked from its string. */
  id(binding: string, kind: 'name' | 'unique' | 'string', arg: unknown): string;
  fetch(call: ObjectCall, request: WorkerRequest): Promise<WorkerResponse>;
  rpc(call: ObjectCall, method: string, args: unknown[]): Promise<unknown>;
}

function invalid(what: string): NamedError {
  return new NamedError(`invalid Durable Object call: ${what}`, 'TypeError');
}

export function doIdCall(links: ObjectLinks | null, binding: unknown, kind: unknown, arg: unknown): string {
  if (!links) throw new NamedError('Durable Objects are not available here', 'Error');
  if (typeof binding !== 'string' || (kind !== 'name' && kind !== 'unique' && kind !== 'string'))
    throw invalid('id');
  return links.id(binding, kind, arg);
}

/**
 * A call through a stub of `binding`: `args` as the isolate sent them, (id, name, hint, ...)
 * then (method, [args]) for RPC or the request's parts for fetch.
 */
export async function doCall(
  o: IsolateOwner,
  ctx: unknown,
  binding: string,
  kind: 'fetch' | 'rpc',
  args: unknown[],
): Promise<unknown> {
  const links = o.objects;
  if (!links) throw new NamedError('Durable Objects are not available here', 'Error');
  const id = args[0];
  const name = args[1];
  const hint = args[2];
  if (typeof id !== 'string') throw invalid('stub');
  if (name !== null && typeof name !== 'string') throw invalid('name');
  if (hint !== null && typeof hint !== 'string') throw invalid('locationHint');
  o.beginSubrequest(ctx);
  // An object call is a step down the request's chain (loop limits), not a new request.
  const chain = calleeChain(o.chain(ctx), 'calling a Durable Object', false);
  const call: ObjectCall = { binding, id, name, hint, hops: o.hops(ctx), chain };
  if (kind === 'rpc') {
    const method = args[3];
    const list = args[4];
    if (typeof method !== 'string' || !Array.isArray(list)) throw invalid('method');
    return links.rpc(call, method, list);
  }
  const request = { ...requestFromIsolate(args.slice(3), invalid), chain };
  // The object's invocation is parented by the call's span (objects.ts sets chain.trace).
  const res = await links.fetch(call, request);
  return passedUpgrade(res, request.url, o) ?? responseToIsolate(o, res, request.url);
}

/** `doStorage(op, ...args)` from an object's isolate. */
export function storageCall(s: StagedStorage | null, op: unknown, args: unknown[]): unknown {
  if (!s) throw new NamedError('storage is only available inside a Durable Object', 'Error');
  try {
    switch (op) {
      // The last argument of key-value calls: the transaction they are made in (0: none).
      case 'get':
        return s.get(args[0], args[1]);
      case 'put':
        return s.put(args[0], args[1]);
      case 'delete':
        return s.delete(args[0], args[1]);
      case 'list':
        return s.list((args[0] ?? {}) as ListOptions, args[1]);
      case 'commit':
        return s.commit();
      case 'begin':
        return s.begin(args[0]);
      case 'end':
        return s.end(args[0]);
      case 'rollback':
        return s.rollback(args[0]);
      case 'deleteAll':
        return s.deleteAll();
      case 'sql':
        return s.sql(args[0], args[1]);
      case 'size':
        return s.size();
      case 'getAlarm':
        return s.getAlarm();
      case 'setAlarm':
        return s.setAlarm(args[0]);
      default:
        throw new NamedError('invalid storage operation', 'TypeError');
    }
  } catch (err) {
    if (err instanceof StorageError) throw new NamedError(err.message, err.kind);
    throw err;
  }
}
