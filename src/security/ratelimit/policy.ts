/**
 * One `[[security.rate_limit]]` table of outpost.toml, validated naming the key:
 *
 *   [[security.rate_limit]]
 *   name = "api"                 # required: the policy's name (RateLimit-Policy, logs)
 *   paths = ["/api/*"]           # `*` matches anything; default ["/*"]
 *   methods = ["POST"]           # default: every method
 *   mode = "sliding"             # "sliding" (default), "fixed" or "local"
 *   limit = 100                  # required: hits per period, 1 to 1,000,000
 *   period = 60                  # required: seconds, 1 to 86,400
 *   key = "ip"                   # "ip" (default), "path", "header:<Name>" or "claim:<claim>"
 *   shards = 1                   # 1 to 64 sub-counters for a hot key (./limiter.ts)
 *
 * Errors are plain Errors whose message starts with the key, e.g.
 * `security.rate_limit[0].limit: expected an integer ≥ 1, received "ten"`; the config loader
 * adds the file.
 */
import { describe } from '../../config/errors.ts';
import { ROUTE_PATTERN, routePatterns } from '../../config/security.ts';
import {
  MAX_LIMIT,
  MAX_PERIOD_SEC,
  MAX_SHARDS,
  RATE_LIMIT_MODES,
  type RateLimitMode,
  type RateLimitRule,
} from './types.ts';

export type RateLimitKey =
  | { kind: 'ip' }
  | { kind: 'path' }
  | { kind: 'header'; name: string }
  | { kind: 'claim'; claim: string };

export interface RateLimitPolicy {
  name: string;
  /** As written. */
  paths: string[];
  /** The paths compiled: a request's path matches one of them whole. */
  patterns: RegExp[];
  /** Upper-case; undefined: every method. */
  methods: string[] | undefined;
  rule: RateLimitRule;
  key: RateLimitKey;
}

const KEYS = ['name', 'paths', 'methods', 'mode', 'limit', 'period', 'key', 'shards'];
/** A policy name: printable ASCII without quotes or backslashes (it is an sf-string in headers). */
const POLICY_NAME = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
/** An HTTP token (RFC 9110 §5.6.2): header names and methods. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function fail(at: string, expected: string, received: unknown): never {
  const got = received === undefined ? 'nothing (the key is required)' : describe(received);
  throw new Error(`${at}: expected ${expected}, received ${got}`);
}

function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(at, `an integer ≥ ${min}`, v);
  if (v > max) fail(at, `an integer ≤ ${max}`, v);
  return v;
}

function paths(v: unknown, at: string): { paths: string[]; patterns: RegExp[] } {
  const list = v === undefined ? ['/*'] : v;
  if (!Array.isArray(list) || list.length === 0)
    fail(at, 'a non-empty array of path patterns starting with "/" (`*` matches anything)', v);
  list.forEach((p, i) => {
    if (typeof p !== 'string' || p.length > 1024 || !ROUTE_PATTERN.test(p.toLowerCase()))
      fail(
        `${at}[${i}]`,
        'a path pattern starting with "/", or a route with a host first ("api.example.com/*"); `*` matches anything; at most 1024 long',
        p,
      );
  });
  return routePatterns(list, at, (key, expected, got) => fail(key, expected, got));
}

function methods(v: unknown, at: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) fail(at, 'a non-empty array of HTTP methods', v);
  return v.map((m, i) => {
    if (typeof m !== 'string' || !TOKEN.test(m)) fail(`${at}[${i}]`, 'an HTTP method such as "POST"', m);
    return m.toUpperCase();
  });
}

function key(v: unknown, at: string): RateLimitKey {
  const expected = 'one of "ip", "path", "header:<Name>", "claim:<claim>"';
  if (v === undefined || v === 'ip') return { kind: 'ip' };
  if (v === 'path') return { kind: 'path' };
  if (typeof v !== 'string') fail(at, expected, v);
  if (v.startsWith('header:')) {
    const name = v.slice('header:'.length);
    if (!TOKEN.test(name)) fail(at, `"header:<Name>" with a header name (${expected})`, v);
    return { kind: 'header', name: name.toLowerCase() };
  }
  if (v.startsWith('claim:')) {
    const claim = v.slice('claim:'.length);
    if (claim === '' || claim.length > 256) fail(at, `"claim:<claim>" with a claim name (${expected})`, v);
    return { kind: 'claim', claim };
  }
  return fail(at, expected, v);
}

/** One `[[security.rate_limit]]` table; `at` is where it was written (`security.rate_limit[0]`). */
export function parseRateLimitPolicy(raw: unknown, at: string): RateLimitPolicy {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail(at, 'a table { name, limit, period, … }', raw);
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t))
    if (!KEYS.includes(k)) fail(`${at}.${k}`, `no such key (a rate limit takes ${KEYS.join(', ')})`, t[k]);
  if (typeof t.name !== 'string' || !POLICY_NAME.test(t.name))
    fail(`${at}.name`, 'a name of 1 to 64 printable ASCII characters without " or \\', t.name);
  const mode = (t.mode ?? 'sliding') as RateLimitMode;
  if (!RATE_LIMIT_MODES.includes(mode))
    fail(`${at}.mode`, `one of ${RATE_LIMIT_MODES.map((m) => `"${m}"`).join(', ')}`, t.mode);
  const limit = int(t.limit, `${at}.limit`, 1, MAX_LIMIT);
  const periodSec = int(t.period, `${at}.period`, 1, MAX_PERIOD_SEC);
  const shards = t.shards === undefined ? 1 : int(t.shards, `${at}.shards`, 1, MAX_SHARDS);
  if (shards > limit)
    fail(`${at}.shards`, `at most the limit (${limit}): each shard allows one hit or more`, shards);
  return {
    name: t.name,
    ...paths(t.paths, `${at}.paths`),
    methods: methods(t.methods, `${at}.methods`),
    rule: { mode, limit, periodSec, shards },
    key: key(t.key, `${at}.key`),
  };
}
