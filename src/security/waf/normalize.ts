/**
 * Normalisation: turning what a client sent into the text the rules match.
 *
 * An attacker writes `<script>` as `%253Cscript%253E`, `&#x3c;script&#62;`, `\u003cscript>`,
 * `％３Ｃscript＞` or `<scr%00ipt>`, hoping the WAF reads the bytes and the application reads
 * the decoded text. So every value is decoded the way *some* application might decode it, as
 * often as it might, before any rule looks at it. Rules are then written once, against plain
 * lower-case text.
 *
 * What a value goes through (`normalizeValue`), in rounds until nothing changes (at most
 * MAX_ROUNDS; text still changing after that is flagged `overEncoded`):
 *   1. percent-decoding: `%XX` (bytes, read as UTF-8, overlong forms such as `%c0%af` accepted as
 *      the ASCII they spell, as old IIS did), `%uXXXX`; `+` is a space in the first round of
 *      query and form values only (a `%2B` decoded later is a real plus); invalid escapes stay;
 *   2. HTML character references: decimal and hex (leading zeros and a missing `;` allowed, as
 *      browsers allow), a list of named ones (`&lt;`, `&colon;`, `&Tab;`, `&NewLine;`, …);
 *   3. backslash escapes: `\uXXXX`, `\u{X…}`, `\xXX`;
 *   4. Unicode NFKC (fullwidth `＜` becomes `<`), a few slash look-alikes mapped to `/` and `\`,
 *      and zero-width characters and soft hyphens removed (NFKC can produce `%` or `&`, so
 *      decoding runs again).
 * Then: null bytes removed (flagged `hadNull`), other control characters become spaces (CR
 * becomes a newline), lower case, runs of spaces collapsed to one, newlines kept (they separate
 * shell commands), spaces trimmed at both ends.
 *
 * Views built from that text on demand (`Inspected`): `sql` with SQL comments out of the way
 * (`/*!50000union*\/` → ` union `, `/* x *\/` → ` `, `#…\n` and `--…\n` → ` `), `sqlJoined`
 * with plain comments removed outright (`un/**\/ion` → `union`), and `slash` with backslashes
 * as slashes. Paths also get `resolveDotSegments` (RFC 3986 §5.2.4) for exclusion matching.
 *
 * Not covered: base64 or other content encodings inside values (a base64 cookie is matched as
 * the base64 text), UTF-7 and UTF-16 bodies, compressed bodies, JavaScript octal escapes, CSS
 * escapes (`\3c`), SQL string concatenation (`'un'||'ion'`), and any decoding an application
 * does that is not listed above.
 */

/** Decoding rounds; triple encoding plus an entity layer fits with one to spare. */
export const MAX_ROUNDS = 5;
/** Characters of one value inspected; the rest is not (docs/waf.md). */
export const MAX_VALUE_CHARS = 8192;

const utf8 = new TextDecoder('utf-8');

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function hexByte(s: string, i: number): number {
  if (i + 1 >= s.length) return -1;
  const a = hexDigit(s.charCodeAt(i));
  const b = hexDigit(s.charCodeAt(i + 1));
  return a < 0 || b < 0 ? -1 : (a << 4) | b;
}

const isCont = (b: number | undefined) => b !== undefined && (b & 0xc0) === 0x80;

/**
 * UTF-8 as a lenient decoder reads it: overlong forms are accepted (`C0 AF` is `/`), anything
 * else invalid becomes U+FFFD. Strict decoders reject overlong forms, so the attacker gains
 * nothing from them against a strict application, and a lenient one is caught.
 */
export function decodeUtf8Lenient(bytes: ArrayLike<number>): string {
  let out = '';
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
    } else if (b >= 0xc0 && b <= 0xdf && isCont(bytes[i + 1])) {
      out += String.fromCharCode(((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f));
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef && isCont(bytes[i + 1]) && isCont(bytes[i + 2])) {
      const cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      out += cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : String.fromCharCode(cp);
      i += 3;
    } else if (
      b >= 0xf0 &&
      b <= 0xf7 &&
      isCont(bytes[i + 1]) &&
      isCont(bytes[i + 2]) &&
      isCont(bytes[i + 3])
    ) {
      const cp =
        ((b & 0x07) << 18) |
        ((bytes[i + 1] & 0x3f) << 12) |
        ((bytes[i + 2] & 0x3f) << 6) |
        (bytes[i + 3] & 0x3f);
      out += cp > 0x10ffff ? '\ufffd' : String.fromCodePoint(cp);
      i += 4;
    } else {
      out += '\ufffd';
      i++;
    }
  }
  return out;
}

