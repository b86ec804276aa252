/**
 * A deployable version of a worker: what `outpost deploy` builds once and every node runs
 * without bundling again. It holds the bundle (code, source map), the parsed config with its
 * paths made relative, and the files of the static-assets folder. Its id is the sha256 of its
 * canonical bytes, so the same build deployed twice is the same version, and a node can check
 * that what it fetched is what was deployed.
 *
 * Deliberately not in it: secrets from `.dev.vars` (`wrangler deploy` does not upload them
 * either; docs/deploying.md says how to give nodes their secrets) and Outpost's state (`.outpost/`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readManifest, readRuleFile } from '../assets/index.ts';
import type { WorkerConfig } from '../config/index.ts';
import type { Bundle } from '../runtime/index.ts';

/**
 * The artifact format this code writes; another number than these it reads is refused by name.
 * 2: a bundle's async functions call the loader's `__outpostFrames` (runtime/bundle-awaits.ts),
 * which an Outpost reading only 1 does not provide: it refuses them by name instead of failing
 * every call. Format 1 bundles (async functions lowered) still run here.
 */
export const ARTIFACT_FORMAT = 2;
const READABLE_FORMATS: readonly number[] = [1, 2];
/** Largest artifact (compressed) a deploy stores: Cloudflare's paid-plan worker limit is 10 MB, plus assets. */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

export interface Artifact {
  format: number;
  worker: string;
  bundle: Pick<Bundle, 'code' | 'map' | 'hash' | 'format' | 'filename' | 'runtimeImports'>;
  /** The config, paths relative to the project's folder (`main`, `assets.directory`). */
  config: WorkerConfig;
  /** The assets folder's files (those served and its rule files), path → base64 content. */
  assets: Record<string, string>;
}

export class ArtifactError extends Error {
  readonly code = 'ARTIFACT_INVALID';
}

/** The config's bigints (large TOML integers) survive the JSON round trip tagged. */
const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v);
const reviver = (_k: string, v: unknown) =>
  v && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
    ? BigInt((v as { $bigint: string }).$bigint)
    : v;

const rel = (root: string, p: string) => relative(root, p).split(sep).join('/');

/**
 * The artifact of a built project. Secrets (names from `.dev.vars`) are left out and returned,
 * so the caller can say so.
 */
export function makeArtifact(
  config: WorkerConfig,
  bundle: Bundle,
): { artifact: Artifact; leftOut: string[] } {
  const root = config.projectDir;
  const vars = { ...config.vars };
  for (const name of config.secretNames) delete vars[name];
  const assets: Record<string, string> = {};
  if (config.assets) {
    const dir = config.assets.directory;
    for (const [path, file] of readManifest(dir, root))
      assets[path.replace(/^\//, '')] = readFileSync(file.file).toString('base64');
    for (const name of ['_headers', '_redirects', '.assetsignore']) {
      const text = readRuleFile(dir, name, root);
      if (text !== '') assets[name] = Buffer.from(text).toString('base64');
    }
  }
  const portable: WorkerConfig = {
    ...config,
    configPath: rel(root, config.configPath),
    rootDir: rel(root, config.rootDir) || '.',
    projectDir: '.',
    main: config.main === undefined ? undefined : rel(root, config.main),
    assets: config.assets
      ? { ...config.assets, directory: rel(root, config.assets.directory) || '.' }
      : undefined,
    vars,
    secretNames: [],
  };
  const { code, map, hash, format, filename, runtimeImports } = bundle;
  return {
    artifact: {
      format: ARTIFACT_FORMAT,
      worker: config.name,
      bundle: {
        code,
        map,
        hash,
        format,
        filename,
        ...(runtimeImports === undefined ? {} : { runtimeImports }),
      },
      config: portable,
      assets,
    },
    leftOut: config.secretNames,
  };
}

/** The stored form: gzip of the canonical JSON, and its id (sha256 hex of the JSON). */
export function encodeArtifact(a: Artifact): { id: string; bytes: Uint8Array } {
  const json = Buffer.from(JSON.stringify(a, replacer));
  const bytes = gzipSync(json);
  if (bytes.byteLength > MAX_ARTIFACT_BYTES)
    throw new ArtifactError(
      `the artifact of "${a.worker}" is ${bytes.byteLength} bytes compressed, more than ${MAX_ARTIFACT_BYTES}`,
    );
  return { id: createHash('sha256').update(json).digest('hex'), bytes };
}

/** An artifact from its stored bytes, checked against the id it was stored under. */
export function decodeArtifact(id: string, bytes: Uint8Array): Artifact {
  let json: Buffer;
  try {
    json = gunzipSync(bytes);
  } catch (err) {
    throw new ArtifactError(`artifact ${id.slice(0, 12)}: not gzip (${(err as Error).message})`);
  }
  const actual = createHash('sha256').update(json).digest('hex');
  if (actual !== id)
    throw new ArtifactError(`artifact ${id.slice(0, 12)}: content hash is ${actual.slice(0, 12)}`);
  const a = JSON.parse(json.toString('utf8'), reviver) as Artifact;
  if (!READABLE_FORMATS.includes(a.format))
    throw new ArtifactError(
      `artifact ${id.slice(0, 12)}: format ${String(a.format)}, this Outpost reads ${READABLE_FORMATS.join(' and ')}`,
    );
  return a;
}

/**
 * Lay an artifact out under `dir` (its assets as files) and give back the bundle and config the
 * runtime deploys, paths pointing there. Written to a temporary folder first and renamed, so a
 * crash mid-write never leaves a half version that looks complete.
 */
export function materialize(id: string, a: Artifact, dir: string): { bundle: Bundle; config: WorkerConfig } {
  const home = join(dir, id);
  const tmp = `${home}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const assetsDir = a.config.assets ? join(home, 'assets') : null;
  if (a.config.assets) {
    mkdirSync(join(tmp, 'assets'), { recursive: true });
    for (const [path, b64] of Object.entries(a.assets)) {
      // Paths came from a manifest walk; anything climbing out is not from one.
      if (path.split('/').some((p) => p === '..' || p === '') || path.startsWith('/'))
        throw new ArtifactError(
          `artifact ${id.slice(0, 12)}: asset path "${path}" is not a plain relative path`,
        );
      const file = join(tmp, 'assets', path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, Buffer.from(b64, 'base64'));
    }
  }
  mkdirSync(tmp, { recursive: true });
  rmSync(home, { recursive: true, force: true });
  renameSync(tmp, home);
  const config: WorkerConfig = {
    ...a.config,
    configPath: join(home, a.config.configPath),
    rootDir: home,
    projectDir: home,
    main: a.config.main === undefined ? undefined : join(home, a.config.main),
    assets: a.config.assets && assetsDir ? { ...a.config.assets, directory: assetsDir } : undefined,
  };
  // The hash is the bundle's own, not the artifact's word for it (it names the version).
  const hash = createHash('sha256').update(a.bundle.code).digest('hex');
  return { bundle: { ...a.bundle, hash, inputs: [] }, config };
}
