/**
 * `outpost.toml` (or `outpost.json`): settings of CDN proxy mode, the folder with no worker
 * project where the PoP is a caching reverse proxy. The cache policies are the seed's
 * CACHE_POLICIES, matched by path:
 *
 *   origin = "http://127.0.0.1:3000"
 *   [cache]
 *   store = "disk"            # or "memory" (default)
 *   [[cache.policies]]
 *   path = "/static/*"        # `*` matches any characters; the first matching policy wins
 *   edge_ttl = 86400          # seconds at the edge, whatever the origin says (0: not cached)
 *   browser_ttl = 3600        # Cache-Control sent to browsers (0: private, no-store)
 *   stale_while_revalidate = 60
 *   stale_if_error = 600
 *   tags = ["static"]
 *   bypass_cookies = ["session"]
 *   jitter = 0.1              # ±10% on edge TTLs
 *   [admin]
 *   token = "…"               # OUTPOST_ADMIN_TOKEN, when set, wins over this
 *   [trusted_proxy]
 *   header = "X-Forwarded-For" # the client's address comes from this header (behind a proxy you run)
 *   [egress]
 *   allow = ["10.0.0.0/8", "api.internal:8080"] # what workers' fetch() may reach besides the internet
 *
 *   [[security.jwt]] / [[security.rate_limit]] / [security.waf]   # policies before the worker (src/config/security.ts)
 *
 * A worker project may have one too: there `[admin]`, `[trusted_proxy]`, `[egress]` and `[security]` apply,
 * `origin` and `[cache]` do not (they are CDN proxy mode's). `[egress]` is for workers only
 * (src/config/egress.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type CachePolicyConfig, known, parseClasses, parsePolicy } from './cache-policies.ts';
import { EGRESS_CLASSES, parseEgressRule } from './egress.ts';
import { ConfigError } from './errors.ts';
import { type ExperimentConfig, parseExperiments } from './experiments.ts';
import { type EarlyHintsConfig, type EsiConfig, parseEarlyHints, parseEsi } from './frontend.ts';
import { parseConfigText } from './load.ts';
import { parseSecurity, type SecurityConfig } from './security.ts';

export const PROXY_CONFIG_FILES = ['outpost.toml', 'outpost.json'] as const;

export type { CachePolicyConfig } from './cache-policies.ts';

export interface ProxyConfig {
  /** The file read, or '<defaults>' when there is none. */
  configPath: string;
  rootDir: string;
  origin: string | undefined;
  /** `zone`: the site's domain (default: the workers' routes say). */
  zone: string | undefined;
  store: 'memory' | 'disk';
  /** Disk store folder (default `.outpost/cache` beside the config). */
  cacheDir: string;
  maxSizeMb: number;
  maxEntryMb: number;
  /**
   * Admin token of the /__outpost/ endpoints: the OUTPOST_ADMIN_TOKEN environment variable when
   * set, else `[admin] token`; the server and the CLI follow the same order (undefined: the
   * server makes one per run and writes it to .outpost/admin.json).
   */
  adminToken: string | undefined;
  /** `[trusted_proxy] header`: the header a proxy in front sets to the client's address (lower case). */
  trustedProxyHeader: string | undefined;
  /** `[egress] allow`: what workers' fetch() may reach beyond the public internet (src/config/egress.ts). */
  egressAllow: string[];
  policies: CachePolicyConfig[];
  /** `[esi]`: Edge Side Includes at the PoP (src/config/frontend.ts). */
  esi: EsiConfig;
  /** `[early_hints]`: 103 Early Hints (src/config/frontend.ts). */
  earlyHints: EarlyHintsConfig;
  /** `[[experiments]]`: A/B tests decided at the PoP (src/config/experiments.ts). */
  experiments: ExperimentConfig[];
  /** `[security]`: WAF, rate limits and JWT policies run before the worker (src/config/security.ts). */
  security: SecurityConfig | undefined;
}

/**
 * OUTPOST_ADMIN_TOKEN, checked wherever it is read (server, CLI, worker or proxy mode). Set but
 * shorter than 16 characters is refused, naming the variable — empty included: `OUTPOST_ADMIN_TOKEN=`
 * once started `outpost dev` with no admin endpoints at all, silently.
 */
export function adminTokenFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const token = env.OUTPOST_ADMIN_TOKEN;
  if (token !== undefined && token.length < 16)
    throw new ConfigError(
      'environment',
      'OUTPOST_ADMIN_TOKEN',
      'a string of at least 16 characters',
      token === '' ? 'an empty string (unset it to have a token made per run)' : `${token.length} characters`,
    );
  return token;
}

/** Read the proxy config of a folder; a folder without one gets the defaults. */
export function loadProxyConfig(
  dir: string,
  env: Record<string, string | undefined> = process.env,
): ProxyConfig {
  const root = resolve(dir);
  const file = PROXY_CONFIG_FILES.map((f) => join(root, f)).find((f) => existsSync(f));
  const raw = file ? parseConfigText(file, readFileSync(file, 'utf8')) : {};
  return validateProxyConfig(raw, file ?? '<defaults>', file ? dirname(file) : root, env);
}