/** Bytes as UTF-8 text, invalid sequences as U+FFFD (never throws). */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** One round of percent-decoding; invalid escapes are kept as written. */
export function percentDecode(s: string, plusAsSpace = false): string {
  if (s.indexOf('%') < 0) return plusAsSpace && s.indexOf('+') >= 0 ? s.replace(/\+/g, ' ') : s;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    out += bytes.every((b) => b < 0x80) ? String.fromCharCode(...bytes) : decodeUtf8Lenient(bytes);
    bytes = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const b = hexByte(s, i + 1);
      if (b >= 0) {
        bytes.push(b);
        i += 2;
        continue;
      }
      if ((s.charCodeAt(i + 1) | 0x20) === 0x75) {
        const hi = hexByte(s, i + 2);
        const lo = hexByte(s, i + 4);
        if (hi >= 0 && lo >= 0) {
          flush();
          out += String.fromCharCode((hi << 8) | lo);
          i += 5;
          continue;
        }
      }
    }
    flush();
    out += c === 0x2b && plusAsSpace ? ' ' : s[i];
  }
  flush();
  return out;
}

/** Named references decoded; those marked `true` also without their `;` (as browsers do). */
const ENTITIES: Record<string, [string, boolean]> = {
  lt: ['<', true],
  gt: ['>', true],
  amp: ['&', true],
  quot: ['"', true],
  apos: ["'", false],
  nbsp: [' ', true],
  tab: ['\t', false],
  newline: ['\n', false],
  colon: [':', false],
  semi: [';', false],
  comma: [',', false],
  period: ['.', false],
  excl: ['!', false],
  quest: ['?', false],
  num: ['#', false],
  dollar: ['$', false],
  percnt: ['%', false],
  lpar: ['(', false],
  rpar: [')', false],
  lsqb: ['[', false],
  rsqb: [']', false],
  lbrack: ['[', false],
  rbrack: [']', false],
  lcub: ['{', false],
  rcub: ['}', false],
  lbrace: ['{', false],
  rbrace: ['}', false],
  sol: ['/', false],
  bsol: ['\\', false],
  grave: ['`', false],
  equals: ['=', false],
  plus: ['+', false],
  ast: ['*', false],
  midast: ['*', false],
  hyphen: ['-', false],
  dash: ['-', false],
  lowbar: ['_', false],
  verbar: ['|', false],
  vert: ['|', false],
  commat: ['@', false],
  hat: ['^', false],
  lsquo: ['\u2018', false],
  rsquo: ['\u2019', false],
  ldquo: ['\u201c', false],
  rdquo: ['\u201d', false],
  hellip: ['\u2026', false],
  mdash: ['\u2014', false],
  ndash: ['\u2013', false],
  copy: ['\u00a9', true],
  reg: ['\u00ae', true],
};

