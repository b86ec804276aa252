/**
 * The binding registry: every binding type Outpost provides, one module each, in one table.
 * Adding a type: its config parser (src/config/bindings/), its host module here, its calls in
 * ./protocol.ts, and its isolate module (src/runtime/isolate/bindings/) — the three tables are
 * keyed by the same union, so a type missing from one fails to compile (docs/architecture.md).
 */
import type { BindingConfig, BindingOf, BindingType } from '../../config/index.ts';
import type { WorkerVersion } from '../types.ts';
import { analyticsBinding } from './analytics.ts';
import { assetsBinding } from './assets.ts';
import { d1Binding } from './d1.ts';
import { doBinding, kvBinding, serviceBinding } from './links.ts';
import type { AnyDescriptor } from './protocol.ts';
import { queueBinding } from './queue.ts';
import { r2Binding } from './r2.ts';
import { rateLimitBinding } from './ratelimit.ts';
import type { ConnectedBinding, HostBinding, WireContext } from './types.ts';
import { workflowBinding } from './workflow.ts';

export const BINDINGS: { [T in BindingType]: HostBinding<T> } = {
  service: serviceBinding,
  kv: kvBinding,
  do: doBinding,
  d1: d1Binding,
  r2: r2Binding,
  assets: assetsBinding,
  analytics_engine: analyticsBinding,
  ratelimit: rateLimitBinding,
  queue: queueBinding,
  workflow: workflowBinding,
  unsafe_eval: { describe: () => ({ type: 'unsafe_eval' }), connect: () => null },
  unsupported: {
    describe: (b) => ({ type: 'unsupported', key: b.key, what: b.what }),
    connect: () => null,
  },
};

function entry<T extends BindingType>(b: BindingOf<T>): HostBinding<T> {
  return BINDINGS[b.type as T];
}

/** What the prelude builds `env` from: binding name → descriptor. */
export function describeBindings(bindings: readonly BindingConfig[]): Record<string, AnyDescriptor> {
  return Object.fromEntries(bindings.map((b) => [b.binding, entry(b).describe(b as never) as AnyDescriptor]));
}

/** The host side of every binding of `version`, by name, for one instance. */
export function connectBindings(
  version: WorkerVersion,
  wire: WireContext,
): ReadonlyMap<string, ConnectedBinding> {
  const out = new Map<string, ConnectedBinding>();
  for (const b of version.bindings) {
    const ops = entry(b).connect(b as never, wire);
    if (ops) out.set(b.binding, { type: b.type, ops: ops as ConnectedBinding['ops'] });
  }
  return out;
}

export type { ConnectedBinding, WireContext } from './types.ts';
