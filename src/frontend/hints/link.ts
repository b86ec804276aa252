/**
 * The Link header field (RFC 8288 §3), read and written:
 *
 *   Link       = #link-value                                    (§3, a comma-separated list)
 *   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
 *   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
 *
 * Parsing never throws. A bad link-value (no `<`, an unterminated target, junk after a
 * parameter, an unterminated quoted-string) is skipped up to the next comma that is outside
 * angle brackets and quotes, and parsing goes on with the next one. Deliberately lenient where
 * real servers are sloppy: an unquoted value may hold characters a token may not (`type=font/woff2`),
 * an empty parameter (`;;`, a trailing `;`) is ignored, and a parameter without a value
 * (`crossorigin`) is kept with the value `undefined`. Parameter names are compared
 * case-insensitively (§3) and kept lower-case; a second `rel` is ignored (§3.3).
 *
 * Writing (`formatLink`) produces only what Node's `writeEarlyHints` accepts: it validates each
 * value against `<[^>]*>` followed by `; name`, `; name=value` or `; name="value"` with no `;`,
 * `"` or whitespace inside a value, and throws ERR_INVALID_ARG_VALUE otherwise. A parameter
 * whose value cannot be written that way makes `formatLink` return null, so callers drop that
 * link rather than send it with a parameter missing (a preload without its `media` or
 * `imagesrcset` would fetch the wrong thing).
 *
 * Not done: RFC 8187 decoding of `title*`-style values (kept as the raw text); resolving a
 * relative target (a 103 is read against the request URL, as the final response's Link is).
 */

/** One link-param; `value` is undefined when the parameter had no `=`. */
export interface LinkParam {
  name: string;
  value: string | undefined;
}

/** One link-value: the target as written between `<` and `>`, and its parameters in order. */
export interface Link {
  target: string;
  params: LinkParam[];
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const isOws = (c: string | undefined) => c === ' ' || c === '\t';

/** The value of the first parameter called `name` (lower-case), or undefined. */
export function linkParam(link: Link, name: string): string | undefined {
  return link.params.find((p) => p.name === name)?.value;
}

/** The relation types of a link, lower-case (`rel="preload prefetch"` → both; §3.3). */
export function relTypes(link: Link): string[] {
  const rel = linkParam(link, 'rel');
  return rel === undefined
    ? []
    : rel
        .toLowerCase()
        .split(/[ \t]+/)
        .filter(Boolean);
}

/** Index just past the next comma outside `<…>` and `"…"` at or after `i`, or the end. */
function skipToNextValue(s: string, i: number): number {
  let inAngle = false;
  let inQuote = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (inAngle) {
      if (c === '>') inAngle = false;
    } else if (c === '"') inQuote = true;
    else if (c === '<') inAngle = true;
    else if (c === ',') return i + 1;
  }
  return s.length;
}

/** Characters never allowed in a target as received: controls, whitespace, `<`, `"`. */
const BAD_TARGET = /[\u0000-\u0020\u007f<"]/;

/** Every link-value of a Link field value, in order; bad ones are skipped. Never throws. */
export function parseLinkHeader(value: string): Link[] {
  const out: Link[] = [];
  if (typeof value !== 'string') return out;
  const s = value;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (isOws(s[i]) || s[i] === ',')) i++;
    if (i >= s.length) break;
    if (s[i] !== '<') {
      i = skipToNextValue(s, i);
      continue;
    }
    const close = s.indexOf('>', i + 1);
    if (close === -1) break; // an unterminated target swallows the rest
    const target = s.slice(i + 1, close);
    i = close + 1;
    const link: Link = { target, params: [] };
    let ok = !BAD_TARGET.test(target);
    let sawRel = false;
    // Parameters, until a comma (next link-value), the end, or an error.
    for (;;) {
      while (isOws(s[i])) i++;
      if (i >= s.length) break;
      if (s[i] === ',') {
        i++;
        break;
      }
      if (s[i] !== ';') {
        ok = false;
        i = skipToNextValue(s, i);
        break;
      }
      i++;
      while (isOws(s[i])) i++;
      if (i >= s.length || s[i] === ';' || s[i] === ',') continue; // empty parameter
      let j = i;
      while (j < s.length && !/[\s=;,"]/.test(s[j])) j++;
      const name = s.slice(i, j).toLowerCase();
      i = j;
      if (!TCHAR.test(name)) {
        ok = false;
        i = skipToNextValue(s, i);
        break;
      }
      while (isOws(s[i])) i++;
      let val: string | undefined;
      if (s[i] === '=') {
        i++;
        while (isOws(s[i])) i++;
        if (s[i] === '"') {
          let text = '';
          let closed = false;
          for (i++; i < s.length; i++) {
            const c = s[i];
            if (c === '\\' && i + 1 < s.length) text += s[++i];
            else if (c === '"') {
              closed = true;
              i++;
              break;
            } else text += c;
          }
          if (!closed) return out; // an unterminated quoted-string swallows the rest
          val = text;
        } else {
          let k = i;
          while (k < s.length && !/[\s;,"]/.test(s[k])) k++;
          val = s.slice(i, k);
          i = k;
        }
      }
      if (name === 'rel') {
        if (sawRel) continue; // §3.3: occurrences after the first are ignored
        sawRel = true;
      }
      link.params.push({ name, value: val });
    }
    if (ok) out.push(link);
  }
  return out;
}

/** The Link values of all the fields of one name, each field parsed on its own. */
export function parseLinkFields(values: readonly string[]): Link[] {
  return values.flatMap((v) => parseLinkHeader(v));
}

/** A target percent-encoded where a URI may not hold the character as it is (RFC 3986 §2). */
function encodeTarget(target: string): string {
  return target.replace(/[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu, (ch) => encodeURIComponent(ch));
}

/**
 * A link as one Link field value, or null when a parameter value cannot be written in a form
 * Node's `writeEarlyHints` accepts (see the top of this file).
 */
export function formatLink(link: Link): string | null {
  let out = `<${encodeTarget(link.target)}>`;
  for (const p of link.params) {
    const name = p.name.toLowerCase();
    if (!TCHAR.test(name)) return null;
    if (p.value === undefined) out += `; ${name}`;
    else if (TCHAR.test(p.value)) out += `; ${name}=${p.value}`;
    else if (/^[^;"\s\\\u0000-\u001f\u007f]*$/.test(p.value)) out += `; ${name}="${p.value}"`;
    else return null;
  }
  return out;
}

/** Several Link lists as one, each value once, in first-seen order. */
export function mergeLinks(...lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  const seen = new Set<string>();
  for (const list of lists) for (const v of list ?? []) seen.add(v);
  return [...seen];
}
