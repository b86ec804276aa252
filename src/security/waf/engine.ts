/**
 * The WAF engine: a request in, a verdict out; pure and synchronous.
 *
 * A request is split into values (extract.ts), each value normalised once and matched by the
 * rules of its part at or below the configured paranoia level, plus the operator's rules. A
 * rule counts once per request however many values it matches (without `sanitize`, a rule
 * that matched is not run again); the anomaly score is the sum of the matched rules' scores
 * (rules/types.ts says why scoring). Exclusions switch rules off for paths, before they run.
 *
 * `inspect` never throws: malformed input is inspected as far as it can be, and should the
 * engine itself fail the verdict is `log` with a match of rule id "waf-error" (fail open,
 * visible in logs), as a WAF bug must not take every site down.
 */
import { compileCustomPattern } from './config.ts';
import { type Extracted, extract, type Item } from './extract.ts';
import {
  collapseWhitespace,
  decodePath,
  excerptAround,
  foldUnicode,
  normalizeValue,
  resolveDotSegments,
  stripSqlComments,
} from './normalize.ts';
import {
  BUILTIN_RULES,
  CHAR,
  charClasses,
  type Rule,
  SEVERITY_SCORE,
  type Value,
  type View,
} from './rules/index.ts';
import { sanitizeHits } from './sanitize.ts';
import type { WafConfig, WafMatch, WafPart, WafRequest, WafVerdict } from './types.ts';

/** At most this many matches are listed in a verdict (the score counts them all). */
export const MAX_LISTED_MATCHES = 32;
/** Values remembered as matching no rule, at most, and the longest one remembered. */
const MAX_CLEAN_VALUES = 10_000;
const MAX_CLEAN_CHARS = 1024;
/**
 * Values (parameters, their names, headers, cookies, JSON strings) inspected per request at
 * most. Past it the request is not inspected further and scores as critical (`waf-limit`):
 * 128 KB of `a&a&a…` is 40,000 values, tens of milliseconds of matching — a request made to
 * cost the PoP CPU. ModSecurity's SecArgumentsLimit, which CRS 4 blocks on, plays the same part.
 */
export const MAX_INSPECTED_VALUES = 2000;

interface Compiled {
  /** Position in the engine's rule list. */
  index: number;
  plain: boolean;
  needs: number;
  id: string;
  category: string;
  score: number;
  view: View;
  pattern?: RegExp;
  match?: (v: Value) => number;
  names?: RegExp;
  keys: boolean;
}

const PLAIN = /^[a-z0-9 _.,-]*$/;
const SMART_QUOTE = /[\u2018\u2019\u201a\u201b\u2032\u02bc\u201c\u201d\u201e\u2033]/;

class InspectedValue implements Value {
  readonly part: WafPart;
  readonly name: string | undefined;
  readonly isKey: boolean;
  readonly text: string;
  readonly hadNull: boolean;
  readonly overEncoded: boolean;
  /** Only letters, digits, spaces and `_.,-`. */
  readonly plain: boolean;
  /** CHAR bits of the text (rules/types.ts). */
  readonly chars: number;
  private sql?: string;
  private joined?: string | null;
  private slash?: string;
  private shell?: string;

  constructor(item: Item) {
    this.part = item.part;
    this.name = item.name;
    this.isKey = item.isKey;
    if (item.part === 'path') {
      const p = decodePath(item.raw);
      this.text = collapseWhitespace(foldUnicode(p.path).toLowerCase());
      this.hadNull = p.hadNull;
      this.overEncoded = p.overEncoded;
    } else {
      const n = normalizeValue(item.raw, item.plus);
      this.text = n.text;
      this.hadNull = n.hadNull;
      this.overEncoded = n.overEncoded;
    }
    this.plain = PLAIN.test(this.text);
    this.chars = this.plain ? 0 : charClasses(this.text);
  }

  view(v: View): string {
    if (v === 'sql') {
      if (this.sql === undefined)
        this.sql = this.quotes(
          this.text.indexOf('/*') < 0 && this.text.indexOf('*/') < 0 && this.text.indexOf('\n') < 0
            ? this.text
            : stripSqlComments(this.text, ' '),
        );
      return this.sql;
    }
    if (v === 'shell') return (this.shell ??= shellView(this.text));
    if (v === 'slash')
      return (this.slash ??= this.text.indexOf('\\') < 0 ? this.text : this.text.replace(/\\/g, '/'));
    return this.text;
  }

  /** Typographic quotes as the ASCII ones (for the sql views). */
  private quotes(s: string): string {
    if ((this.chars & CHAR.quote) === 0 || !SMART_QUOTE.test(s)) return s;
    return s
      .replace(/[\u2018\u2019\u201a\u201b\u2032\u02bc]/g, "'")
      .replace(/[\u201c\u201d\u201e\u2033]/g, '"');
  }

