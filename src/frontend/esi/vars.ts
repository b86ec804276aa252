// ESI variables (ESI 1.0 §4): `$(NAME)`, `$(NAME{key})` and a default `$(NAME{key}|'fallback')`
// (§4.2), read from the request being answered. The variables of §4's table:
//   HTTP_ACCEPT_LANGUAGE  list: `{en}` is true when the header names en or en-* with q > 0
//   HTTP_COOKIE           dictionary: `{name}` is that cookie's value; bare, the whole header
//   HTTP_HOST             the Host header (the page URL's host when the header is missing)
//   HTTP_REFERER          string
//   HTTP_USER_AGENT       dictionary: browser (MOZILLA | MSIE | OTHER), version, os (WIN | MAC |
//                         UNIX | OTHER); bare, the whole header
//   QUERY_STRING          dictionary: `{name}` is the parameter's first value as it was sent
//                         (still percent-encoded, so it can be put into an include URL without
//                         adding parameters); bare, the query without its '?'
// and GEO{country_code|region_code|city|…} from the caller's geo data (Akamai's extension; not
// in ESI 1.0). Anything else — an unknown name, a missing key — is empty (§4: "undefined").
// Deliberately not supported: the ESI 1.1/Akamai assignment and user variables (esi:assign,
// esi:eval), list-index access beyond HTTP_ACCEPT_LANGUAGE, and function calls ($url_encode…).

import { headerLookup } from './headers.ts';
import type { EsiContext } from './types.ts';

/** A variable's value: text, or for HTTP_ACCEPT_LANGUAGE{…} a boolean. */
export type EsiValue = string | boolean;

export interface VarRef {
  name: string;
  key: string | null;
  fallback: string | null;
}

/** The reference at the start of `s` (which starts with `$(`), and its length; null if none. */
export function readVarRef(s: string, at = 0): { ref: VarRef; length: number } | null {
  const m = VAR_AT.exec(s.slice(at, at + MAX_VAR_LENGTH));
  if (!m) return null;
  const key = m[2] === undefined ? null : unquote(m[2]);
  const fallback = m[3] === undefined ? null : unquote(m[3].trim());
  return { ref: { name: m[1], key, fallback }, length: m[0].length };
}

/** Longest `$(…)` reference read; past it a `$(` is plain text. */
export const MAX_VAR_LENGTH = 1024;
// A default is quoted ('…', which may hold ')') or runs to the ')' and holds no quote.
const VAR_AT = /^\$\(([A-Za-z_][A-Za-z0-9_]*)(?:\{([^}]*)\})?(?:\|('[^']*'|[^')]*))?\)/;

function unquote(s: string): string {
  return s.length >= 2 && s[0] === "'" && s[s.length - 1] === "'" ? s.slice(1, -1) : s;
}

/** Reads variables from one request; values are computed once per name. */
export class Variables {
  private readonly header: (name: string) => string | null;
  private cookies: Map<string, string> | null = null;
  private ua: Record<string, string> | null = null;

  constructor(private readonly ctx: EsiContext) {
    this.header = headerLookup(ctx.headers);
  }

  /** The value of `ref`, its default when empty, or '' when both are missing. */
  value(ref: VarRef): EsiValue {
    const v = this.raw(ref.name, ref.key);
    if ((v === undefined || v === '') && ref.fallback !== null) return ref.fallback;
    return v ?? '';
  }

  /** As text, for substitution: booleans as 'true' / 'false'. */
  text(ref: VarRef): string {
    return String(this.value(ref));
  }

  private raw(name: string, key: string | null): EsiValue | undefined {
    switch (name) {
      case 'HTTP_COOKIE':
        if (key === null) return this.header('cookie') ?? undefined;
        return this.cookieJar().get(key);
      case 'HTTP_HOST':
        return this.header('host') ?? this.ctx.url.host;
      case 'HTTP_REFERER':
        return key === null ? (this.header('referer') ?? undefined) : undefined;
      case 'QUERY_STRING':
        return key === null ? this.ctx.url.search.slice(1) : queryParam(this.ctx.url.search, key);
      case 'HTTP_ACCEPT_LANGUAGE': {
        const h = this.header('accept-language');
        if (key === null) return h ?? undefined;
        return acceptsLanguage(h ?? '', key);
      }
      case 'HTTP_USER_AGENT': {
        const h = this.header('user-agent');
        if (key === null) return h ?? undefined;
        this.ua ??= parseUserAgent(h ?? '');
        return this.ua[key];
      }
      case 'GEO':
        return key === null ? undefined : (this.ctx.geo?.[key] ?? undefined);
      default:
        return undefined;
    }
  }