const ENTITY = /&(?:#(?:[xX]0*([0-9a-fA-F]{1,6})|0*(\d{1,7}))|([a-zA-Z][a-zA-Z0-9]{1,15}))(;?)/g;

function codePoint(cp: number): string {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(cp);
}

/** HTML character references: numeric (any, `;` optional) and the common named ones. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(ENTITY, (m, hex: string, dec: string, name: string, semi: string) => {
    if (hex !== undefined) return codePoint(Number.parseInt(hex, 16));
    if (dec !== undefined) return codePoint(Number.parseInt(dec, 10));
    const e = ENTITIES[name.toLowerCase()];
    if (!e || (!semi && !e[1])) return m;
    return e[0];
  });
}

const ESCAPE = /\\(?:u\{([0-9a-fA-F]{1,6})\}|[uU]([0-9a-fA-F]{4})|[xX]([0-9a-fA-F]{2}))/g;

/** JavaScript/JSON-style escapes: `\uXXXX`, `\u{X…}`, `\xXX`. */
export function decodeEscapes(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(ESCAPE, (_m, braced: string, u: string, x: string) =>
    codePoint(Number.parseInt(braced ?? u ?? x, 16)),
  );
}

const ZERO_WIDTH = /[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;
const SLASHES = /[\u2215\u2044\u29f8]/g;
const BACKSLASHES = /[\u2216\u29f9\ufe68]/g;
const NON_ASCII = /[^\x00-\x7f]/;

/** NFKC (fullwidth and compatibility forms), slash look-alikes, zero-width characters out. */
export function foldUnicode(s: string): string {
  if (!NON_ASCII.test(s)) return s;
  return s.replace(ZERO_WIDTH, '').normalize('NFKC').replace(SLASHES, '/').replace(BACKSLASHES, '\\');
}

export interface Normalized {
  /** What the rules match: decoded, folded, lower case, whitespace collapsed. */
  text: string;
  /** The value held a null byte (raw or encoded). */
  hadNull: boolean;
  /** Still changing after MAX_ROUNDS rounds of decoding. */
  overEncoded: boolean;
}

/** All decoding layers, in rounds until stable; case and spacing untouched. */
export function decodeLayers(raw: string, plusAsSpace: boolean): { text: string; overEncoded: boolean } {
  let cur = raw;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = foldUnicode(decodeEscapes(decodeEntities(percentDecode(cur, plusAsSpace && round === 0))));
    if (next === cur) return { text: cur, overEncoded: false };
    cur = next;
  }
  const again = foldUnicode(decodeEscapes(decodeEntities(percentDecode(cur))));
  return { text: cur, overEncoded: again !== cur };
}

const CONTROL = /[\x01-\x09\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]/g;
const SIMPLE = /^[a-zA-Z0-9 _.,:/=-]*$/;

/** Spaces and control characters as the rules expect them; newlines kept. */
export function collapseWhitespace(s: string): string {
  let t = s;
  if (t.indexOf('\r') >= 0) t = t.replace(/\r\n?/g, '\n');
  t = t.replace(CONTROL, (c) => (c === '\u2028' || c === '\u2029' ? '\n' : ' '));
  if (t.indexOf('  ') >= 0) t = t.replace(/ {2,}/g, ' ');
  if (t.indexOf('\n') >= 0) t = t.replace(/ ?\n[ \n]*/g, '\n');
  if (t.charCodeAt(0) === 32) t = t.slice(1);
  if (t.charCodeAt(t.length - 1) === 32) t = t.slice(0, -1);
  return t;
}

/** The text the rules match (see the top of this file). */
export function normalizeValue(raw: string, plusAsSpace = false): Normalized {
  const value = raw.length > MAX_VALUE_CHARS ? raw.slice(0, MAX_VALUE_CHARS) : raw;
  if (SIMPLE.test(value) && value.indexOf('  ') < 0 && value[0] !== ' ' && value[value.length - 1] !== ' ') {
    return { text: value.toLowerCase(), hadNull: false, overEncoded: false };
  }
  const { text: decoded, overEncoded } = decodeLayers(value, plusAsSpace);
  let text = decoded;
  const hadNull = text.indexOf('\0') >= 0;
  if (hadNull) text = text.replace(/\0/g, '');
  return { text: collapseWhitespace(text.toLowerCase()), hadNull, overEncoded };
}

/**
 * SQL comments out of the way: MySQL's `/*!50000 …*\/` keeps its content (MySQL runs it), plain
 * `/* … *\/` becomes `sep` (a space, or nothing for the joined view), an unterminated `/*` ends
 * the text, and `#…` or `--…` followed by a newline becomes a space. Linear in the text.
 */
export function stripSqlComments(text: string, sep: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const open = text.indexOf('/*', i);
    if (open < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, open);
    const close = text.indexOf('*/', open + 2);
    if (text.charCodeAt(open + 2) === 0x21) {
      // `/*!` or `/*!50000`: the content runs in MySQL.
      let j = open + 3;
      while (j < text.length && j < open + 9 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      out += ' ';
      if (close < 0) {
        out += text.slice(j);
        break;
      }
      out += `${text.slice(j, close)} `;
      i = close + 2;
      continue;
    }
    if (close < 0) break;
    out += sep;
    i = close + 2;
  }
  out = out.replace(/\*\//g, ' ');
  if (out.indexOf('\n') >= 0) out = out.replace(/(?:#|--)[^\n]*\n/g, ' ');
  return out.indexOf('  ') >= 0 ? out.replace(/ {2,}/g, ' ') : out;
}

/**
 * RFC 3986 §5.2.4 remove_dot_segments for an absolute path: `/a/./b/../c` → `/a/c`; `..` never
 * climbs above the root.
 */
export function resolveDotSegments(path: string): string {
  if (path.indexOf('.') < 0) return path;
  const input = path.startsWith('/') ? path : `/${path}`;
  const segments = input.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}

/** A path as the rules see it: decoded, backslashes as slashes, repeated slashes as one. */
export function decodePath(raw: string): { path: string; overEncoded: boolean; hadNull: boolean } {
  const value = raw.length > MAX_VALUE_CHARS ? raw.slice(0, MAX_VALUE_CHARS) : raw;
  const { text, overEncoded } = decodeLayers(value, false);
  const hadNull = text.indexOf('\0') >= 0;
  const path = (hadNull ? text.replace(/\0/g, '') : text).replace(/\\/g, '/').replace(/\/{2,}/g, '/');
  return { path, overEncoded, hadNull };
}

/** Control characters escaped, at most 80 characters: what a log line may quote. */
export function excerptAround(text: string, index: number): string {
  const start = Math.max(0, Math.min(index - 20, text.length - 80));
  const slice = text.slice(start, start + 80);
  const escaped = slice.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > 80 ? escaped.slice(0, 80) : escaped;
}
