/** Public, hand-written types of a loaded Workers project. */

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
  name: string;
  /** Absolute path of the entry module. */
  main: string;
  compatibilityDate: string | undefined;
  compatibilityFlags: string[];
  /** `vars` from config, merged with secrets from `.dev.vars` (secrets win). */
  vars: Record<string, VarValue>;
  /** Names that came from `.dev.vars` (shown redacted in logs). */
  secretNames: string[];
  limits: WorkerLimits;
  /** Service bindings to other workers (`services` in wrangler config). */
  services: ServiceBinding[];
  /** KV namespaces (`kv_namespaces`). */
  kvNamespaces: KvNamespaceBinding[];
  /** Durable Object namespaces (`durable_objects.bindings`). */
  durableObjects: DurableObjectBinding[];
  /** The Durable Object classes `migrations` leave, with their storage backend. */
  durableObjectClasses: DurableObjectClass[];
  /**
   * `account_id`: the account the worker is deployed into. Service bindings, `script_name`
   * Durable Object bindings and KV namespace ids reach only workers and data of the same
   * account. Undefined: the default account ("local"), shared by every worker without one.
   */
  accountId: string | undefined;
  /** `unsafe_eval` bindings (names): code from strings after startup (test harnesses). */
  unsafeEval: string[];
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
