/**
 * `[security.waf]` of outpost.toml (or the same keys in outpost.json), validated naming the key:
 *
 *   [security.waf]
 *   mode = "block"              # or "log": report matches, never block
 *   paranoia = 1                # 1 to 4: higher levels add rules that also catch more benign text
 *   threshold = 5               # anomaly score that blocks (critical 5, error 4, warning 3, notice 2)
 *   inspect_body_bytes = 131072 # only this prefix of a body is inspected
 *   reveal_rule_id = false      # add `outpost-waf-rule: <id>` to block responses
 *   sanitize = false            # strip offending query/form/JSON values instead of blocking
 *
 *   [[security.waf.rules]]      # the operator's own rules
 *   id = "100001"
 *   description = "Internal admin path"
 *   parts = ["path"]            # path, query, headers, cookies, body, user_agent; default all
 *   pattern = "^/internal/"     # regex on the normalised (decoded, lower-case) text
 *   score = 5
 *   category = "custom"         # default "custom"
 *
 *   [[security.waf.exclusions]] # rules switched off where they misfire
 *   path = "/api/paste/*"       # `*` matches any characters
 *   rules = ["942100", "sqli"]  # rule ids or categories; "*" for all
 *   parts = ["body"]            # default: every part
 *
 * Errors are WafConfigErrors whose message starts with the key, e.g.
 * `security.waf.paranoia: expected 1, 2, 3 or 4, received 7`; the config loader adds the file.
 */
import { BUILTIN_RULES, CATEGORIES } from './rules/index.ts';
import { WAF_PARTS, type WafConfig, type WafCustomRule, type WafExclusion, type WafPart } from './types.ts';

export class WafConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WafConfigError';
  }
}

export const WAF_DEFAULTS: Readonly<WafConfig> = Object.freeze({
  mode: 'block',
  paranoia: 1,
  threshold: 5,
  inspectBodyBytes: 131072,
  revealRuleId: false,
  sanitize: false,
  rules: [],
  exclusions: [],
});

/** Largest `inspect_body_bytes` accepted (16 MiB): the WAF reads what it inspects into memory. */
export const MAX_INSPECT_BODY_BYTES = 16 * 1024 * 1024;
const MAX_PATTERN_CHARS = 2000;
const RULE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const CATEGORY = /^[a-z0-9_-]{1,32}$/;
const KEYS = [
  'mode',
  'paranoia',
  'threshold',
  'inspect_body_bytes',
  'reveal_rule_id',
  'sanitize',
  'rules',
  'exclusions',
];
const RULE_KEYS = ['id', 'description', 'parts', 'pattern', 'score', 'category'];
const EXCLUSION_KEYS = ['path', 'rules', 'parts'];

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the key is required)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'object') return 'a table';
  return String(v);
}

function fail(at: string, expected: string, received: unknown, detail?: string): never {
  throw new WafConfigError(
    `${at}: expected ${expected}, received ${describe(received)}${detail ? ` (${detail})` : ''}`,
  );
}

function table(v: unknown, at: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'a table', v);
  const t = v as Record<string, unknown>;
  for (const k of Object.keys(t))
    if (!keys.includes(k)) throw new WafConfigError(`${at}.${k}: unknown key (known: ${keys.join(', ')})`);
  return t;
}

function int(v: unknown, at: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(at, `an integer from ${min} to ${max}`, v);
  return v;
}

function bool(v: unknown, at: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') fail(at, 'true or false', v);
  return v;
}

function parts(v: unknown, at: string): WafPart[] | undefined {
  if (v === undefined) return undefined;
  const expected = `a non-empty array of parts (${WAF_PARTS.join(', ')})`;
  if (!Array.isArray(v) || v.length === 0) fail(at, expected, v);
  (v as unknown[]).forEach((p, i) => {
    if (typeof p !== 'string' || !(WAF_PARTS as readonly string[]).includes(p))
      fail(`${at}[${i}]`, `one of ${WAF_PARTS.join(', ')}`, p);
  });
  return [...new Set(v as WafPart[])];
}

/**
 * A quantified group whose body ends in a quantifier (`(a+)+`, `(\w+\s?)*`) can backtrack for
 * exponential time on a crafted value. A heuristic: it finds the common shapes, not all.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}?]\)(?:[+*]|\{\d*,\d*\})/;

/** Compiles a custom rule's pattern as the engine does (case-insensitive). */
export function compileCustomPattern(pattern: string): RegExp {
  return new RegExp(pattern, 'i');
}

