/**
 * `_redirects` and `_headers` in an assets directory, as Cloudflare reads them
 * (https://developers.cloudflare.com/workers/static-assets/redirects/,
 * https://developers.cloudflare.com/workers/static-assets/headers/):
 *
 *   _redirects   /from  /to  [301|302|303|307|308|200]   one rule per line; `*` (→ :splat) and
 *                :placeholders; the first match wins; 200 serves the target's asset instead
 *   _headers     /path/*            a URL pattern at the start of a line, then indented
 *                  Name: value      header lines; `! Name` removes one an earlier rule set
 */
export interface RedirectRule {
  from: string;
  to: string;
  status: number;
  match: (path: string) => Record<string, string> | null;
  /** `from` carries a host (`https://example.com/x`): matched against host + path. */
  absolute: boolean;
}

export interface HeaderRule {
  match: (url: string) => Record<string, string> | null;
  set: [string, string][];
  unset: string[];
  absolute: boolean;
}

export const RULE_LIMITS = { STATIC_REDIRECTS: 2000, DYNAMIC_REDIRECTS: 100, HEADER_RULES: 100 } as const;

/** Longest rule line, pattern and substituted target; longer ones are skipped. */
export const RULE_LENGTH_MAX = 2048;

/**
 * Why a pattern cannot be used, or null. As Cloudflare documents them: at most one splat `*`,
 * and a `:name` placeholder stands for a whole path segment. That also keeps matching linear:
 * placeholders are split by "/" and one splat can only move one way, so no crafted path makes
 * the RegExp backtrack without end.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern.length > RULE_LENGTH_MAX) return `longer than ${RULE_LENGTH_MAX} characters`;
  if ((pattern.match(/\*/g) ?? []).length > 1) return 'more than one splat (*)';
  for (const m of pattern.matchAll(/:[A-Za-z]\w*/g)) {
    const before = pattern[(m.index ?? 0) - 1];
    const after = pattern[(m.index ?? 0) + m[0].length];
    if (before !== '/' || (after !== undefined && after !== '/'))
      return `the placeholder ${m[0]} must be a whole path segment`;
  }
  return null;
}

/** A pattern as a request path is sent: characters a path cannot hold as they are, escaped. */
function encodePattern(pattern: string): string {
  return pattern.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (ch) => encodeURIComponent(ch));
}

/**
 * A pattern with `*` (the splat, at most one) and `:name` placeholders → a matcher of the
 * path as sent (percent-encoded).
 */
export function compilePattern(raw: string): (path: string) => Record<string, string> | null {
  const pattern = encodePattern(raw);
  const names: string[] = [];
  let re = '^';
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i];
    if (ch === '*') {
      names.push('splat');
      re += '(.*)';
      i++;
    } else if (ch === ':' && /[A-Za-z]/.test(pattern[i + 1] ?? '')) {
      const m = /^:([A-Za-z]\w*)/.exec(pattern.slice(i)) as RegExpExecArray;
      names.push(m[1]);
      re += '([^/]+)';
      i += m[0].length;
    } else {
      re += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  const rx = new RegExp(`${re}$`);
  return (path) => {
    if (path.length > RULE_LENGTH_MAX) return null;
    const m = rx.exec(path);
    if (!m) return null;
    const out: Record<string, string> = {};
    names.forEach((n, i) => {
      out[n] = m[i + 1];
    });
    return out;
  };
}

/**
 * Fill `:name` and `:splat` in a target; null when the result would pass RULE_LENGTH_MAX (a
 * target repeating `:splat` must not turn a long path into megabytes).
 */
export function substitute(target: string, params: Record<string, string>): string | null {
  let total = 0;
  const out = target.replace(/:([A-Za-z]\w*)/g, (all, n: string) => {
    const v = params[n] ?? all;
    total += v.length;
    return total > RULE_LENGTH_MAX ? '' : v;
  });
  return total > RULE_LENGTH_MAX || out.length > RULE_LENGTH_MAX ? null : out;
}

const STATUSES = new Set([200, 301, 302, 303, 307, 308]);

export function parseRedirects(text: string, warn: (m: string) => void): RedirectRule[] {
  const out: RedirectRule[] = [];
  let statics = 0;
  let dynamics = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const where = `_redirects line ${i + 1}`;
    if (parts.length < 2 || parts.length > 3) {
      warn(`${where}: expected "from to [status]"; ignored`);
      continue;
    }
    const [from, to] = parts;
    const status = parts[2] === undefined ? 302 : Number(parts[2]);
    if (!STATUSES.has(status)) {
      warn(`${where}: status ${parts[2]} is not one of ${[...STATUSES].join(', ')}; ignored`);
      continue;
    }
    const absolute = /^https?:\/\//.test(from);
    if (!absolute && !from.startsWith('/')) {
      warn(`${where}: "${from}" must start with "/"; ignored`);
      continue;
    }
    if (status === 200 && !to.startsWith('/')) {
      warn(`${where}: a 200 rewrite must lead to a path; ignored`);
      continue;
    }
    const problem = patternProblem(absolute ? from.replace(/^https?:\/\/[^/]*/, '') : from);
    if (problem) {
      warn(`${where}: "${from.slice(0, 100)}": ${problem}; ignored`);
      continue;
    }
    const dynamic = /[*:]/.test(absolute ? from.replace(/^https?:\/\//, '') : from);
    if (dynamic ? ++dynamics > RULE_LIMITS.DYNAMIC_REDIRECTS : ++statics > RULE_LIMITS.STATIC_REDIRECTS) {
      warn(
        `${where}: over the limit of ${dynamic ? RULE_LIMITS.DYNAMIC_REDIRECTS : RULE_LIMITS.STATIC_REDIRECTS} ${dynamic ? 'dynamic' : 'static'} redirects; ignored`,
      );
      continue;
    }
    out.push({ from, to, status, match: compilePattern(from), absolute });
  }
  return out;
}

export function parseHeaders(text: string, warn: (m: string) => void): HeaderRule[] {
  const out: HeaderRule[] = [];
  let current: HeaderRule | null = null;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const where = `_headers line ${i + 1}`;
    if (!/^\s/.test(raw)) {
      const pattern = raw.trim();
      if (!pattern.startsWith('/') && !/^https?:\/\//.test(pattern)) {
        warn(`${where}: "${pattern}" must start with "/" or a URL; ignored`);
        continue;
      }
      if (out.length >= RULE_LIMITS.HEADER_RULES) {
        current = null;
        warn(`${where}: over the limit of ${RULE_LIMITS.HEADER_RULES} rules; ignored`);
        continue;
      }
      const problem = patternProblem(pattern.replace(/^https?:\/\/[^/]*/, ''));
      if (problem) {
        current = null;
        warn(`${where}: "${pattern.slice(0, 100)}": ${problem}; ignored`);
        continue;
      }
      current = {
        match: compilePattern(pattern),
        set: [],
        unset: [],
        absolute: /^https?:\/\//.test(pattern),
      };
      out.push(current);
      continue;
    }
    if (!current) {
      warn(`${where}: a header line before any URL pattern; ignored`);
      continue;
    }
    const line = raw.trim();
    if (line.startsWith('!')) {
      current.unset.push(line.slice(1).trim().toLowerCase());
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      warn(`${where}: expected "Name: value"; ignored`);
      continue;
    }
    current.set.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return out;
}
