// Reading one complete ESI tag — `<esi:name attr="v" …>`, `<esi:name … />` or `</esi:name>` —
// into a token. The tokenizer has already found where the tag ends (the first `>` outside
// quotes); this file only takes it apart. Values are binary strings (see bytes.ts) with the five
// XML entities and numeric character references decoded (ESI is XML: ESI 1.0 §1.1), so a test
// may be written `test="$(QUERY_STRING{n}) &gt; 3"`.

import { binaryToUtf8, utf8ToBinary } from './bytes.ts';

export type Token =
  | { type: 'text'; text: string }
  | { type: 'open'; name: string; attrs: Map<string, string>; selfClosing: boolean; raw: string }
  | { type: 'close'; name: string; raw: string }
  /** `<!--esi`: its content is processed, the wrapper removed (ESI 1.0 §3.8). */
  | { type: 'comment-open'; raw: string }
  /** The `-->` ending an `<!--esi` block. */
  | { type: 'comment-close'; raw: string }
  /** Markup that starts like ESI but cannot be read: `raw` is what the page held. */
  | { type: 'malformed'; raw: string; reason: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*/;
const CLOSE = /^<\/esi:([A-Za-z_][A-Za-z0-9_-]*)\s*>$/;
const WS = /\s/;

/** `raw` starts with `<esi:` or `</esi:` and ends with `>`. */
export function parseTag(raw: string): Token {
  if (raw.startsWith('</')) {
    const m = CLOSE.exec(raw);
    return m ? { type: 'close', name: m[1], raw } : { type: 'malformed', raw, reason: 'unreadable end tag' };
  }
  const m = NAME.exec(raw.slice(5));
  if (!m) return { type: 'malformed', raw, reason: 'no element name after <esi:' };
  const name = m[0];
  const attrs = new Map<string, string>();
  let i = 5 + name.length;
  const end = raw.length - 1; // the '>'
  let selfClosing = false;
  if (i < end && !WS.test(raw[i]) && raw[i] !== '/') {
    return { type: 'malformed', raw, reason: `unreadable element name after <esi:${name}` };
  }
  while (i < end) {
    const c = raw[i];
    if (WS.test(c)) {
      i++;
      continue;
    }
    if (c === '/') {
      if (i === end - 1) {
        selfClosing = true;
        break;
      }
      return { type: 'malformed', raw, reason: `stray "/" in <esi:${name}>` };
    }
    const an = /^[^\s=/>"']+/.exec(raw.slice(i, end));
    if (!an) return { type: 'malformed', raw, reason: `unreadable attribute in <esi:${name}>` };
    const attr = an[0];
    i += attr.length;
    while (i < end && WS.test(raw[i])) i++;
    let value = '';
    if (raw[i] === '=') {
      i++;
      while (i < end && WS.test(raw[i])) i++;
      const q = raw[i];
      if (q === '"' || q === "'") {
        const close = raw.indexOf(q, i + 1);
        if (close < 0 || close >= end) {
          return { type: 'malformed', raw, reason: `unterminated value of ${attr} in <esi:${name}>` };
        }
        value = raw.slice(i + 1, close);
        i = close + 1;
      } else {
        const v = /^[^\s"'>]+/.exec(raw.slice(i, end));
        if (!v) return { type: 'malformed', raw, reason: `missing value of ${attr} in <esi:${name}>` };
        value = v[0];
        i += value.length;
        if (i === end && value.endsWith('/')) {
          value = value.slice(0, -1); // a=b/>
          selfClosing = true;
        }
      }
    }
    if (!attrs.has(attr)) attrs.set(attr, decodeEntities(value));
  }
  return { type: 'open', name, attrs, selfClosing, raw };
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The XML entities and character references in an attribute value (into UTF-8 bytes). */
export function decodeEntities(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/g, (all, e: string) => {
    if (e[0] !== '#') return NAMED[e];
    const cp = e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return all;
    return utf8ToBinary(String.fromCodePoint(cp));
  });
}

/** How an element is named in messages. */
export function label(name: string): string {
  return name === '#comment' ? '<!--esi' : `esi:${name}`;
}

/** A tag as quoted in a message. */
export function preview(raw: string): string {
  return JSON.stringify(binaryToUtf8(raw.slice(0, 120)) + (raw.length > 120 ? '…' : ''));
}
