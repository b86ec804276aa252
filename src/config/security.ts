/**
 * `[security]` of `outpost.toml`: the platform policies run before a worker (and before the
 * cache), in the order WAF → rate limits → JWT (src/pop/policies.ts runs them,
 * src/security/ holds their engines). This file reads and validates the JWT policies; the
 * rate-limit and WAF tables are validated by their engines' parsers
 * (src/security/ratelimit/policy.ts, src/security/waf/), when the policies are built at start.
 * Errors name the key, as every config error does.
 *
 *   [[security.jwt]]
 *   paths = ["/api/*"]                  # `*` matches anything; default every path; a route
 *                                       # "api.example.com/*" (host first, as Workers routes)
 *                                       # applies on that host only
 *   algorithms = ["RS256", "ES256"]     # required: what tokens may be signed with
 *   jwks_url = "https://auth.example.com/.well-known/jwks.json"
 *   # or: keys_kv = "<KV namespace id or the worker's KV binding name>", keys_prefix = "jwk:"
 *   issuer = "https://auth.example.com" # or a list
 *   audience = "api"                    # or a list
 *   leeway = 30                         # seconds of clock skew allowed on exp/nbf
 *   required_claims = ["sub"]
 *   cookie = "session"                  # read the token from this cookie, not Authorization
 *   [security.jwt.forward]              # claim = header sent to the worker
 *   sub = "X-User-ID"
 *   permissions = "X-User-Permissions"
 */
import { ConfigError } from './errors.ts';

/** What jose verifies and Outpost accepts (RFC 7518 §3.1, RFC 8037 for EdDSA). */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export type JwtKeySource =
  /** A JWKS document, cached `cacheSec`, fetched again on an unknown `kid` at most every `cooldownSec`. */
  | { kind: 'jwks'; url: string; cacheSec: number; cooldownSec: number; timeoutMs: number }
  /** One JWK (JSON) per `kid` at `<prefix><kid>` in a KV namespace (an id, or a binding name of the worker). */
  | { kind: 'kv'; namespace: string; prefix: string; cacheSec: number; cooldownSec: number };

export interface JwtPolicyConfig {
  /** Where it was written, e.g. `security.jwt[0]`: named in logs and spans. */
  at: string;
  paths: string[];
  patterns: RegExp[];
  algorithms: JwtAlgorithm[];
  keys: JwtKeySource;
  issuer: string[] | undefined;
  audience: string[] | undefined;
  leewaySec: number;
  requiredClaims: string[];
  /** undefined: `Authorization: Bearer <token>`. */
  cookie: string | undefined;
  /** Claim → request header, in config order (header names lower-cased). */
  forward: [claim: string, header: string][];
  /** A longer token is refused unread (default 16 KiB). */
  maxTokenBytes: number;
}

export interface SecurityConfig {
  /** The file it was read from (named in errors found when the policies are built). */
  file: string;
  jwt: JwtPolicyConfig[];
  /** `[[security.rate_limit]]`, validated by its parser. */
  rateLimit: unknown[];
  /** `[security.waf]`, validated by its parser; undefined: no WAF. */
  waf: unknown;
}

type Fail = (key: string, expected: string, got: unknown) => never;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers a policy may not set: hop-by-hop, framing, and what the platform itself sets. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-connection',
  'cookie',
  'authorization',
  'cf-connecting-ip',
  'cf-ray',
  'cf-ew-via',
  'x-forwarded-for',
]);

function known(t: Record<string, unknown>, keys: string[], prefix: string, fail: Fail): void {
  for (const k of Object.keys(t))
    if (!keys.includes(k)) fail(`${prefix}${k}`, `one of the known keys (${keys.join(', ')})`, k);
}

function table(v: unknown, key: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(key, 'a table', v);
  return v as Record<string, unknown>;
}

/** A path pattern (`*` matches any characters, slashes too) as a regular expression of the whole path. */
export function pathPattern(p: string): RegExp {
  const esc = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  // A trailing `/*` matches the bare prefix too: `/api/*` covers `/api`, as routers (Hono's
  // `/api/*` among them) route `/api` there.
  if (p.endsWith('/*') && !p.slice(0, -2).includes('*'))
    return new RegExp(`^${esc(p.slice(0, -2))}(?:/.*)?$`, 's');
  return new RegExp(`^${p.split('*').map(esc).join('.*')}$`, 's');
}

