/**
 * The files of an assets directory, read once per deploy: path → file, size, ETag and content
 * type. `_headers`, `_redirects`, `.assetsignore` and what `.assetsignore` names are not served
 * (https://developers.cloudflare.com/workers/static-assets/binding/#ignoring-assets).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import mime from 'mime';
import picomatch from 'picomatch';

export interface AssetFile {
  /** Absolute path on disk. */
  file: string;
  size: number;
  /** Strong ETag, quoted: a hash of the content. */
  etag: string;
  contentType: string;
}

/** Cloudflare's limits: 20,000 files (free plan) of at most 25 MiB each. */
export const ASSET_LIMITS = { MAX_FILES: 20_000, MAX_FILE_BYTES: 25 * 1024 * 1024 } as const;

const NEVER_SERVED = new Set(['_headers', '_redirects', '.assetsignore', '_worker.js', '_routes.json']);
/**
 * Never served wherever they are: Outpost's own state (`.outpost/` holds the admin token) and
 * secrets (`.dev.vars`), as the bundler never reads them either.
 */
const PRIVATE_DIRS = new Set(['.outpost', '.wrangler', '.git', 'node_modules']);
const PRIVATE_FILE = /^\.dev\.vars(\..*)?$/;

/** Whether a resolved path is (or lies in) Outpost's state or a secrets file, judged from the root. */
function isPrivate(realRoot: string, real: string): boolean {
  const parts = relative(realRoot, real).split(sep);
  return parts.some((p) => PRIVATE_DIRS.has(p)) || PRIVATE_FILE.test(parts[parts.length - 1] ?? '');
}

/** Whether `path` (symbolic links resolved) is `root` or lies under it. */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export class AssetsError extends Error {
  readonly code = 'ASSETS_INVALID';
}

function contentType(path: string): string {
  const type = mime.getType(path) ?? 'application/octet-stream';
  return /^text\/|^application\/(javascript|json|xml|manifest\+json)|\+xml$/.test(type)
    ? `${type}; charset=utf-8`
    : type;
}

/** Rule files (`.assetsignore`, `_redirects`, `_headers`) are small text files; larger ones are not read. */
export const RULE_FILE_MAX_BYTES = 1024 * 1024;

/**
 * A rule file of the assets folder, or '' when there is none. Read only when it is a regular
 * file inside the project (links resolved) of at most RULE_FILE_MAX_BYTES: a link to a host
 * file, a FIFO (which would block the read for ever) or /dev/zero is refused, naming it.
 */
export function readRuleFile(dir: string, name: string, root: string): string {
  const file = join(dir, name);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return '';
  }
  if (!inside(realpathSync(root), real))
    throw new AssetsError(`assets: ${name} leads outside the project's folder (to ${real})`);
  const st = statSync(real);
  if (!st.isFile()) throw new AssetsError(`assets: ${name} is not a regular file`);
  if (st.size > RULE_FILE_MAX_BYTES)
    throw new AssetsError(`assets: ${name} is ${st.size} bytes, more than ${RULE_FILE_MAX_BYTES}`);
  return readFileSync(real, 'utf8');
}

function ignoreMatcher(dir: string, root: string): (rel: string) => boolean {
  const text = readRuleFile(dir, '.assetsignore', root);
  if (text === '') return () => false;
  const patterns = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // gitignore-like: a pattern without "/" matches a name anywhere; a trailing "/" a folder.
  const globs = patterns.flatMap((p) => {
    const anchored = p.startsWith('/') ? p.slice(1) : p.includes('/') ? p : `**/${p}`;
    const base = anchored.replace(/\/$/, '');
    return [base, `${base}/**`];
  });
  return globs.length ? picomatch(globs, { dot: true }) : () => false;
}

/**
 * Walk `dir`; keys are URL paths ("/a/b.html"). The folder and every file, symbolic links
 * resolved, must lie under `root` (the project's folder): a tenant's config names its own files,
 * never the host's (`directory = "/etc"`, or a link to one inside `public/`).
 */
export function readManifest(dir: string, root: string = dir): Map<string, AssetFile> {
  const realRoot = realpathSync(root);
  const realDir = realpathSync(dir);
  if (!inside(realRoot, realDir))
    throw new AssetsError(`assets: the directory ${dir} is outside the project's folder ${root}`);
  if (isPrivate(realRoot, realDir))
    throw new AssetsError(
      `assets: the directory ${dir} is Outpost's state or a secrets file, which is never served`,
    );
  const ignored = ignoreMatcher(dir, root);
  const out = new Map<string, AssetFile>();
  const seen = new Set<string>([realDir]);
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const abs = join(d, entry.name);
      const rel = relative(dir, abs).split(sep).join('/');
      if (ignored(rel)) continue;
      if (PRIVATE_DIRS.has(entry.name) || PRIVATE_FILE.test(entry.name)) continue;
      if (!entry.isDirectory() && !entry.isFile() && !entry.isSymbolicLink()) continue;
      let real: string;
      try {
        real = realpathSync(abs);
      } catch {
        continue; // a dangling link
      }
      if (!inside(realRoot, real))
        throw new AssetsError(`assets: ${rel} leads outside the project's folder (to ${real})`);
      // Also through a link: what it leads to is judged, not its name.
      if (isPrivate(realRoot, real)) continue;
      const st = statSync(real);
      if (st.isDirectory()) {
        // A link back up the tree would loop for ever: a folder is walked once.
        if (seen.has(real)) continue;
        seen.add(real);
        walk(abs);
        continue;
      }
      if (d === dir && NEVER_SERVED.has(entry.name)) continue;
      if (!st.isFile()) continue;
      if (st.size > ASSET_LIMITS.MAX_FILE_BYTES)
        throw new AssetsError(
          `assets: ${rel} is ${st.size} bytes, over the limit of ${ASSET_LIMITS.MAX_FILE_BYTES} per file`,
        );
      if (out.size >= ASSET_LIMITS.MAX_FILES)
        throw new AssetsError(`assets: more than ${ASSET_LIMITS.MAX_FILES} files in ${dir}`);
      const hash = createHash('sha256').update(readFileSync(real)).digest('hex').slice(0, 32);
      out.set(`/${rel}`, { file: real, size: st.size, etag: `"${hash}"`, contentType: contentType(rel) });
    }
  };
  walk(dir);
  return out;
}
