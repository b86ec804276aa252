/**
 * The WAF's public types: its config (what `[security.waf]` of outpost.toml becomes), the
 * request it inspects and the verdict it returns. The engine is pure: it is handed a request
 * and answers a verdict; the PoP decides what a blocked request gets.
 */

export type WafAction = 'block' | 'log';

/** Where in a request a value was found. */
export type WafPart = 'path' | 'query' | 'headers' | 'cookies' | 'body' | 'user_agent';

export const WAF_PARTS: readonly WafPart[] = ['path', 'query', 'headers', 'cookies', 'body', 'user_agent'];

/** An operator's own rule (`[[security.waf.rules]]`). */
export interface WafCustomRule {
  id: string;
  description?: string;
  parts: WafPart[];
  /** Regex source, matched on the normalised (decoded, lower-cased) text, case-insensitive. */
  pattern: string;
  score: number;
  category?: string;
}

/** Rules switched off for some paths (`[[security.waf.exclusions]]`). */
export interface WafExclusion {
  /** Path pattern, `*` matching any characters (slashes too), e.g. "/api/paste/*". */
  path: string;
  /** Rule ids or category names, e.g. ["942100", "sqli"]; "*" is every rule. */
  rules: string[];
  /** Only values found in these parts; undefined: every part. */
  parts?: WafPart[];
}

export interface WafConfig {
  /** block (default): a request scoring `threshold` or more is blocked; log: never blocked, only reported. */
  mode: WafAction;
  /** 1 (default) to 4: rules carry a level, only rules at or below it run. */
  paranoia: 1 | 2 | 3 | 4;
  /** Anomaly score at which a request is blocked (default 5: one critical match). */
  threshold: number;
  /** Only this prefix of a body is inspected (default 131072). */
  inspectBodyBytes: number;
  /** Add `outpost-waf-rule: <id>` to block responses (default false). */
  revealRuleId: boolean;
  /** Instead of blocking, strip the offending query/body parameter values when that is safe (default false). */
  sanitize: boolean;
  rules: WafCustomRule[];
  exclusions: WafExclusion[];
}

export interface WafRequest {
  method: string;
  /** Raw, may be percent-encoded. */
  path: string;
  /** Raw, without "?". */
  query: string;
  /** Lower-case names. */
  headers: [string, string][];
  body?: Uint8Array;
  contentType?: string;
  /**
   * `body` is only a prefix of what the client sent (the caller read a limited amount). The
   * engine also sees truncation itself when `body` is longer than `inspectBodyBytes`; a caller
   * that reads exactly `inspectBodyBytes` must say so here, or a cut-off body passes as whole
   * (and `sanitize` would rewrite it to the prefix).
   */
  bodyTruncated?: boolean;
}

export interface WafMatch {
  id: string;
  category: string;
  part: WafPart;
  /** Header, cookie or parameter name (a JSON body's key path). */
  name?: string;
  score: number;
  /** At most 80 characters of the normalised value around the match, control characters escaped. */
  excerpt: string;
}

export interface WafVerdict {
  action: 'allow' | 'block' | 'log';
  /** Sum of the scores of the rules that matched (each rule counts once). */
  score: number;
  matches: WafMatch[];
  /** The body was longer than `inspectBodyBytes`: only its prefix was inspected. */
  bodyTruncated: boolean;
  /** With `sanitize`: what to forward instead of what the client sent. */
  sanitized?: { query?: string; body?: Uint8Array };
}
