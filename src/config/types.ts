/** Public, hand-written types of a loaded Workers project. */

import type { AssetsConfig } from './assets.ts';
import type { BuildOptions } from './build.ts';
import type { RouteConfig } from './routes.ts';

export type { AssetsConfig, BuildOptions };

export type VarValue = string | number | boolean | null | VarValue[] | { [key: string]: VarValue };

export interface WorkerLimits {
  /** CPU time per request, ms (wrangler `limits.cpu_ms`); undefined: the runtime's default. */
  cpuMs: number | undefined;
}

export interface WorkerConfig {
  /** Absolute path of the config file that was read, or '<inline>'. */
  configPath: string;
  /** Folder that holds the config file; relative paths resolve from here. */
  rootDir: string;
  /**
   * The project's folder: the one given to `outpost dev` (or the config's folder). It differs
   * from rootDir when `.wrangler/deploy/config.json` redirects to a built config (dist/…):
   * Outpost's state (`.outpost/`) lives here, and the files a worker serves must lie under it.
   */
  projectDir: string;
  name: string;
  /** Absolute path of the entry module; undefined: an assets-only project. */
  main: string | undefined;
  /** Static assets (`assets`), served before the worker runs. */
  assets: AssetsConfig | undefined;
  /** wrangler's bundling keys (`rules`, `alias`, `define`, `minify`, `keep_names`). */
  build: BuildOptions;
  compatibilityDate: string | undefined;
  compatibilityFlags: string[];
  /** `vars` from config, merged with secrets from `.dev.vars` (secrets win). */
  vars: Record<string, VarValue>;
  /** Names that came from `.dev.vars` (shown redacted in logs). */
  secretNames: string[];
  limits: WorkerLimits;
  /** `tail_consumers`: the Tail Workers (by name) that get this worker's events. */
  tailConsumers: string[];
  /** `routes` / `route`: where the worker runs on its site (src/config/routes.ts, src/pop/site.ts). */
  routes: RouteConfig[];
  /** `triggers.crons`: Cron Triggers, run as `scheduled()` (src/background/). */
  crons: string[];
  /** `queues.consumers`: the queues this worker's queue() handler consumes (src/background/). */
  queueConsumers: QueueConsumer[];
  /**
   * Every binding on `env` besides vars, in config order, each tagged with its type and the
   * config key it came from (src/config/bindings/index.ts reads them; `bindingsOf` picks a type).
   */
  bindings: BindingConfig[];
  /** The Durable Object classes `migrations` leave, with their storage backend. */
  durableObjectClasses: DurableObjectClass[];
  /**
   * `account_id`: the account the worker is deployed into. Service bindings, `script_name`
   * Durable Object bindings and KV namespace ids reach only workers and data of the same
   * account. Undefined: the default account ("local"), shared by every worker without one.
   */
  accountId: string | undefined;
  /** Keys Outpost does not interpret yet; kept verbatim for later parts. */
  unknown: Record<string, unknown>;
}

export interface ServiceBinding {
  binding: string;
  /** The target worker's name. */
  service: string;
  /** A named WorkerEntrypoint export of the target; undefined: its default export. */
  entrypoint: string | undefined;
}

export interface KvNamespaceBinding {
  binding: string;
  /** The namespace id (`<worker name>:<binding>` when the config gives none: the worker's own). */
  id: string;
  /**
   * The config gave no id: the namespace belongs to the worker alone. The runtime names it after
   * the tenant it deploys (`<tenant>:<binding>`; in `outpost dev` the tenant is the worker's name).
   */
  own?: boolean;
}

export interface DurableObjectBinding {
  binding: string;
  className: string;
  /** The worker that defines the class; undefined: this worker. */
  scriptName: string | undefined;
}

export interface DurableObjectClass {
  className: string;
  /** `new_classes`: the key-value backend; `new_sqlite_classes`: SQLite (SQL API too). */
  storage: 'kv' | 'sqlite';
}

export const DEFAULT_CPU_MS = 50;