  private cookieJar(): Map<string, string> {
    if (this.cookies) return this.cookies;
    const jar = new Map<string, string>();
    for (const part of (this.header('cookie') ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const k = part.slice(0, eq).trim();
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1);
      if (k && !jar.has(k)) jar.set(k, v);
    }
    return (this.cookies = jar);
  }
}

/** The first value of parameter `key` in `search` ('?a=1&b=2'), as sent. */
function queryParam(search: string, key: string): string | undefined {
  for (const pair of search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    if (k === key || safeDecode(k) === key) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Does the Accept-Language list hold `lang` (or a subtag of it) with a q above 0? */
export function acceptsLanguage(header: string, lang: string): boolean {
  const want = lang.trim().toLowerCase();
  if (!want) return false;
  for (const item of header.split(',')) {
    const [range, ...params] = item.split(';').map((s) => s.trim());
    const r = range.toLowerCase();
    if (r !== want && !r.startsWith(`${want}-`)) continue;
    const q = params.find((p) => /^q\s*=/i.test(p));
    if (q !== undefined && Number(q.slice(q.indexOf('=') + 1).trim()) === 0) continue;
    return true;
  }
  return false;
}

/** ESI 1.0 §4's User-Agent dictionary: browser, version, os. */
export function parseUserAgent(ua: string): Record<string, string> {
  let browser = 'OTHER';
  let version = '';
  const msie = /MSIE ([0-9.]+)/.exec(ua) ?? /Trident\/.*rv:([0-9.]+)/.exec(ua);
  const moz = /Mozilla\/([0-9.]+)/.exec(ua);
  if (msie) {
    browser = 'MSIE';
    version = msie[1];
  } else if (moz) {
    browser = 'MOZILLA';
    version = moz[1];
  }
  const os = /Windows|Win(?:32|64|NT|98|95)/.test(ua)
    ? 'WIN'
    : /Macintosh|Mac OS|iPhone|iPad/.test(ua)
      ? 'MAC'
      : /Linux|X11|BSD|SunOS|Unix|Android/i.test(ua)
        ? 'UNIX'
        : 'OTHER';
  return { browser, version, os };
}

/**
 * Replaces every `$(…)` in `s` by its value, written through `encode` (values go into the page as
 * UTF-8: bytes.ts). Text that only looks like a reference (`$(` without a closing `)`) stays.
 */
export function substitute(s: string, vars: Variables, encode: (v: string) => string = (v) => v): string {
  return substitutePart(s, vars, encode, false).out;
}

/**
 * `substitute` for text that may go on in a later chunk: with `more`, a `$(` that further text
 * could still make a reference (fewer than MAX_VAR_LENGTH bytes follow it) ends the substituted
 * part, and it and what follows come back as `rest`. A reference read from a part is the one the
 * whole text has there (the grammar ends each piece at its delimiter), so the output does not
 * depend on where the text was split.
 */
export function substitutePart(
  s: string,
  vars: Variables,
  encode: (v: string) => string,
  more: boolean,
): { out: string; rest: string } {
  let i = s.indexOf('$(');
  if (i < 0) {
    if (more && s.endsWith('$')) return { out: s.slice(0, -1), rest: '$' };
    return { out: s, rest: '' };
  }
  let out = '';
  let from = 0;
  while (i >= 0) {
    const r = readVarRef(s, i);
    if (r) {
      out += s.slice(from, i) + encode(vars.text(r.ref));
      from = i + r.length;
      i = s.indexOf('$(', from);
    } else if (more && s.length - i < MAX_VAR_LENGTH) {
      return { out: out + s.slice(from, i), rest: s.slice(i) };
    } else {
      i = s.indexOf('$(', i + 2);
    }
  }
  if (more && s.endsWith('$') && from < s.length) return { out: out + s.slice(from, -1), rest: '$' };
  return { out: out + s.slice(from), rest: '' };
}
