/**
 * The isolate's binding registry: what `env[name]` is for each binding type, built from the
 * descriptors the host sends (src/runtime/bindings/index.ts). Keyed by the same union as the
 * host's table, so a type without an isolate side fails to compile. The bindings most workers do
 * not have come from parts of the prelude (../parts.ts), loaded here, before the worker's code runs.
 */
import type { AnyDescriptor, BindingKind, DescriptorOf } from '../../bindings/protocol.ts';
import { KVNamespace } from '../kv.ts';
import { part } from '../parts.ts';
import { assetsBinding } from './assets.ts';
import { RateLimit } from './ratelimit.ts';
import { serviceBinding } from './service.ts';
import { unsafeEval } from './unsafe-eval.ts';
import { unsupportedBinding } from './unsupported.ts';

const MAKE: { [T in BindingKind]: (name: string, d: DescriptorOf<T>) => unknown } = {
  service: (name) => serviceBinding(name),
  kv: (name) => new KVNamespace(name),
  do: (name) => new (part('durable').DurableObjectNamespace)(name),
  unsafe_eval: () => unsafeEval(),
  d1: (name) => new (part('d1').D1Database)(name),
  r2: (name) => new (part('r2').R2Bucket)(name),
  assets: (name) => assetsBinding(name),
  analytics_engine: (name) => new (part('analytics').AnalyticsEngineDataset)(name),
  ratelimit: (name) => new RateLimit(name),
  queue: (name) => new (part('queue').Queue)(name),
  workflow: (name) => new (part('workflow').Workflow)(name),
  unsupported: (name, d) => unsupportedBinding(name, d.key, d.what),
};

export function makeBindings(descriptors: Record<string, AnyDescriptor>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(descriptors)) {
    const make = MAKE[d.type] as (name: string, d: AnyDescriptor) => unknown;
    out[name] = make(name, d);
  }
  return out;
}
