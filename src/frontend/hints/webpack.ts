/**
 * Preload hints from webpack's stats JSON (`webpack --json > stats.json`, or
 * `stats.toJson()`; https://webpack.js.org/api/stats/). Two shapes name an entry's files:
 *
 *   entrypoints[name].assets   every file the entry's page loads, runtime and split vendor
 *                              chunks included, in load order: webpack 5 lists objects
 *                              `{ name, size }`, webpack 4 plain strings. Preferred.
 *   assetsByChunkName[name]    the files of the chunk called `name` only (a string, or an array
 *                              of strings); used when the stats have no entrypoints.
 *
 * Files are preloaded by extension: `.js`/`.mjs`/`.cjs` as=script, `.css` as=style, anything
 * else (source maps, hot-update files' `.json`, license texts, images) is skipped, and so are
 * `*.hot-update.js` files, which only a dev server's HMR loads. Stylesheets come first, then
 * scripts, each in webpack's order.
 *
 * The public path is the `publicPath` argument, else the stats' `publicPath`. webpack 5's
 * default `"auto"` is worked out in the browser from the script's own URL, so with it the
 * argument is required. No `crossorigin` by default: html-webpack-plugin writes classic
 * `<script defer src>` and `<link rel="stylesheet">` without it, and a preload is reused only
 * when its CORS mode matches the tag's; pass `crossorigin: true` with `scriptLoading: 'module'`.
 *
 * Not read: multi-compiler stats (`children`; pass one child), `auxiliaryAssets`, chunk groups
 * other than entry points (`namedChunkGroups`), and webpack's runtime `import()` preloads.
 */
import {
  BuildManifestError,
  checkBase,
  describe,
  isRecord,
  type PreloadKind,
  preloadKind,
  preloadLink,
  underBase,
} from './preload.ts';

export interface WebpackPreloadOptions {
  /** How errors name the input (a path); default `stats.json`. */
  source?: string;
  /** Add `crossorigin` to every preload (default false, as html-webpack-plugin's tags have none). */
  crossorigin?: boolean;
}

/** One entry point's asset list as file names; throws naming the first bad element. */
function assetNames(list: unknown, at: string): string[] {
  if (typeof list === 'string') return [list];
  if (!Array.isArray(list)) throw new BuildManifestError(`${at} must be an array, not ${describe(list)}`);
  return list.map((a, i) => {
    if (typeof a === 'string' && a !== '') return a;
    if (isRecord(a) && typeof a.name === 'string' && a.name !== '') return a.name;
    throw new BuildManifestError(`${at}[${i}] must be a file name or an object with a string name`);
  });
}

/** Per entry point (or named chunk), the preload Link values its page needs. */
export function preloadsFromWebpackStats(
  stats: unknown,
  publicPath?: string,
  options: WebpackPreloadOptions = {},
): Record<string, string[]> {
  const source = options.source ?? 'stats.json';
  if (!isRecord(stats))
    throw new BuildManifestError(`${source}: must be webpack's stats JSON object, not ${describe(stats)}`);
  let base: string;
  if (publicPath !== undefined) base = checkBase(publicPath, `${source}: publicPath`);
  else if (stats.publicPath === undefined)
    throw new BuildManifestError(
      `${source}: has no publicPath; pass the path the assets are served under (e.g. "/")`,
    );
  else if (stats.publicPath === 'auto')
    throw new BuildManifestError(
      `${source}: publicPath is "auto" (worked out in the browser); pass the path the assets are served under`,
    );
  else base = checkBase(stats.publicPath, `${source}: publicPath`);

  let groups: [string, string[]][];
  if (stats.entrypoints !== undefined) {
    if (!isRecord(stats.entrypoints))
      throw new BuildManifestError(
        `${source}: entrypoints must be an object, not ${describe(stats.entrypoints)}`,
      );
    groups = Object.entries(stats.entrypoints).map(([name, ep]) => {
      const at = `${source}: entrypoints[${JSON.stringify(name)}]`;
      if (!isRecord(ep)) throw new BuildManifestError(`${at} must be an object, not ${describe(ep)}`);
      return [name, assetNames(ep.assets, `${at}.assets`)];
    });
  } else if (stats.assetsByChunkName !== undefined) {
    if (!isRecord(stats.assetsByChunkName))
      throw new BuildManifestError(
        `${source}: assetsByChunkName must be an object, not ${describe(stats.assetsByChunkName)}`,
      );
    groups = Object.entries(stats.assetsByChunkName).map(([name, files]) => [
      name,
      assetNames(files, `${source}: assetsByChunkName[${JSON.stringify(name)}]`),
    ]);
  } else {
    const hint = Array.isArray(stats.children) ? ' (multi-compiler stats: pass one of its children)' : '';
    throw new BuildManifestError(`${source}: has neither entrypoints nor assetsByChunkName${hint}`);
  }

  const crossorigin = options.crossorigin ?? false;
  const out: [string, string[]][] = [];
  for (const [name, files] of groups) {
    const styles: string[] = [];
    const scripts: string[] = [];
    for (const file of files) {
      if (/\.hot-update\.[cm]?js$/i.test(file)) continue;
      const kind: PreloadKind | undefined = preloadKind(file);
      if (kind === undefined) continue;
      const link = preloadLink(underBase(base, file), kind, crossorigin);
      const list = kind === 'style' ? styles : scripts;
      if (!list.includes(link)) list.push(link);
    }
    out.push([name, [...styles, ...scripts]]);
  }
  return Object.fromEntries(out);
}
