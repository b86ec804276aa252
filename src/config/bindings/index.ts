/**
 * The bindings of a wrangler config, read by one table: each config key, the binding type it
 * makes and its parser (one file per kind in this folder). The runtime's binding registry
 * (src/runtime/bindings/) has one entry per type, so a type added here and not there fails to
 * compile. `assets.binding` is read with the rest of `assets` (../assets.ts).
 */
import { parseDurableObjectBindings } from '../durable-objects.ts';
import { ConfigError } from '../errors.ts';
import type { BindingConfig } from '../types.ts';
import { parseAnalyticsEngineDatasets } from './analytics.ts';
import { parseKvNamespaces } from './kv.ts';
import { parseQueueProducers } from './queues.ts';
import { parseRateLimits } from './ratelimit.ts';
import { parseServices } from './services.ts';
import { parseD1Databases, parseR2Buckets } from './storage.ts';
import { parseUnsafeBindings } from './unsafe.ts';
import { parseUnsupported, UNSUPPORTED_BINDINGS } from './unsupported.ts';
import { parseWorkflows } from './workflows.ts';

export { BINDING_NAME, isTable } from './name.ts';

interface ParseContext {
  file: string;
  /** The worker's name (storage of a binding without an id is named after it). */
  worker: string;
  rootDir: string;
}

interface BindingKey {
  key: string;
  parse(raw: unknown, c: ParseContext): BindingConfig[];
}

/** Where the i-th entry of a list came from. */
const at = (key: string, i: number) => `${key}[${i}]`;

export const BINDING_KEYS: BindingKey[] = [
  {
    key: 'services',
    parse: (raw, c) =>
      parseServices(c.file, raw).map((b, i) => ({ ...b, type: 'service', key: at('services', i) })),
  },
  {
    key: 'kv_namespaces',
    parse: (raw, c) =>
      parseKvNamespaces(c.file, raw, c.worker).map((b, i) => ({
        ...b,
        type: 'kv',
        key: at('kv_namespaces', i),
      })),
  },
  {
    key: 'durable_objects',
    parse: (raw, c) =>
      parseDurableObjectBindings(c.file, raw).map((b, i) => ({
        ...b,
        type: 'do',
        key: at('durable_objects.bindings', i),
      })),
  },
  {
    key: 'd1_databases',
    parse: (raw, c) =>
      parseD1Databases(c.file, raw, c.worker, c.rootDir).map((b, i) => ({
        ...b,
        type: 'd1',
        key: at('d1_databases', i),
      })),
  },
  {
    key: 'r2_buckets',
    parse: (raw, c) =>
      parseR2Buckets(c.file, raw, c.worker).map((b, i) => ({ ...b, type: 'r2', key: at('r2_buckets', i) })),
  },
  {
    key: 'analytics_engine_datasets',
    parse: (raw, c) =>
      parseAnalyticsEngineDatasets(c.file, raw).map((b, i) => ({
        ...b,
        type: 'analytics_engine',
        key: at('analytics_engine_datasets', i),
      })),
  },
  {
    key: 'ratelimits',
    parse: (raw, c) =>
      parseRateLimits(c.file, raw).map((b, i) => ({ ...b, type: 'ratelimit', key: at('ratelimits', i) })),
  },
  {
    key: 'unsafe',
    parse: (raw, c) =>
      parseUnsafeBindings(c.file, raw).map((binding, i) => ({
        type: 'unsafe_eval',
        binding,
        key: at('unsafe.bindings', i),
      })),
  },
  {
    key: 'queues',
    parse: (raw, c) => parseQueueProducers(c.file, raw).map((b) => ({ ...b, type: 'queue' })),
  },
  {
    key: 'workflows',
    parse: (raw, c) => parseWorkflows(c.file, raw).map((b) => ({ ...b, type: 'workflow' })),
  },
  ...UNSUPPORTED_BINDINGS.map(
    (entry): BindingKey => ({
      key: entry.key,
      parse: (raw, c) => parseUnsupported(c.file, entry, raw).map((b) => ({ ...b, type: 'unsupported' })),
    }),
  ),
];

/**
 * Read every binding key of `raw`; names must differ from each other and from `vars` (`taken`),
 * since all of them are properties of one `env`.
 */
export function parseBindings(
  raw: Record<string, unknown>,
  c: ParseContext,
  taken: Set<string>,
  extra: BindingConfig[] = [],
): BindingConfig[] {
  const all = [...BINDING_KEYS.flatMap((k) => k.parse(raw[k.key], c)), ...extra];
  for (const b of all) {
    if (taken.has(b.binding))
      throw new ConfigError(c.file, b.key, 'a binding name no other binding or var uses', b.binding);
    taken.add(b.binding);
  }
  return all;
}
