/**
 * What the build-manifest readers (vite.ts, webpack.ts) share: the error they throw, how a
 * file becomes a URL under the public base, and how a file becomes a preload Link value.
 *
 * Only scripts (`.js`, `.mjs`, `.cjs`) and stylesheets (`.css`) are preloaded; other files a
 * build lists (images, fonts, source maps, license texts) are left alone: what a page uses of
 * them is not in a manifest, and a wrong preload costs bandwidth the page needed.
 */
import { formatLink } from './link.ts';

/** A build manifest or stats file that is not of the shape read; the message names the place. */
export class BuildManifestError extends Error {
  override name = 'BuildManifestError';
}

export type PreloadKind = 'script' | 'style';

/** How a build output file is preloaded, by its extension; undefined: not preloaded. */
export function preloadKind(file: string): PreloadKind | undefined {
  const path = file.replace(/[?#].*$/s, '');
  if (/\.(?:m|c)?js$/i.test(path)) return 'script';
  if (/\.css$/i.test(path)) return 'style';
  return undefined;
}

/**
 * A build file under the public base, as the build itself writes it into HTML: `base` ends in
 * `/` (one is added), the file's own leading slashes are dropped (so `/` + `/x` never becomes
 * the protocol-relative `//x`). An empty base leaves the file relative, which a Link target
 * resolves against the request URL just as the page's own `<script src>` does.
 */
export function underBase(base: string, file: string): string {
  const rel = file.replace(/^\/+/, '');
  if (base === '') return rel;
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/** A public base or path a Link target can be built on; throws a BuildManifestError if not. */
export function checkBase(base: unknown, what: string): string {
  if (typeof base !== 'string') throw new BuildManifestError(`${what} must be a string`);
  if (/[\s\u0000-\u001f\u007f<>"]/.test(base))
    throw new BuildManifestError(
      `${what} ${JSON.stringify(base)} holds whitespace, a control character, <, > or "`,
    );
  return base;
}

/** A preload Link value for one build file. */
export function preloadLink(href: string, kind: PreloadKind, crossorigin: boolean): string {
  const params = [
    { name: 'rel', value: 'preload' },
    { name: 'as', value: kind },
  ];
  const link = formatLink({
    target: href,
    params: crossorigin ? [...params, { name: 'crossorigin', value: undefined }] : params,
  });
  // Only fixed token values above: formatLink cannot refuse them.
  return link as string;
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** "an array", "null", "a string", … for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : `${t === 'undefined' ? '' : /^[aeiou]/.test(t) ? 'an ' : 'a '}${t}`;
}
