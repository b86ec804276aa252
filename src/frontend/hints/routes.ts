/**
 * Build-time hints per route: the `[[early_hints.manifest]]` tables of the config, each a URL
 * path pattern, a build manifest and the entry whose files that page loads,
 *
 *   [[early_hints.manifest]]
 *   path = "/"                    # `*` (one, any characters) and `:name` (one whole segment)
 *   entry = "src/main.tsx"        # a key of Vite's manifest, or a webpack entry point's name
 *   manifest = "dist/.vite/manifest.json"
 *   base = "/"                    # optional: Vite's base / webpack's publicPath
 *
 * turned into one matcher from a request path to its preload Link values. Such hints are known
 * before any response was seen, so they can go out on the first request after a deploy, where
 * the remembered ones (cache.ts) cannot; a PoP may send both (`mergeLinks`). The route patterns
 * read like those of Cloudflare's `_headers` and `_redirects`
 * (https://developers.cloudflare.com/workers/static-assets/headers/): a splat `*` and `:name`
 * placeholders, matched against the path as sent (percent-encoded). The first route that
 * matches wins, in the order given.
 *
 * Pure: reading and parsing the config and the files is the caller's; `readManifest` is called
 * once per distinct file and returns its parsed JSON. Which format a file is in is told by its
 * shape: webpack stats have `entrypoints` or `assetsByChunkName`, anything else is read as a
 * Vite manifest. Every problem throws a BuildManifestError naming the route.
 */
import { compilePattern, patternProblem } from '../../assets/rules.ts';
import { BuildManifestError, isRecord } from './preload.ts';
import { preloadsFromViteManifest } from './vite.ts';
import { preloadsFromWebpackStats } from './webpack.ts';

export interface ManifestRoute {
  path: string;
  entry: string;
  manifest: string;
  base?: string;
}

export interface RoutePreload {
  path: string;
  entry: string;
  manifest: string;
  links: readonly string[];
}

export interface RoutePreloads {
  readonly routes: readonly RoutePreload[];
  /** The Link values of the first route matching `pathname` (as sent), or undefined. */
  match(pathname: string): string[] | undefined;
}

export interface RoutePreloadOptions {
  /** How errors name the routes; default `early_hints.manifest`. */
  where?: string;
  /** Passed to the manifest readers (their defaults: Vite true, webpack false). */
  crossorigin?: boolean;
}

/** Longest pattern and path looked at. */
export const ROUTE_PATH_MAX = 2048;

/**
 * Why a pattern cannot be used, or null: the rules of `_headers` and `_redirects` patterns
 * (src/assets/rules.ts), and a leading "/".
 */
function problemOf(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with /';
  const problem = patternProblem(pattern);
  return problem && `is not a pattern: ${problem}`;
}

/** A pattern → a test of a path as sent (the matcher of `_headers` patterns). */
function compile(raw: string): (path: string) => boolean {
  const match = compilePattern(raw);
  return (path) => path.length <= ROUTE_PATH_MAX && match(path) !== null;
}

const isWebpackStats = (m: unknown) => isRecord(m) && ('entrypoints' in m || 'assetsByChunkName' in m);

export function routePreloads(
  routes: readonly ManifestRoute[],
  readManifest: (file: string) => unknown,
  options: RoutePreloadOptions = {},
): RoutePreloads {
  const where = options.where ?? 'early_hints.manifest';
  const files = new Map<string, unknown>();
  const built = new Map<string, Record<string, string[]>>();
  const compiled: { route: RoutePreload; test: (path: string) => boolean }[] = [];

  routes.forEach((r, i) => {
    const at = `${where}[${i}]`;
    for (const f of ['path', 'entry', 'manifest'] as const)
      if (typeof r?.[f] !== 'string' || r[f] === '')
        throw new BuildManifestError(`${at}.${f} must be a non-empty string`);
    if (r.base !== undefined && typeof r.base !== 'string')
      throw new BuildManifestError(`${at}.base must be a string`);
    const problem = problemOf(r.path);
    if (problem) throw new BuildManifestError(`${at}.path ${JSON.stringify(r.path)} ${problem}`);

    if (!files.has(r.manifest)) files.set(r.manifest, readManifest(r.manifest));
    const content = files.get(r.manifest);
    const webpack = isWebpackStats(content);
    const id = `${r.manifest}\u0000${r.base ?? ''}`;
    let preloads = built.get(id);
    if (!preloads) {
      const opts = { source: r.manifest, crossorigin: options.crossorigin };
      preloads = webpack
        ? preloadsFromWebpackStats(content, r.base, opts)
        : preloadsFromViteManifest(content, r.base ?? '/', opts);
      built.set(id, preloads);
    }
    if (!Object.hasOwn(preloads, r.entry)) {
      const known = Object.keys(preloads)
        .map((k) => JSON.stringify(k))
        .join(', ');
      const what = webpack
        ? 'is not an entry point of'
        : isRecord(content) && Object.hasOwn(content, r.entry)
          ? 'is in, but not an entry (isEntry or isDynamicEntry) of,'
          : 'is not a key of';
      throw new BuildManifestError(
        `${at}.entry ${JSON.stringify(r.entry)} ${what} ${r.manifest}; its entries: ${known || 'none'}`,
      );
    }
    const route = { path: r.path, entry: r.entry, manifest: r.manifest, links: preloads[r.entry] };
    compiled.push({ route, test: compile(r.path) });
  });

  return {
    routes: compiled.map((c) => c.route),
    match(pathname) {
      const hit = compiled.find((c) => c.test(pathname));
      return hit ? [...hit.route.links] : undefined;
    },
  };
}
