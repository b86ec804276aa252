/**
 * `assets` in wrangler config (https://developers.cloudflare.com/workers/static-assets/binding/):
 *
 *   assets = { directory = "./public", binding = "ASSETS",
 *              html_handling = "auto-trailing-slash", not_found_handling = "none",
 *              run_worker_first = false | ["/api/*", "!/api/docs/*"] }
 *
 * The files are served by the PoP before the worker runs (src/runtime/assets/); `binding`
 * also puts them on `env` as a Fetcher.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { BINDING_NAME, isTable } from './bindings/name.ts';
import { ConfigError } from './errors.ts';

export const HTML_HANDLING = [
  'auto-trailing-slash',
  'force-trailing-slash',
  'drop-trailing-slash',
  'none',
] as const;
export const NOT_FOUND_HANDLING = ['single-page-application', '404-page', 'none'] as const;

export interface AssetsConfig {
  /** Absolute path of the folder served. */
  directory: string;
  /** The name on `env` (`env.ASSETS.fetch()`); undefined: no binding. */
  binding: string | undefined;
  htmlHandling: (typeof HTML_HANDLING)[number];
  notFoundHandling: (typeof NOT_FOUND_HANDLING)[number];
  /**
   * true: every request runs the worker first (it reaches assets through the binding);
   * false: assets that exist are served without the worker; a list: the routes (globs, `!`
   * to exclude) that run the worker first.
   */
  runWorkerFirst: boolean | string[];
}

function oneOf<T extends readonly string[]>(
  file: string,
  key: string,
  v: unknown,
  list: T,
  fallback: T[number],
) {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !list.includes(v))
    throw new ConfigError(file, key, `one of ${list.map((x) => `"${x}"`).join(', ')}`, v);
  return v as T[number];
}

export function parseAssets(file: string, raw: unknown, rootDir: string): AssetsConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isTable(raw)) throw new ConfigError(file, 'assets', 'a table { directory = "./public" }', raw);
  const { directory, binding } = raw;
  if (typeof directory !== 'string' || directory === '')
    throw new ConfigError(file, 'assets.directory', 'the path of the folder of static files', directory);
  const dir = isAbsolute(directory) ? directory : resolve(rootDir, directory);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError(
      file,
      'assets.directory',
      'an existing folder',
      `${directory} (not found at ${dir})`,
    );
  if (binding !== undefined && (typeof binding !== 'string' || !BINDING_NAME.test(binding)))
    throw new ConfigError(file, 'assets.binding', 'a JavaScript identifier', binding);
  const first = raw.run_worker_first ?? false;
  if (
    typeof first !== 'boolean' &&
    !(Array.isArray(first) && first.every((p) => typeof p === 'string' && /^!?\//.test(p)))
  )
    throw new ConfigError(
      file,
      'assets.run_worker_first',
      'true, false, or a list of route patterns starting with "/" (or "!/" to exclude)',
      first,
    );
  if (Array.isArray(first)) {
    if (first.length > 100)
      throw new ConfigError(
        file,
        'assets.run_worker_first',
        'at most 100 route patterns',
        `${first.length} patterns`,
      );
    first.forEach((p, i) => {
      // Globs matched on every request: kept simple enough that no path makes them slow.
      const wild = (p.match(/[*?]/g) ?? []).length;
      if (p.length > 256 || wild > 4 || /[*?][*?]/.test(p.replace(/\/\*\*(\/|$)/g, '/x$1')))
        throw new ConfigError(
          file,
          `assets.run_worker_first[${i}]`,
          'a route pattern of at most 256 characters with at most 4 wildcards, none next to another (except "/**")',
          p,
        );
    });
  }
  for (const key of Object.keys(raw)) {
    if (!['directory', 'binding', 'html_handling', 'not_found_handling', 'run_worker_first'].includes(key))
      throw new ConfigError(file, `assets.${key}`, 'absent (not an assets option)', raw[key]);
  }
  return {
    directory: dir,
    binding: binding as string | undefined,
    htmlHandling: oneOf(
      file,
      'assets.html_handling',
      raw.html_handling,
      HTML_HANDLING,
      'auto-trailing-slash',
    ),
    notFoundHandling: oneOf(
      file,
      'assets.not_found_handling',
      raw.not_found_handling,
      NOT_FOUND_HANDLING,
      'none',
    ),
    runWorkerFirst: first as boolean | string[],
  };
}