/**
 * A policy's route: a path pattern (`/api/*`, every host), or a host and path pattern as a
 * Workers route is written (`api.example.com/*`, `*.example.com/admin/*`): host name
 * characters and `*` (no port: a route names a host, whatever port it is reached on), then the
 * path. Compiled by pathPattern over what
 * routeForms gives (the path, and the host followed by the path).
 */
export const ROUTE_PATTERN = /^(?:[a-z0-9*.-]+)?\/.*$/s;

/** Route patterns of a policy (`paths`): path or host/path, `*` matches anything; default every path. */
export function routePatterns(v: unknown, key: string, fail: Fail): { paths: string[]; patterns: RegExp[] } {
  const list = v === undefined ? ['/*'] : v;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((p) => typeof p !== 'string' || p.length > 1024 || !ROUTE_PATTERN.test(p.toLowerCase()))
  )
    return fail(
      key,
      'a non-empty array of path patterns starting with "/", or routes with a host first ("api.example.com/*"); `*` matches anything',
      v,
    );
  // The host is matched as a host is: without regard to case.
  const routes = (list as string[]).map((p) => (p.startsWith('/') ? p : hostLower(p)));
  return { paths: routes, patterns: routes.map(pathPattern) };
}

const hostLower = (route: string) => {
  const slash = route.indexOf('/');
  return route.slice(0, slash).toLowerCase() + route.slice(slash);
};

/**
 * What a policy's route patterns are matched against: each form of the path (pathForms), and
 * the same after the request's host name (lower case, no port).
 */
export function routeForms(host: string, paths: readonly string[]): string[] {
  const out = [...paths];
  for (const p of paths) out.push(host + p);
  return out;
}

/** Path patterns (`*` matches anything) as written and compiled; default every path. */
export function pathPatterns(v: unknown, key: string, fail: Fail): { paths: string[]; patterns: RegExp[] } {
  const paths = v === undefined ? ['/*'] : v;
  if (
    !Array.isArray(paths) ||
    paths.length === 0 ||
    paths.some((p) => typeof p !== 'string' || !p.startsWith('/') || p.length > 1024)
  )
    return fail(key, 'a non-empty array of path patterns starting with "/" (`*` matches anything)', v);
  return {
    paths: paths as string[],
    patterns: (paths as string[]).map(pathPattern),
  };
}

function stringOrList(v: unknown, key: string, fail: Fail): string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s === ''))
    return fail(key, 'a non-empty string or array of non-empty strings', v);
  return list as string[];
}

function wholeSeconds(v: unknown, key: string, fallback: number, max: number, fail: Fail): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    return fail(key, `a whole number of seconds from 0 to ${max}`, v);
  return v;
}