function customRule(v: unknown, at: string, seen: Set<string>): WafCustomRule {
  const t = table(v, at, RULE_KEYS);
  if (typeof t.id !== 'string' || !RULE_ID.test(t.id))
    fail(`${at}.id`, 'a rule id of 1 to 64 letters, digits, "_", ".", ":" or "-"', t.id);
  const id = t.id as string;
  if (BUILTIN_RULES.some((r) => r.id === id)) fail(`${at}.id`, 'an id no shipped rule has', id);
  if (seen.has(id)) fail(`${at}.id`, 'an id no other custom rule has', id);
  seen.add(id);
  if (t.description !== undefined && typeof t.description !== 'string')
    fail(`${at}.description`, 'a string', t.description);
  if (typeof t.pattern !== 'string' || t.pattern === '' || t.pattern.length > MAX_PATTERN_CHARS)
    fail(`${at}.pattern`, `a regular expression of 1 to ${MAX_PATTERN_CHARS} characters`, t.pattern);
  const pattern = t.pattern as string;
  try {
    compileCustomPattern(pattern);
  } catch (err) {
    fail(`${at}.pattern`, 'a valid regular expression', pattern, (err as Error).message);
  }
  if (NESTED_QUANTIFIER.test(pattern))
    fail(
      `${at}.pattern`,
      'a regular expression without a quantified group ending in a quantifier (it can backtrack catastrophically)',
      pattern,
    );
  if (t.category !== undefined && (typeof t.category !== 'string' || !CATEGORY.test(t.category)))
    fail(`${at}.category`, 'a category name of lower-case letters, digits, "_" or "-"', t.category);
  const rule: WafCustomRule = {
    id,
    parts: parts(t.parts, `${at}.parts`) ?? [...WAF_PARTS],
    pattern,
    score: int(t.score, `${at}.score`, 0, 1000, Number.NaN),
    category: (t.category as string | undefined) ?? 'custom',
  };
  if (Number.isNaN(rule.score)) fail(`${at}.score`, 'an integer from 0 to 1000', t.score);
  if (t.description !== undefined) rule.description = t.description as string;
  return rule;
}

function exclusion(v: unknown, at: string, known: Set<string>): WafExclusion {
  const t = table(v, at, EXCLUSION_KEYS);
  if (typeof t.path !== 'string' || !t.path.startsWith('/') || t.path.length > 1024)
    fail(
      `${at}.path`,
      'a path pattern starting with "/" (`*` matches any characters), at most 1024 long',
      t.path,
    );
  if (!Array.isArray(t.rules) || t.rules.length === 0)
    fail(`${at}.rules`, 'a non-empty array of rule ids or categories', t.rules);
  (t.rules as unknown[]).forEach((r, i) => {
    if (typeof r !== 'string' || !known.has(r))
      fail(`${at}.rules[${i}]`, 'the id of a rule, a category (sqli, xss, …) or "*"', r);
  });
  const ex: WafExclusion = { path: t.path as string, rules: [...(t.rules as string[])] };
  const p = parts(t.parts, `${at}.parts`);
  if (p) ex.parts = p;
  return ex;
}

/** Validates the raw `[security.waf]` table (snake_case keys); undefined gives the defaults. */
export function parseWafConfig(raw: unknown, key: string): WafConfig {
  if (raw === undefined) return { ...WAF_DEFAULTS, rules: [], exclusions: [] };
  const t = table(raw, key, KEYS);
  const mode = t.mode ?? WAF_DEFAULTS.mode;
  if (mode !== 'block' && mode !== 'log') fail(`${key}.mode`, '"block" or "log"', t.mode);
  const paranoia = t.paranoia ?? WAF_DEFAULTS.paranoia;
  if (paranoia !== 1 && paranoia !== 2 && paranoia !== 3 && paranoia !== 4)
    fail(`${key}.paranoia`, '1, 2, 3 or 4', t.paranoia);
  const rulesRaw = t.rules ?? [];
  if (!Array.isArray(rulesRaw)) fail(`${key}.rules`, 'an array of tables ([[security.waf.rules]])', rulesRaw);
  const seen = new Set<string>();
  const rules = (rulesRaw as unknown[]).map((r, i) => customRule(r, `${key}.rules[${i}]`, seen));
  const known = new Set<string>([
    '*',
    ...CATEGORIES,
    ...BUILTIN_RULES.map((r) => r.id),
    ...rules.map((r) => r.id),
    ...rules.map((r) => r.category ?? 'custom'),
  ]);
  const exclusionsRaw = t.exclusions ?? [];
  if (!Array.isArray(exclusionsRaw))
    fail(`${key}.exclusions`, 'an array of tables ([[security.waf.exclusions]])', exclusionsRaw);
  return {
    mode: mode as WafConfig['mode'],
    paranoia: paranoia as WafConfig['paranoia'],
    threshold: int(t.threshold, `${key}.threshold`, 1, 10000, WAF_DEFAULTS.threshold),
    inspectBodyBytes: int(
      t.inspect_body_bytes,
      `${key}.inspect_body_bytes`,
      0,
      MAX_INSPECT_BODY_BYTES,
      WAF_DEFAULTS.inspectBodyBytes,
    ),
    revealRuleId: bool(t.reveal_rule_id, `${key}.reveal_rule_id`, WAF_DEFAULTS.revealRuleId),
    sanitize: bool(t.sanitize, `${key}.sanitize`, WAF_DEFAULTS.sanitize),
    rules,
    exclusions: (exclusionsRaw as unknown[]).map((e, i) => exclusion(e, `${key}.exclusions[${i}]`, known)),
  };
}
