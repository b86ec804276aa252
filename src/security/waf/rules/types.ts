/**
 * What a built-in rule is. Rules match one value at a time (a parameter, a header, a cookie, a
 * JSON string, the path), on text that normalize.ts has already decoded and lower-cased, so
 * patterns are written in lower case, without the `i` flag.
 *
 * Scoring: a rule carries a severity (critical 5, error 4, warning 3, notice 2) and the request's
 * anomaly score is the sum over the rules that matched, each counted once. With the default
 * threshold of 5 one critical match blocks, and weaker signals block only together. Rules are
 * graded so that what benign text also contains (a lone apostrophe, the word "select", a `--`)
 * is at most a warning, and what only an attack contains (`' or '1'='1`, `<script`, `; cat
 * /etc/passwd`) is critical.
 *
 * Patterns must stay linear: no nested quantifiers over overlapping classes, and every
 * "anything" gap bounded (`.{0,80}?`), as a value may be 8 KB of attacker-chosen text.
 */
import type { WafPart } from '../types.ts';

export type Severity = 'critical' | 'error' | 'warning' | 'notice';
export const SEVERITY_SCORE: Record<Severity, number> = { critical: 5, error: 4, warning: 3, notice: 2 };

export const CATEGORIES = ['sqli', 'xss', 'traversal', 'cmdi', 'lfi', 'rfi', 'scanner', 'evasion'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * Which text a pattern is matched on: `text` (normalised), `sql` (comments out), `slash` (`\` as
 * `/`), `shell` (quotes and backslashes inside words removed, as a shell would: `c\a't'` → `cat`).
 */
export type View = 'text' | 'sql' | 'slash' | 'shell';

/** One value of a request, as the rules see it. */
export interface Value {
  readonly part: WafPart;
  /** Parameter, header or cookie name (lower case); the JSON key path for JSON values. */
  readonly name: string | undefined;
  /** A parameter name or JSON key (rather than a value). */
  readonly isKey: boolean;
  readonly text: string;
  readonly hadNull: boolean;
  readonly overEncoded: boolean;
  view(v: View): string;
  /** The sql view with plain comments removed outright, when that differs from `view('sql')`. */
  sqlJoined(): string | undefined;
}

export interface Rule {
  id: string;
  category: Category;
  description: string;
  paranoia: 1 | 2 | 3 | 4;
  severity: Severity;
  parts: readonly WafPart[];
  view: View;
  /** Matched on `view`; a `sql` rule is also matched on `sqlJoined()`. */
  pattern?: RegExp;
  /** Logic a pattern cannot say: the index of the match in `view`, or -1. */
  match?: (v: Value) => number;
  /** Only values whose name matches. */
  names?: RegExp;
  /** Also run on parameter names and JSON keys (default true). */
  keys: boolean;
  /**
   * Can match text made only of letters, digits, spaces and `_.,-` ("union select 1,2",
   * "xp_cmdshell"). Rules without it are skipped for such values: most values of a typical
   * request are plain, and this is most of the engine's speed. corpus.test.ts checks that
   * skipping changes no verdict.
   */
  plain?: boolean;
  /**
   * Characters the rule cannot match without (any one of them, as CHAR bits): the rule is
   * skipped for values that have none. Like `plain`, checked by corpus.test.ts.
   */
  needs?: number;
}

/** Character classes a value contains (Value.chars), for Rule.needs. */
export const CHAR = {
  quote: 1 << 0, // ' "
  lt: 1 << 1, // <
  eq: 1 << 2, // =
  colon: 1 << 3, // :
  paren: 1 << 4, // (
  slash: 1 << 5, // / \
  shell: 1 << 6, // ; | & newline $
  backtick: 1 << 7, // `
  star: 1 << 8, // *
  at: 1 << 9, // @
  brace: 1 << 10, // { [
  percent: 1 << 11, // %
  gt: 1 << 12, // >
} as const;

const CHAR_TABLE = (() => {
  const t = new Uint16Array(128);
  const set = (chars: string, bit: number) => {
    for (const c of chars) t[c.charCodeAt(0)] |= bit;
  };
  set(`'"`, CHAR.quote);
  set('<', CHAR.lt);
  set('=', CHAR.eq);
  set(':', CHAR.colon);
  set('(', CHAR.paren);
  set('/\\', CHAR.slash);
  set(';|&\n$', CHAR.shell);
  set('`', CHAR.backtick);
  set('*', CHAR.star);
  set('@', CHAR.at);
  set('{[', CHAR.brace);
  set('%', CHAR.percent);
  set('>', CHAR.gt);
  return t;
})();

/** Typographic quotes, which the sql view reads as quotes. */
const SMART_QUOTES = [0x2018, 0x2019, 0x201a, 0x201b, 0x2032, 0x02bc, 0x201c, 0x201d, 0x201e, 0x2033];

/** The CHAR bits of the characters in `s`. */
export function charClasses(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) bits |= CHAR_TABLE[c];
    else if (SMART_QUOTES.includes(c)) bits |= CHAR.quote;
  }
  return bits;
}

export const ALL_PARTS: readonly WafPart[] = ['path', 'query', 'headers', 'cookies', 'body', 'user_agent'];
/** Everything a client chooses but its user agent. */
export const INPUT_PARTS: readonly WafPart[] = ['path', 'query', 'headers', 'cookies', 'body'];
/** Parameters an application reads as data. */
export const PARAM_PARTS: readonly WafPart[] = ['query', 'cookies', 'body'];

type RuleSpec = Omit<Rule, 'view' | 'keys' | 'parts'> & Partial<Pick<Rule, 'view' | 'keys' | 'parts'>>;

/** A rule with its defaults: every part, the `text` view, keys too. */
export function rule(spec: RuleSpec): Rule {
  return { parts: ALL_PARTS, view: 'text', keys: true, ...spec };
}