function jwtPolicy(raw: unknown, at: string, fail: Fail): JwtPolicyConfig {
  const t = table(raw, at, fail);
  known(
    t,
    [
      'paths',
      'algorithms',
      'jwks_url',
      'jwks_cache',
      'jwks_cooldown',
      'jwks_timeout_ms',
      'keys_kv',
      'keys_prefix',
      'keys_cache',
      'issuer',
      'audience',
      'leeway',
      'required_claims',
      'cookie',
      'forward',
      'max_token_bytes',
    ],
    `${at}.`,
    fail,
  );
  const { paths, patterns } = routePatterns(t.paths, `${at}.paths`, fail);
  const algs = t.algorithms;
  if (
    !Array.isArray(algs) ||
    algs.length === 0 ||
    algs.some((a) => !(JWT_ALGORITHMS as readonly unknown[]).includes(a))
  )
    fail(`${at}.algorithms`, `a non-empty array of ${JWT_ALGORITHMS.join(', ')}`, algs);
  let keys: JwtKeySource;
  if ((t.jwks_url === undefined) === (t.keys_kv === undefined))
    return fail(
      at,
      'a table with exactly one key source: jwks_url (a JWKS URL) or keys_kv (a KV namespace)',
      t.jwks_url === undefined ? 'neither' : 'both',
    );
  if (t.jwks_url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(String(t.jwks_url));
    } catch {}
    if (typeof t.jwks_url !== 'string' || !url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
      fail(`${at}.jwks_url`, 'an http(s) URL', t.jwks_url);
    for (const k of ['keys_prefix', 'keys_cache'])
      if (t[k] !== undefined) fail(`${at}.${k}`, 'absent with jwks_url (it is for keys_kv)', t[k]);
    const timeout = t.jwks_timeout_ms ?? 5000;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 100 || timeout > 60_000)
      fail(`${at}.jwks_timeout_ms`, 'a whole number of milliseconds from 100 to 60000', timeout);
    keys = {
      kind: 'jwks',
      url: (url as URL).href,
      cacheSec: wholeSeconds(t.jwks_cache, `${at}.jwks_cache`, 600, 86_400, fail),
      cooldownSec: wholeSeconds(t.jwks_cooldown, `${at}.jwks_cooldown`, 30, 3600, fail),
      timeoutMs: timeout as number,
    };
  } else {
    if (typeof t.keys_kv !== 'string' || t.keys_kv === '' || t.keys_kv.length > 256)
      fail(`${at}.keys_kv`, 'a KV namespace id or a KV binding name of the worker', t.keys_kv);
    for (const k of ['jwks_cache', 'jwks_cooldown', 'jwks_timeout_ms'])
      if (t[k] !== undefined) fail(`${at}.${k}`, 'absent with keys_kv (it is for jwks_url)', t[k]);
    const prefix = t.keys_prefix ?? '';
    if (typeof prefix !== 'string' || prefix.length > 256)
      fail(`${at}.keys_prefix`, 'a string (the KV key of a key is <prefix><kid>)', prefix);
    keys = {
      kind: 'kv',
      namespace: t.keys_kv as string,
      prefix: prefix as string,
      cacheSec: wholeSeconds(t.keys_cache, `${at}.keys_cache`, 60, 86_400, fail),
      cooldownSec: 10,
    };
  }
  const required = t.required_claims ?? [];
  if (!Array.isArray(required) || required.some((c) => typeof c !== 'string' || c === ''))
    fail(`${at}.required_claims`, 'an array of claim names', required);
  if (t.cookie !== undefined && (typeof t.cookie !== 'string' || !HEADER_NAME.test(t.cookie)))
    fail(`${at}.cookie`, 'a cookie name', t.cookie);
  const forward: [string, string][] = [];
  if (t.forward !== undefined) {
    const f = table(t.forward, `${at}.forward`, fail);
    for (const [claim, header] of Object.entries(f)) {
      const key = `${at}.forward.${claim}`;
      if (typeof header !== 'string' || !HEADER_NAME.test(header))
        fail(key, 'a header name (the claim is sent to the worker in it)', header);
      if (
        RESERVED_HEADERS.has((header as string).toLowerCase()) ||
        (header as string).toLowerCase().startsWith('cf-')
      )
        fail(
          key,
          'a header the platform does not set itself (not Host, Cookie, Authorization, CF-*, ...)',
          header,
        );
      forward.push([claim, (header as string).toLowerCase()]);
    }
  }
  const max = t.max_token_bytes ?? 16_384;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 256 || max > 65_536)
    fail(`${at}.max_token_bytes`, 'a whole number of bytes from 256 to 65536', max);
  return {
    at,
    paths,
    patterns,
    algorithms: algs as JwtAlgorithm[],
    keys,
    issuer: stringOrList(t.issuer, `${at}.issuer`, fail),
    audience: stringOrList(t.audience, `${at}.audience`, fail),
    leewaySec: wholeSeconds(t.leeway, `${at}.leeway`, 30, 3600, fail),
    requiredClaims: required as string[],
    cookie: t.cookie as string | undefined,
    forward,
    maxTokenBytes: max as number,
  };
}

/** `[security]` of an outpost.toml (undefined: none). */
export function parseSecurity(raw: unknown, file: string): SecurityConfig | undefined {
  if (raw === undefined) return undefined;
  const fail: Fail = (key, expected, got) => {
    throw new ConfigError(file, key, expected, got);
  };
  const t = table(raw, 'security', fail);
  known(t, ['jwt', 'rate_limit', 'waf'], 'security.', fail);
  const list = (key: string): unknown[] => {
    const v = t[key] ?? [];
    if (!Array.isArray(v)) return fail(`security.${key}`, `an array of tables ([[security.${key}]])`, v);
    return v;
  };
  return {
    file,
    jwt: list('jwt').map((p, i) => jwtPolicy(p, `security.jwt[${i}]`, fail)),
    rateLimit: list('rate_limit'),
    waf: t.waf,
  };
}
