/**
 * Two ways wrangler picks the config it runs, done the same way here:
 *
 * - `[env.NAME]` environments with `--env NAME`
 *   (https://developers.cloudflare.com/workers/wrangler/environments/): the environment's keys
 *   win over the top level; inheritable keys (main, compatibility settings, limits, build
 *   rules, …) fall back to the top level; bindings and vars do not — an environment without
 *   `kv_namespaces` has none, as on Cloudflare. The name is `<name>-<env>` unless the
 *   environment sets one (load.ts).
 * - The `.wrangler/deploy/config.json` redirect that framework builds (the Cloudflare Vite
 *   plugin, OpenNext) write: `{ "configPath": "../../dist/worker/wrangler.json" }`, a path
 *   relative to that file, used instead of the project's own config.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { isTable } from './bindings/name.ts';
import { ConfigError } from './errors.ts';

/** Keys an environment does not inherit from the top level. */
export const NOT_INHERITED = new Set([
  'vars',
  'define',
  'durable_objects',
  'kv_namespaces',
  'r2_buckets',
  'd1_databases',
  'services',
  'queues',
  'analytics_engine_datasets',
  'vectorize',
  'hyperdrive',
  'mtls_certificates',
  'dispatch_namespaces',
  'workflows',
  'pipelines',
  'secrets_store_secrets',
  'send_email',
  'ratelimits',
  'ai',
  'browser',
  'images',
  'version_metadata',
  'wasm_modules',
  'text_blobs',
  'data_blobs',
  'tail_consumers',
  'unsafe',
]);

/** Keys that exist only at the top level. */
const TOP_LEVEL_ONLY = new Set(['migrations', 'env', 'keep_vars', 'send_metrics', 'site', 'dev']);

export function selectEnvironment(
  raw: Record<string, unknown>,
  file: string,
  env: string | undefined,
): Record<string, unknown> {
  const envs = raw.env;
  if (envs !== undefined && !isTable(envs))
    throw new ConfigError(file, 'env', 'a table of environments ([env.staging] …)', envs);
  if (env === undefined) {
    const { env: _, ...top } = raw;
    return top;
  }
  const chosen = envs?.[env];
  if (!isTable(chosen))
    throw new ConfigError(
      file,
      `env.${env}`,
      `an environment (--env ${env}); this file has ${Object.keys(envs ?? {}).join(', ') || 'none'}`,
    );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'env' || NOT_INHERITED.has(k)) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(chosen)) {
    if (TOP_LEVEL_ONLY.has(k))
      throw new ConfigError(file, `env.${env}.${k}`, 'set at the top level only, as wrangler requires', v);
    out[k] = v;
  }
  return out;
}

/** The config a `.wrangler/deploy/config.json` in `dir` points to, if there is one. */
export function deployRedirect(dir: string): string | undefined {
  const redirect = join(dir, '.wrangler', 'deploy', 'config.json');
  if (!existsSync(redirect)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(redirect, 'utf8'));
  } catch (err) {
    throw new ConfigError(redirect, '(syntax)', 'valid JSON', (err as Error).message);
  }
  const target = isTable(parsed) ? parsed.configPath : undefined;
  if (typeof target !== 'string' || target === '')
    throw new ConfigError(redirect, 'configPath', 'the path of the built wrangler config', target);
  const abs = resolve(dirname(redirect), target);
  if (!existsSync(abs))
    throw new ConfigError(
      redirect,
      'configPath',
      'a config file that exists (run the build first)',
      `${target} (not found at ${abs})`,
    );
  // A build writes its config inside the project; one elsewhere (another project's, with its
  // .dev.vars) is not this project's to run.
  const real = realpathSync(abs);
  const root = realpathSync(dir);
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep))
    throw new ConfigError(
      redirect,
      'configPath',
      'a config file inside the project folder',
      `${target} (at ${real})`,
    );
  return abs;
}
