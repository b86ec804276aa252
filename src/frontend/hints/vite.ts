/**
 * Preload hints from Vite's build manifest (`build.manifest: true` writes
 * `<outDir>/.vite/manifest.json`; https://vite.dev/guide/backend-integration). The manifest maps
 * each source key (`src/main.tsx`, `index.html`, `_shared-<hash>.js` for a shared chunk) to a
 * chunk:
 *
 *   file            the output file, relative to outDir
 *   css             stylesheets the chunk imports
 *   imports         keys of the chunks it imports statically (JS chunks only)
 *   dynamicImports  keys of the chunks it imports with import() — not preloaded
 *   assets          other files it references (images, fonts) — not preloaded
 *   isEntry, isDynamicEntry, src, name
 *
 * For an entry this gives what Vite's own HTML build puts in the page's head: the entry's
 * script, the chunks it imports statically (followed transitively, post-order, each once;
 * imports can form cycles: a dynamic entry imports the entry that loads it), and the CSS of
 * all of them, imported chunks' CSS before the chunk's own. Stylesheets come first in the list
 * (they block rendering), then scripts.
 *
 * `rel=preload; as=script; crossorigin` instead of Vite's `rel=modulepreload`: Cloudflare keeps
 * only preload and preconnect Link values for Early Hints
 * (https://developers.cloudflare.com/cache/advanced-configuration/early-hints/), and the HTML
 * standard's 103 processing reads only those two: modulepreload in Early Hints is an open
 * proposal (whatwg/html#7854, #7862); Chromium treats it as a plain preload and WebKit skips it.
 * A preload is reused only when its request matches the one that consumes it, and a module
 * script is fetched in CORS mode with same-origin credentials, which `crossorigin` (anonymous)
 * gives the preload. What is lost is modulepreload's early parse and its fetching of
 * dependencies — which the list already names one by one. Stylesheets carry `crossorigin` too
 * because Vite writes `<link rel="stylesheet" crossorigin>`; pass `crossorigin: false` when the
 * page's tags come from a backend template without it.
 *
 * The entry key is the manifest's key (`src/main.tsx`, or `index.html` for an HTML entry); both
 * entries and dynamic entries (a route's lazily loaded page) get a list.
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

/** One chunk of `.vite/manifest.json` (Vite 5 and 6: `ManifestChunk`). */
export interface ViteManifestChunk {
  file: string;
  src?: string;
  name?: string;
  css?: string[];
  assets?: string[];
  imports?: string[];
  dynamicImports?: string[];
  isEntry?: boolean;
  isDynamicEntry?: boolean;
}

export interface ManifestPreloadOptions {
  /** How errors name the input (a path); default `manifest.json`. */
  source?: string;
  /** Add `crossorigin` to every preload (default true, as Vite's HTML has it). */
  crossorigin?: boolean;
}

const STRING_LISTS = ['css', 'assets', 'imports', 'dynamicImports'] as const;