  sqlJoined(): string | undefined {
    if (this.joined === undefined) {
      const sql = this.view('sql');
      if (this.text.indexOf('/*') < 0) this.joined = null;
      else {
        const j = this.quotes(stripSqlComments(this.text, ''));
        this.joined = j === sql ? null : j;
      }
    }
    return this.joined ?? undefined;
  }
}

/** Quotes, backslashes and `$@` inside words removed, as a shell removes them (`w"h"o\ami`). */
function shellView(text: string): string {
  if (!/['"\\$]/.test(text)) return text;
  return text.replace(/\\(?=[\w/.-])/g, '').replace(/(?<=[\w/])(?:''|""|['"]|\$@|\$\*)(?=[\w/])/g, '');
}

function test(rule: Compiled, v: Value): { index: number; text: string } | undefined {
  const text = rule.view === 'text' || rule.view === 'shell' ? v.text : v.view(rule.view);
  if (rule.match) {
    const index = rule.match(v);
    return index >= 0 ? { index, text } : undefined;
  }
  const m = rule.pattern!.exec(text);
  if (m) return { index: m.index, text };
  if (rule.view === 'sql') {
    const joined = v.sqlJoined();
    const j = joined === undefined ? null : rule.pattern!.exec(joined);
    if (j) return { index: j.index, text: joined! };
  } else if (rule.view === 'shell') {
    const shell = v.view('shell');
    const s = shell === v.text ? null : rule.pattern!.exec(shell);
    if (s) return { index: s.index, text: shell };
  }
  return undefined;
}

interface Exclusion {
  patterns: RegExp;
  all: boolean;
  rules: Set<string>;
  parts: Set<WafPart> | undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A path pattern (`*` matches any characters) as a whole-path regex. */
export function pathPattern(p: string): RegExp {
  return new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`, 's');
}

const ALL_PARTS: WafPart[] = ['path', 'query', 'headers', 'cookies', 'body', 'user_agent'];

export class Waf {
  readonly config: WafConfig;
  private readonly byPart = new Map<WafPart, Compiled[]>();
  /** The rules of a part that can match plain text (see Rule.plain). */
  private readonly plainByPart = new Map<WafPart, Compiled[]>();
  private readonly exclusions: Exclusion[];
  private readonly prefilter: boolean;
  /**
   * Values that matched no rule, checked with every rule (no exclusion, no rule skipped for
   * having matched earlier in the request): the verdict of a value is a function of its part,
   * name and text, so they need not be checked again. Only "no match" is remembered; oldest
   * first out.
   */
  private readonly clean = new Set<string>();
  private readonly ruleCount: number;

  /** `prefilter: false` runs every rule on every value (tests compare the two). */
  constructor(config: WafConfig, { prefilter = true }: { prefilter?: boolean } = {}) {
    this.config = config;
    this.prefilter = prefilter;
    const compiled: { rule: Compiled; parts: readonly WafPart[] }[] = [];
    for (const r of BUILTIN_RULES)
      if (r.paranoia <= config.paranoia) compiled.push({ rule: fromBuiltin(r), parts: r.parts });
    for (const r of config.rules)
      compiled.push({
        rule: {
          index: 0,
          id: r.id,
          category: r.category ?? 'custom',
          score: r.score,
          view: 'text',
          pattern: compileCustomPattern(r.pattern),
          keys: true,
          plain: true,
          needs: 0,
        },
        parts: r.parts,
      });
    compiled.forEach((c, i) => {
      c.rule.index = i;
    });
    this.ruleCount = compiled.length;
    for (const part of ALL_PARTS) {
      const rules = compiled.filter((c) => c.parts.includes(part)).map((c) => c.rule);
      this.byPart.set(part, rules);
      this.plainByPart.set(
        part,
        rules.filter((r) => r.plain || !prefilter),
      );
    }
    this.exclusions = config.exclusions.map((e) => ({
      patterns: pathPattern(e.path),
      all: e.rules.includes('*'),
      rules: new Set(e.rules),
      parts: e.parts ? new Set(e.parts) : undefined,
    }));
  }

  inspect(req: WafRequest): WafVerdict {
    try {
      return this.run(req);
    } catch (err) {
      return {
        action: 'log',
        score: 0,
        matches: [
          {
            id: 'waf-error',
            category: 'internal',
            part: 'path',
            score: 0,
            excerpt: excerptAround(String((err as Error)?.message ?? err), 0),
          },
        ],
        bodyTruncated: false,
      };
    }
  }

  private exclusionsFor(rawPath: string): Exclusion[] {
    if (this.exclusions.length === 0) return [];
    // Both as sent and as decoded: an exclusion must not apply to a path the application
    // routes elsewhere (`/api/paste%2Fx` is not `/api/paste/x` to every router).
    const sent = resolveDotSegments(rawPath);
    const decoded = resolveDotSegments(decodePath(rawPath).path);
    return this.exclusions.filter((e) => e.patterns.test(sent) && e.patterns.test(decoded));
  }

  private run(req: WafRequest): WafVerdict {
    const config = this.config;
    const rawPath = typeof req.path === 'string' ? req.path : '';
    const ex: Extracted = extract(req, config.inspectBodyBytes);
    const overflow = ex.items.length + 1 > MAX_INSPECTED_VALUES;
    const items: Item[] = [
      { part: 'path', name: undefined, raw: rawPath, plus: false, isKey: false },
      ...(overflow ? ex.items.slice(0, MAX_INSPECTED_VALUES - 1) : ex.items),
    ];
    const exclusions = this.exclusionsFor(rawPath);
    const excluded = (rule: Compiled, part: WafPart) =>
      exclusions.some(
        (e) =>
          (!e.parts || e.parts.has(part)) && (e.all || e.rules.has(rule.id) || e.rules.has(rule.category)),
      );
    const all = config.sanitize && config.mode === 'block';
    const matched = new Uint8Array(this.ruleCount);
    const matchedRules: Compiled[] = [];
    const matches: WafMatch[] = [];
    const hitItems: Item[] = [];
    for (const item of items) {
      if (item.raw === '') continue;
      // A value known to match no rule (a browser's user agent, a session's cookie or token,
      // sent again with every request) is not normalised and matched again.
      const cacheable =
        item.raw.length <= MAX_CLEAN_CHARS && exclusions.length === 0 && matchedRules.length === 0;
      const cleanKey = cacheable
        ? `${item.part}\u0000${item.isKey ? 'k' : 'v'}${item.plus ? '+' : '-'}${item.name ?? ''}\u0000${item.raw}`
        : '';
      if (cacheable && this.clean.has(cleanKey)) continue;
      const value = new InspectedValue(item);
      const rules = (value.plain ? this.plainByPart : this.byPart).get(item.part)!;
      let hit = false;
      for (const rule of rules) {
        if (rule.needs !== 0 && (rule.needs & value.chars) === 0 && this.prefilter) continue;
        if (!all && matched[rule.index] === 1) continue;
        if (item.isKey && !rule.keys) continue;
        if (rule.names && (item.name === undefined || !rule.names.test(item.name))) continue;
        if (exclusions.length > 0 && excluded(rule, item.part)) continue;
        const m = test(rule, value);
        if (!m) continue;
        hit = true;
        if (matched[rule.index] === 0) {
          matched[rule.index] = 1;
          matchedRules.push(rule);
        }
        if (matches.length < MAX_LISTED_MATCHES) {
          const match: WafMatch = {
            id: rule.id,
            category: rule.category,
            part: item.part,
            score: rule.score,
            excerpt: excerptAround(m.text, m.index),
          };
          if (item.name !== undefined) match.name = item.name;
          matches.push(match);
        }
      }
      if (hit) hitItems.push(item);
      else if (cacheable) {
        if (this.clean.size >= MAX_CLEAN_VALUES) this.clean.delete(this.clean.keys().next().value as string);
        this.clean.add(cleanKey);
      }
    }
    let score = 0;
    for (const r of matchedRules) score += r.score;
    if (overflow) {
      score += SEVERITY_SCORE.critical;
      matches.push({
        id: 'waf-limit',
        category: 'evasion',
        part: ex.bodyKind === 'none' ? 'query' : 'body',
        score: SEVERITY_SCORE.critical,
        excerpt: `more than ${MAX_INSPECTED_VALUES} values to inspect (${ex.items.length + 1})`,
      });
      // Sanitizing cannot make such a request safe: it is blocked (or logged) whole.
      const verdict: WafVerdict = { action: 'log', score, matches, bodyTruncated: ex.bodyTruncated };
      if (config.mode === 'block' && score >= config.threshold) verdict.action = 'block';
      return verdict;
    }
    const verdict: WafVerdict = { action: 'allow', score, matches, bodyTruncated: ex.bodyTruncated };
    if (matchedRules.length === 0) return verdict;
    if (config.mode === 'block' && score >= config.threshold) {
      const sanitized = config.sanitize ? sanitizeHits(req.query ?? '', ex, hitItems) : undefined;
      if (sanitized) {
        verdict.sanitized = sanitized;
        return verdict;
      }
      verdict.action = 'block';
      return verdict;
    }
    verdict.action = 'log';
    return verdict;
  }
}

function fromBuiltin(r: Rule): Compiled {
  const c: Compiled = {
    index: 0,
    id: r.id,
    category: r.category,
    score: SEVERITY_SCORE[r.severity],
    view: r.view,
    keys: r.keys,
    plain: r.plain === true,
    needs: r.needs ?? 0,
  };
  if (r.pattern) c.pattern = r.pattern;
  if (r.match) c.match = r.match;
  if (r.names) c.names = r.names;
  return c;
}

/** The response header a block carries when `reveal_rule_id` is on: the highest-scoring match. */
export function wafBlockHeaders(config: WafConfig, verdict: WafVerdict): [string, string][] {
  if (!config.revealRuleId || verdict.action !== 'block' || verdict.matches.length === 0) return [];
  const top = verdict.matches.reduce((a, b) => (b.score > a.score ? b : a));
  return [['outpost-waf-rule', top.id]];
}
