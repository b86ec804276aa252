/**
 * The page features of a site in outpost.toml: `[esi]` (Edge Side Includes at the PoP) and
 * `[early_hints]` (103 Early Hints). The behaviour is src/frontend/ and src/pop/pages.ts.
 *
 *   [esi]
 *   paths = ["/pages/*"]        # processed whatever the response says (default: only responses
 *                               # with Surrogate-Control: content="ESI/1.0")
 *   enabled = true              # false: never processed, not even when asked
 *   timeout_ms = 5000           # per fragment
 *   max_depth = 5               # nested includes
 *   on_include_error = "empty"  # or "fail": the page ends there (ESI 1.0 §3.1)
 *   on_malformed = "report"     # or "pass": malformed markup goes on as it was, reported or not
 *
 *   [early_hints]
 *   enabled = true              # default true
 *   http1 = true                # also over HTTP/1.1 (Cloudflare sends them over HTTP/2+ only)
 *   exclude = ["/admin/*"]      # paths that never get a 103
 *   [[early_hints.manifest]]    # preloads from a build manifest (src/frontend/hints/routes.ts)
 *   path = "/"
 *   entry = "index.html"
 *   manifest = "dist/.vite/manifest.json"   # relative to outpost.toml
 */
import { isAbsolute, resolve } from 'node:path';
import { known } from './cache-policies.ts';
import { ConfigError } from './errors.ts';
import { pathPatterns } from './security.ts';

export interface EsiConfig {
  enabled: boolean;
  /** Paths processed without being asked; empty: only what asks. */
  patterns: RegExp[];
  timeoutMs: number;
  maxDepth: number;
  onIncludeError: 'empty' | 'fail';
  onMalformed: 'pass' | 'report';
}

export interface EarlyHintsConfig {
  enabled: boolean;
  http1: boolean;
  exclude: RegExp[];
  /** Manifest paths made absolute (from the config's folder). */
  manifests: { path: string; entry: string; manifest: string; base?: string }[];
}

type Fail = (key: string, expected: string, got: unknown) => never;

function table(v: unknown, key: string, fail: Fail): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(key, 'a table', v);
  return v as Record<string, unknown>;
}

function bool(v: unknown, key: string, fallback: boolean, fail: Fail): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') return fail(key, 'true or false', v);
  return v;
}

function int(v: unknown, key: string, fallback: number, min: number, max: number, fail: Fail): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    return fail(key, `a whole number from ${min} to ${max}`, v);
  return v;
}

function oneOf<T extends string>(v: unknown, key: string, values: readonly T[], fail: Fail): T {
  if (v === undefined) return values[0];
  if (typeof v !== 'string' || !values.includes(v as T))
    return fail(key, values.map((x) => `"${x}"`).join(' or '), v);
  return v as T;
}

export function parseEsi(raw: unknown, file: string): EsiConfig {
  const fail: Fail = (key, expected, got) => {
    throw new ConfigError(file, key, expected, got);
  };
  const t = table(raw, 'esi', fail);
  known(t, ['enabled', 'paths', 'timeout_ms', 'max_depth', 'on_include_error', 'on_malformed'], 'esi.', fail);
  return {
    enabled: bool(t.enabled, 'esi.enabled', true, fail),
    patterns: t.paths === undefined ? [] : pathPatterns(t.paths, 'esi.paths', fail).patterns,
    timeoutMs: int(t.timeout_ms, 'esi.timeout_ms', 5000, 1, 600_000, fail),
    maxDepth: int(t.max_depth, 'esi.max_depth', 5, 0, 20, fail),
    onIncludeError: oneOf(t.on_include_error, 'esi.on_include_error', ['empty', 'fail'] as const, fail),
    onMalformed: oneOf(t.on_malformed, 'esi.on_malformed', ['report', 'pass'] as const, fail),
  };
}

export function parseEarlyHints(raw: unknown, file: string, rootDir: string): EarlyHintsConfig {
  const fail: Fail = (key, expected, got) => {
    throw new ConfigError(file, key, expected, got);
  };
  const t = table(raw, 'early_hints', fail);
  known(t, ['enabled', 'http1', 'exclude', 'manifest'], 'early_hints.', fail);
  const list = t.manifest ?? [];
  if (!Array.isArray(list))
    fail('early_hints.manifest', 'an array of tables ([[early_hints.manifest]])', list);
  const manifests = (list as unknown[]).map((m, i) => {
    const at = `early_hints.manifest[${i}]`;
    const e = table(m, at, fail);
    known(e, ['path', 'entry', 'manifest', 'base'], `${at}.`, fail);
    for (const k of ['path', 'entry', 'manifest'])
      if (typeof e[k] !== 'string' || e[k] === '') fail(`${at}.${k}`, 'a non-empty string', e[k]);
    if (e.base !== undefined && typeof e.base !== 'string') fail(`${at}.base`, 'a string', e.base);
    const manifest = e.manifest as string;
    return {
      path: e.path as string,
      entry: e.entry as string,
      manifest: isAbsolute(manifest) ? manifest : resolve(rootDir, manifest),
      ...(typeof e.base === 'string' ? { base: e.base } : {}),
    };
  });
  return {
    enabled: bool(t.enabled, 'early_hints.enabled', true, fail),
    http1: bool(t.http1, 'early_hints.http1', true, fail),
    exclude: t.exclude === undefined ? [] : pathPatterns(t.exclude, 'early_hints.exclude', fail).patterns,
    manifests,
  };
}
