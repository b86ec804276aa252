/**
 * `[[experiments]]` in outpost.toml: A/B tests the PoP decides, as the seed's edge A/B pattern
 * does ("decision at edge, no origin involvement"):
 *
 *   [[experiments]]
 *   name = "checkout"                        # letters, digits, - and _
 *   paths = ["/checkout/*", "/"]             # where it applies (default every path)
 *   variants = { control = 50, redesign = 50 } # weights (any positive numbers)
 *   cookie = "ab_checkout"                   # the sticky cookie (default outpost_ab_<name>)
 *   max_age = 2592000                        # its lifetime, seconds (default 30 days)
 *
 * The behaviour is src/frontend/variants/.
 */
import { known } from './cache-policies.ts';
import { ConfigError } from './errors.ts';
import { pathPatterns } from './security.ts';

export interface ExperimentConfig {
  name: string;
  paths: string[];
  patterns: RegExp[];
  /** In config order, with their weights. */
  variants: { name: string; weight: number }[];
  cookie: string;
  maxAge: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_EXPERIMENTS = 32;

export function parseExperiments(raw: unknown, file: string): ExperimentConfig[] {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new ConfigError(file, key, expected, got);
  };
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_EXPERIMENTS)
    return fail('experiments', `an array of at most ${MAX_EXPERIMENTS} tables ([[experiments]])`, raw);
  const names = new Set<string>();
  const cookies = new Set<string>();
  return raw.map((e, i) => {
    const at = `experiments[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return fail(at, 'a table', e);
    const t = e as Record<string, unknown>;
    known(t, ['name', 'paths', 'variants', 'cookie', 'max_age'], `${at}.`, fail);
    if (typeof t.name !== 'string' || !NAME.test(t.name))
      fail(`${at}.name`, 'a name of letters, digits, - and _ (at most 64)', t.name);
    const name = t.name as string;
    if (names.has(name)) fail(`${at}.name`, 'a name no other experiment uses', name);
    names.add(name);
    const v = t.variants;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length < 2)
      fail(`${at}.variants`, 'a table of at least two variants with their weights ({ a = 50, b = 50 })', v);
    const variants = Object.entries(v as Record<string, unknown>).map(([k, w]) => {
      if (!NAME.test(k)) fail(`${at}.variants.${k}`, 'a variant name of letters, digits, - and _', k);
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0)
        fail(`${at}.variants.${k}`, 'a positive weight', w);
      return { name: k, weight: w as number };
    });
    const cookie = t.cookie ?? `outpost_ab_${name}`;
    if (typeof cookie !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(cookie))
      fail(`${at}.cookie`, 'a cookie name (an HTTP token)', cookie);
    if (cookies.has(cookie as string)) fail(`${at}.cookie`, 'a cookie no other experiment uses', cookie);
    cookies.add(cookie as string);
    const maxAge = t.max_age ?? 30 * 86400;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)
      fail(`${at}.max_age`, 'a whole number of seconds ≥ 0', maxAge);
    const { paths, patterns } = pathPatterns(t.paths, `${at}.paths`, fail);
    return { name, paths, patterns, variants, cookie: cookie as string, maxAge: maxAge as number };
  });
}