/** The manifest checked field by field; throws a BuildManifestError naming the first problem. */
export function checkViteManifest(
  manifest: unknown,
  source = 'manifest.json',
): Map<string, ViteManifestChunk> {
  if (!isRecord(manifest))
    throw new BuildManifestError(
      `${source}: must be a JSON object mapping source paths to chunks, not ${describe(manifest)}`,
    );
  const chunks = new Map<string, ViteManifestChunk>();
  for (const [key, raw] of Object.entries(manifest)) {
    const at = `${source}: entry ${JSON.stringify(key)}`;
    if (!isRecord(raw)) throw new BuildManifestError(`${at} must be an object, not ${describe(raw)}`);
    if (typeof raw.file !== 'string') throw new BuildManifestError(`${at}.file must be a string`);
    if (raw.file === '') throw new BuildManifestError(`${at}.file must not be empty`);
    for (const f of ['src', 'name'] as const)
      if (raw[f] !== undefined && typeof raw[f] !== 'string')
        throw new BuildManifestError(`${at}.${f} must be a string`);
    for (const f of ['isEntry', 'isDynamicEntry'] as const)
      if (raw[f] !== undefined && typeof raw[f] !== 'boolean')
        throw new BuildManifestError(`${at}.${f} must be true or false`);
    for (const f of STRING_LISTS) {
      const list = raw[f];
      if (list === undefined) continue;
      if (!Array.isArray(list)) throw new BuildManifestError(`${at}.${f} must be an array of strings`);
      list.forEach((v, i) => {
        if (typeof v !== 'string' || v === '')
          throw new BuildManifestError(`${at}.${f}[${i}] must be a non-empty string`);
      });
    }
    chunks.set(key, raw as unknown as ViteManifestChunk);
  }
  for (const [key, chunk] of chunks)
    for (const f of ['imports', 'dynamicImports'] as const)
      chunk[f]?.forEach((k, i) => {
        if (!chunks.has(k))
          throw new BuildManifestError(
            `${source}: entry ${JSON.stringify(key)}.${f}[${i}] names ${JSON.stringify(k)}, which is not in the manifest`,
          );
      });
  return chunks;
}

/** The files to preload for one chunk: its CSS (imports' first) and its scripts (its own first). */
function filesFor(chunks: Map<string, ViteManifestChunk>, key: string): { css: string[]; js: string[] } {
  const css: string[] = [];
  const seenCss = new Set<string>();
  const seenForCss = new Set<string>();
  const collectCss = (k: string) => {
    if (seenForCss.has(k)) return;
    seenForCss.add(k);
    const c = chunks.get(k) as ViteManifestChunk;
    for (const imp of c.imports ?? []) collectCss(imp);
    for (const f of c.css ?? [])
      if (!seenCss.has(f)) {
        seenCss.add(f);
        css.push(f);
      }
  };
  collectCss(key);

  const js: string[] = [(chunks.get(key) as ViteManifestChunk).file];
  const seen = new Set<string>([key]);
  const imported = (k: string) => {
    for (const imp of (chunks.get(k) as ViteManifestChunk).imports ?? []) {
      if (seen.has(imp)) continue;
      seen.add(imp);
      imported(imp);
      js.push((chunks.get(imp) as ViteManifestChunk).file);
    }
  };
  imported(key);
  return { css, js };
}

/**
 * Per entry and dynamic entry of a Vite manifest, the preload Link values its page needs.
 * `base` is Vite's `base` (default `/`; a CDN URL works; `./` or `` leave targets relative).
 */
export function preloadsFromViteManifest(
  manifest: unknown,
  base = '/',
  options: ManifestPreloadOptions = {},
): Record<string, string[]> {
  const source = options.source ?? 'manifest.json';
  checkBase(base, `${source}: base`);
  const chunks = checkViteManifest(manifest, source);
  const crossorigin = options.crossorigin ?? true;
  const out: [string, string[]][] = [];
  for (const [key, chunk] of chunks) {
    if (!chunk.isEntry && !chunk.isDynamicEntry) continue;
    const { css, js } = filesFor(chunks, key);
    const links: string[] = [];
    const add = (file: string, kind: PreloadKind | undefined) => {
      if (kind === undefined) return;
      const link = preloadLink(underBase(base, file), kind, crossorigin);
      if (!links.includes(link)) links.push(link);
    };
    for (const f of css) add(f, 'style');
    for (const f of js) add(f, preloadKind(f));
    out.push([key, sortStylesFirst(links)]);
  }
  return Object.fromEntries(out);
}

/** Stylesheets before scripts, each group in its own order (a CSS entry's file is a style). */
function sortStylesFirst(links: string[]): string[] {
  const isStyle = (l: string) => /; as=style(?:;|$)/.test(l);
  return [...links.filter(isStyle), ...links.filter((l) => !isStyle(l))];
}
