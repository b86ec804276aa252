/**
 * The worker projects `outpost dev` serves from folders: each is built with esbuild, deployed,
 * and rebuilt on every source change (a rebuild that changes neither code nor config is not
 * deployed again; a failed one keeps the last good version serving and says why).
 */
import { type FSWatcher, watch } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError, loadConfig, type WorkerConfig } from '../config/index.ts';
import type { Observer } from '../observability/index.ts';
import { type Bundle, bundleWorker, type Limits, OutpostError } from '../runtime/index.ts';

const IGNORED = /(^|\/)(node_modules|\.git|\.outpost|\.wrangler|dist)(\/|$)/;

/** One worker served by a PoP: from a folder (built and watched) or from a deployment. */
export interface Project {
  tenant: string;
  readonly config: WorkerConfig;
  /** Set while the project has never built: the PoP answers with it. */
  readonly buildError: OutpostError | null;
  reload(): Promise<Error | null>;
  close(): void;
}

/** What a project needs of where it is deployed: one runtime, or every PoP of a network. */
export interface Deployer {
  deploy(tenant: string, bundle: Bundle, config: WorkerConfig, limits?: Partial<Limits>): unknown;
  /**
   * Pre-warm, then switch (Runtime.stage); a single PoP's runtime has it, a dev network not.
   * `keep: false`: load it to check that it loads, then let the isolate go.
   */
  stage?(
    tenant: string,
    bundle: Bundle,
    config: WorkerConfig,
    limits?: Partial<Limits>,
    options?: { keep?: boolean },
  ): Promise<unknown>;
  /** A gradual deployment's second version (Runtime.stageSplit), and its end. */
  stageSplit?(
    tenant: string,
    bundle: Bundle,
    config: WorkerConfig,
    split: { percentage: number; sticky: boolean },
    limits?: Partial<Limits>,
  ): Promise<void>;
  clearSplit?(tenant: string): void;
  warm(tenant: string): Promise<void>;
  has(tenant: string): boolean;
}

/** What building a project needs of the session's options (src/pop/dev.ts DevOptions). */
export interface ProjectOptions {
  observer: Observer;
  /** Limits that win over the project's config (the CLI's --cpu-ms and friends). */
  limits?: Partial<Limits>;
  /** The one folder builds read files from (DevOptions.buildRoot). */
  buildRoot?: string;
  /** Rebuild on file changes (default true). */
  watch?: boolean;
}

/**
 * Where the PoP's projects come from. The first project is the one requests no route matches
 * go to. The list may grow while the PoP runs (a node gets a new worker deployed); `changed`
 * says a project's routes, crons, queue consumers or Workflows may have changed.
 */
export interface ProjectSource {
  open(deployer: Deployer, changed: () => void): Promise<Project[]>;
}

/** The projects of `outpost dev`: the main folder first, then the services, each built and watched. */
export function folderProjects(
  options: ProjectOptions & { dir: string; env?: string; main?: string; services?: string[] },
): ProjectSource {
  return {
    async open(deployer, changed) {
      // Workers the served one reaches through service bindings load first, each under its name.
      const others: Project[] = [];
      for (const dir of options.services ?? [])
        others.push(await startProject(dir, deployer, options, {}, changed));
      const main = await startProject(
        options.dir,
        deployer,
        options,
        {
          ...(options.env !== undefined ? { env: options.env } : {}),
          ...(options.main !== undefined ? { main: options.main } : {}),
        },
        changed,
      );
      return [main, ...others];
    },
  };
}

async function startProject(
  dir: string,
  runtime: Deployer,
  options: ProjectOptions,
  own: { env?: string; main?: string } = {},
  onDeployed: () => void = () => {},
): Promise<Project> {
  const { observer } = options;
  const warn = (m: string) => observer.log({ level: 'warn', source: 'outpost', message: m });
  const load = () => loadConfig(dir, { warn, ...own });
  let config = load();
  const tenant = config.name;
  let buildError: OutpostError | null = null;
  // What was last deployed: the code's hash and the whole parsed config. A rebuild that changes
  // neither is not deployed again; any other change is (bindings, migrations, limits, vars, …),
  // so no part of the config can be edited without taking effect.
  let deployed: string | null = null;
  // Only the limits a flag actually set win over the config: `--cpu-ms` not given must leave
  // `limits.cpu_ms` in wrangler.toml in force, not reset it to the default.
  const limitOverrides = Object.fromEntries(
    Object.entries(options.limits ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<Limits>;

  const build = async (): Promise<Error | null> => {
    const started = performance.now();
    try {
      config = load();
      if (config.name !== tenant)
        throw new ConfigError(
          config.configPath,
          'name',
          `unchanged while outpost dev runs ("${tenant}"); restart to rename`,
          config.name,
        );
      const bundle = await bundleWorker(config, { root: options.buildRoot });
      const previous = runtime.has(tenant);
      const fingerprint = versionFingerprint(bundle, config);
      if (previous && fingerprint === deployed) return null;
      runtime.deploy(tenant, bundle, config, limitOverrides);
      deployed = fingerprint;
      buildError = null;
      onDeployed();
      await runtime.warm(tenant);
      const ms = (performance.now() - started).toFixed(0);
      observer.log({
        level: 'info',
        source: 'outpost',
        message: `${previous ? 'reloaded' : 'loaded'} "${tenant}" (${bundle.format} syntax) in ${ms} ms`,
      });
      return null;
    } catch (err) {
      const e = err as Error;
      if (!runtime.has(tenant)) buildError = new OutpostError('BUNDLE_FAILED', `Build failed:\n${e.message}`);
      if (!(err instanceof OutpostError && err.code === 'SCRIPT_LOAD_FAILED')) {
        observer.log({
          level: 'error',
          source: 'outpost',
          message: `${runtime.has(tenant) ? 'rebuild failed, still serving the last good version' : 'build failed'} of "${tenant}":\n${e.message}`,
        });
      }
      return e;
    }
  };

  await build();

  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  if (options.watch !== false) {
    watcher = watch(config.rootDir, { recursive: true }, (_event, file) => {
      if (!file || IGNORED.test(String(file))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        observer.log({
          level: 'debug',
          source: 'outpost',
          message: `change in ${relative(config.rootDir, `${config.rootDir}/${file}`)}`,
        });
        running = running.then(build);
      }, 50);
    });
  }
  return {
    tenant,
    get config() {
      return config;
    },
    get buildError() {
      return buildError;
    },
    reload: () => {
      const p = running.then(build);
      running = p;
      return p;
    },
    close: () => {
      watcher?.close();
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * Two builds are the same version only when their code and their whole parsed config are equal.
 * The config is plain data made by the loader (same input, same key order), so its JSON compares.
 */
export function versionFingerprint(bundle: Pick<Bundle, 'hash'>, config: WorkerConfig): string {
  const json = JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  return `${bundle.hash}\n${json}`;
}