export function validateProxyConfig(
  raw: Record<string, unknown>,
  file: string,
  rootDir: string,
  env: Record<string, string | undefined> = {},
): ProxyConfig {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new ConfigError(file, key, expected, got);
  };
  const table = (key: string, v: unknown): Record<string, unknown> => {
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(key, 'a table', v);
    return v as Record<string, unknown>;
  };
  known(
    raw,
    [
      'origin',
      'zone',
      'cache',
      'experiments',
      'esi',
      'early_hints',
      'admin',
      'trusted_proxy',
      'egress',
      'security',
    ],
    '',
    fail,
  );
  if (
    raw.zone !== undefined &&
    (typeof raw.zone !== 'string' ||
      !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(raw.zone))
  )
    fail('zone', 'a domain name such as "example.com"', raw.zone);
  const egress = table('egress', raw.egress);
  known(egress, ['allow'], 'egress.', fail);
  const egressAllow = egress.allow ?? [];
  if (!Array.isArray(egressAllow) || egressAllow.some((e) => typeof e !== 'string'))
    fail('egress.allow', 'an array of strings', egressAllow);
  for (const e of egressAllow as string[]) {
    try {
      parseEgressRule(e);
    } catch (err) {
      fail(
        'egress.allow',
        `addresses ("10.1.2.3", "[::1]:8080"), CIDR blocks ("10.0.0.0/8"), host names ("api.internal:8080") or classes (${EGRESS_CLASSES.join(', ')}); ${(err as Error).message}`,
        e,
      );
    }
  }
  const cache = table('cache', raw.cache);
  known(cache, ['store', 'dir', 'max_size_mb', 'max_entry_mb', 'classes', 'policies'], 'cache.', fail);
  const classes = parseClasses(cache.classes, fail);
  const admin = table('admin', raw.admin);
  known(admin, ['token'], 'admin.', fail);
  const trusted = table('trusted_proxy', raw.trusted_proxy);
  known(trusted, ['header'], 'trusted_proxy.', fail);
  if (trusted.header !== undefined) {
    const problem =
      typeof trusted.header === 'string' ? trustedProxyHeaderProblem(trusted.header) : 'a header name';
    if (problem) fail('trusted_proxy.header', problem, trusted.header);
  }

  let origin: string | undefined;
  if (raw.origin !== undefined) {
    if (typeof raw.origin !== 'string' || !/^https?:\/\//.test(raw.origin))
      fail('origin', 'an http(s) URL', raw.origin);
    try {
      origin = new URL(raw.origin as string).href;
    } catch {
      fail('origin', 'an http(s) URL', raw.origin);
    }
  }
  const store = cache.store ?? 'memory';
  if (store !== 'memory' && store !== 'disk') fail('cache.store', '"memory" or "disk"', store);
  const dir = cache.dir ?? '.outpost/cache';
  if (typeof dir !== 'string' || dir === '') fail('cache.dir', 'a folder path', dir);
  // The environment wins over the file, as flags win over both: one order for server and CLI.
  if (admin.token !== undefined && (typeof admin.token !== 'string' || admin.token.length < 16))
    fail('admin.token', 'a string of at least 16 characters', admin.token);
  const token = adminTokenFromEnv(env) ?? admin.token;
  const policiesRaw = cache.policies ?? [];
  if (!Array.isArray(policiesRaw))
    fail('cache.policies', 'an array of tables ([[cache.policies]])', policiesRaw);
  return {
    configPath: file,
    rootDir,
    origin,
    zone: typeof raw.zone === 'string' ? raw.zone.toLowerCase() : undefined,
    store: store as 'memory' | 'disk',
    cacheDir: resolve(rootDir, dir as string),
    maxSizeMb: positive(cache.max_size_mb, 'cache.max_size_mb', store === 'disk' ? 1024 : 256, fail),
    maxEntryMb: positive(cache.max_entry_mb, 'cache.max_entry_mb', 64, fail),
    adminToken: token as string | undefined,
    trustedProxyHeader: typeof trusted.header === 'string' ? trusted.header.toLowerCase() : undefined,
    egressAllow: egressAllow as string[],
    policies: (policiesRaw as unknown[]).map((p, i) => parsePolicy(p, `cache.policies[${i}]`, classes, fail)),
    experiments: parseExperiments(raw.experiments, file),
    esi: parseEsi(raw.esi, file),
    earlyHints: parseEarlyHints(raw.early_hints, file, rootDir),
    security: parseSecurity(raw.security, file),
  };
}

type Fail = (key: string, expected: string, got: unknown) => never;

function positive(v: unknown, key: string, fallback: number, fail: Fail): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return fail(key, 'a positive number', v);
  return v;
}

/**
 * Why a header cannot be the trusted proxy header, or null when it can. Names that are not
 * HTTP tokens, connection-level fields and RFC 7239's Forwarded (a structured field Outpost
 * does not parse) are refused.
 */
export function trustedProxyHeaderProblem(name: string): string | null {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return 'a header name (letters, digits and -)';
  const n = name.toLowerCase();
  if (['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'].includes(n))
    return 'a header a proxy sets for the client address (X-Forwarded-For, CF-Connecting-IP, X-Real-IP, …), not a connection field';
  if (n === 'forwarded')
    return 'X-Forwarded-For or a single-address header (RFC 7239 Forwarded is not supported)';
  return null;
}