export interface D1DatabaseBinding {
  binding: string;
  /** `database_id`, or `<worker name>:<binding>` when the config gives none (the worker's own). */
  id: string;
  own?: boolean;
  databaseName: string | undefined;
  /** Absolute path of the migrations folder (`migrations_dir`, default `migrations`). */
  migrationsDir: string;
  /** The table that records applied migrations (`migrations_table`, default `d1_migrations`). */
  migrationsTable: string;
}

export interface R2BucketBinding {
  binding: string;
  /** `bucket_name`, or `<worker name>:<binding>` when the config gives none. */
  bucket: string;
  own?: boolean;
}

export interface AnalyticsEngineBinding {
  binding: string;
  /** `dataset`, or the binding's name when the config gives none: the table queries name. */
  dataset: string;
}

export interface RateLimitBinding {
  binding: string;
  /** `namespace_id`, as a string of digits: counters are shared by the account's bindings of it. */
  namespaceId: string;
  /** `simple.limit`: calls allowed per key per period. */
  limit: number;
  /** `simple.period`: 10 or 60 seconds. */
  periodSec: 10 | 60;
}

/** `[[queues.producers]]`: `env.NAME` sends to `queue`. */
export interface QueueProducerBinding {
  binding: string;
  queue: string;
  /** `delivery_delay`, seconds every message of this producer waits. */
  deliveryDelay: number;
}

/** `[[queues.consumers]]`: the worker's queue() handler consumes `queue`. */
export interface QueueConsumer {
  queue: string;
  maxBatchSize: number;
  /** Seconds to wait for a full batch. */
  maxBatchTimeout: number;
  maxRetries: number;
  deadLetterQueue?: string;
  /** Seconds before a retried message is delivered again. */
  retryDelay: number;
  maxConcurrency: number;
}

/**
 * `[[workflows]]`: `env.NAME` creates and finds instances of the Workflow `name`. Without
 * `scriptName` this worker defines it: `className` is its exported WorkflowEntrypoint class.
 */
export interface WorkflowBinding {
  binding: string;
  /** The Workflow's name (instances are the account's, by this name). */
  name: string;
  className: string;
  /** `limits.steps`: steps one instance may take. */
  steps: number;
  /** `script_name`: the worker that defines it, when another one does. */
  scriptName?: string;
}

/**
 * A binding wrangler documents that Outpost does not provide: kept so `env.NAME` exists and
 * every use of it throws an error naming the binding and the config key.
 */
export interface UnsupportedBinding {
  binding: string;
  /** What it is, for the error ("a Queues producer"). */
  what: string;
}

/** The part every binding shares: its name on `env` and where it was configured. */
interface BindingBase {
  /** The config key it came from, e.g. `kv_namespaces[0]` (for errors). */
  key: string;
}

/** One binding of a worker, by type. Adding a binding type starts here (docs/architecture.md). */
export type BindingConfig = BindingBase &
  (
    | ({ type: 'service' } & ServiceBinding)
    | ({ type: 'kv' } & KvNamespaceBinding)
    | ({ type: 'do' } & DurableObjectBinding)
    | { type: 'unsafe_eval'; binding: string }
    | ({ type: 'd1' } & D1DatabaseBinding)
    | ({ type: 'r2' } & R2BucketBinding)
    | ({ type: 'analytics_engine' } & AnalyticsEngineBinding)
    | ({ type: 'ratelimit' } & RateLimitBinding)
    | ({ type: 'queue' } & QueueProducerBinding)
    | ({ type: 'workflow' } & WorkflowBinding)
    | { type: 'assets'; binding: string }
    | ({ type: 'unsupported' } & UnsupportedBinding)
  );

export type BindingType = BindingConfig['type'];
export type BindingOf<T extends BindingType> = Extract<BindingConfig, { type: T }>;

/** The bindings of one type, in config order. */
export function bindingsOf<T extends BindingType>(list: readonly BindingConfig[], type: T): BindingOf<T>[] {
  return list.filter((b): b is BindingOf<T> => b.type === type);
}
