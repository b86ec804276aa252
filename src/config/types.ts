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
  /** Keys Outpost does not interpret yet; kept verbatim for later parts. */
  unknown: Record<string, unknown>;
}

export const DEFAULT_CPU_MS = 50;
