/**
 * The bindings that lead to other parts of the platform: service bindings (another worker),
 * KV namespaces (the PoP's KV view) and Durable Object namespaces. Their checks and calls live
 * in the bridge (src/runtime/bridge/service.ts, kv.ts, durable.ts), which predates the
 * registry; these entries connect them by name.
 *
 * The bridge functions answer `unknown` (they build plain objects as they go); the casts below
 * are where their results are declared to have the protocol's shape.
 */

import { kvNamespaceOf } from '../accounts.ts';
import { doCall } from '../bridge/durable.ts';
import { kvCall } from '../bridge/kv.ts';
import { serviceCall } from '../bridge/service.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { CrossingResponse, KvRead, KvValue } from './protocol.ts';
import type { HostBinding } from './types.ts';

export const serviceBinding: HostBinding<'service'> = {
  describe: (b) => ({
    type: 'service',
    service: b.service,
    ...(b.entrypoint !== undefined ? { entrypoint: b.entrypoint } : {}),
  }),
  connect: (b) => ({
    fetch: (o, ctx, args) => serviceCall(o, ctx, b.binding, 'fetch', args) as Promise<CrossingResponse>,
    rpc: (o, ctx, args) => serviceCall(o, ctx, b.binding, 'rpc', args),
  }),
};

export const kvBinding: HostBinding<'kv'> = {
  describe: () => ({ type: 'kv' }),
  connect: (b, wire) => {
    const pop = wire.kv;
    // A binding without an id is the tenant's own, even when two tenants share a name.
    const ns = b.own ? `${wire.version.tenant}:${b.binding}` : kvNamespaceOf(wire.version.account, b.id);
    // No KV store in this runtime: every call says so (kvCall).
    const access = pop ? { pop, namespaces: new Map([[b.binding, ns]]) } : null;
    const call =
      <R>(name: string) =>
      (o: IsolateOwner, ctx: unknown, args: unknown[]): Promise<R> => {
        o.requireLive(ctx);
        return kvCall(access, b.binding, name, args, o.hops(ctx), o.metrics) as Promise<R>;
      };
    return {
      get: call<KvRead>('get'),
      getMany: call<[string, KvValue | null][]>('getMany'),
      put: call<void>('put'),
      delete: call<void>('delete'),
      list: call<{ keys: unknown[]; list_complete: boolean; cursor?: string }>('list'),
    };
  },
};

export const doBinding: HostBinding<'do'> = {
  describe: () => ({ type: 'do' }),
  connect: (b) => ({
    // The isolate sends (id, name, hint, ...), read by the bridge as they are.
    fetch: (o, ctx, args) => doCall(o, ctx, b.binding, 'fetch', args) as Promise<CrossingResponse>,
    rpc: (o, ctx, args) => doCall(o, ctx, b.binding, 'rpc', args),
  }),
};
