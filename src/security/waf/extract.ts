/**
 * Splitting a request into the values the rules inspect, each tagged with its part and name:
 * the path; query parameter names and values; header values (the cookie header as cookies, the
 * user agent as its own part); the body as JSON strings (keys and values, duplicates included),
 * form parameters, multipart text fields and file names, or text.
 *
 * Headers that carry only negotiation or caching tokens (SKIPPED_HEADERS) are not inspected:
 * their syntax (`*\/*;q=0.8`, `W/"…"`) looks like injection and applications do not echo or
 * query them. Bodies: only the first `limit` bytes; JSON that does not parse (and is not cut
 * off) is inspected as text; declared binary types whose first KB holds control bytes are not
 * inspected; text is inspected in 8 KB windows overlapping by 256 characters. Where a value
 * came from is kept (`loc`) so sanitize can blank it.
 */
import { decodeUtf8, MAX_VALUE_CHARS, percentDecode } from './normalize.ts';
import type { WafPart, WafRequest } from './types.ts';

export interface Location {
  kind: 'query' | 'form' | 'json';
  /** Index of the pair (query, form) or the string's offsets in the body text (json). */
  pair: number;
  start: number;
  end: number;
}

export interface Item {
  part: WafPart;
  /** Lower-case parameter, header or cookie name; the enclosing key for JSON strings. */
  name: string | undefined;
  raw: string;
  /** `+` is a space (query and form encoding). */
  plus: boolean;
  isKey: boolean;
  loc?: Location;
}

export type BodyKind = 'none' | 'json' | 'form' | 'multipart' | 'text' | 'binary';

export interface Pair {
  start: number;
  end: number;
  /** Where the value starts (after `=`), or -1 when the pair has no `=`. */
  valueStart: number;
}

export interface Extracted {
  items: Item[];
  bodyKind: BodyKind;
  bodyTruncated: boolean;
  /** The inspected body text (form and JSON: for sanitize). */
  bodyText: string;
  /** The whole body decoded as UTF-8 without loss (sanitize re-encodes it). */
  bodyLossless: boolean;
  queryPairs: Pair[];
  bodyPairs: Pair[];
}

/** Headers not inspected (docs/waf.md): negotiation, caching and fetch-metadata tokens. */
export const SKIPPED_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'connection',
  'content-length',
  'cache-control',
  'pragma',
  'upgrade-insecure-requests',
  'if-none-match',
  'if-match',
  'if-modified-since',
  'if-unmodified-since',
  'dnt',
  'te',
  'priority',
  'keep-alive',
  'upgrade',
]);

const TEXT_WINDOW = MAX_VALUE_CHARS;
const TEXT_OVERLAP = 256;

/** `a=1&b=2` into pairs with their offsets; empty pairs skipped. */
export function splitPairs(s: string): Pair[] {
  const pairs: Pair[] = [];
  let start = 0;
  // The next '=' at or after `start`, found once and reused: searching from each pair to the end
  // made a body of pairs without '=' quadratic (128 KB of `a&a&…` took 60 ms).
  let eq = -1;
  while (start <= s.length) {
    let end = s.indexOf('&', start);
    if (end < 0) end = s.length;
    if (end > start) {
      if (eq !== Number.POSITIVE_INFINITY && eq < start) {
        eq = s.indexOf('=', start);
        if (eq < 0) eq = Number.POSITIVE_INFINITY;
      }
      pairs.push({ start, end, valueStart: eq < end ? eq + 1 : -1 });
    }
    start = end + 1;
  }
  return pairs;
}

/**
 * Values extracted per request at most (the engine inspects up to MAX_INSPECTED_VALUES and
 * scores a request with more): extraction stops a little past the cap, so a request of
 * 40,000 tiny parameters costs its splitting, not 40,000 decoded items.
 */
export const EXTRACT_CAP = 2048;

function pairItems(s: string, pairs: Pair[], part: WafPart, kind: 'query' | 'form', out: Item[]): void {
  for (let i = 0; i < pairs.length && out.length <= EXTRACT_CAP; i++) {
    const p = pairs[i];
    const keyEnd = p.valueStart < 0 ? p.end : p.valueStart - 1;
    const key = s.slice(p.start, keyEnd);
    const name = percentDecode(key.length > 256 ? key.slice(0, 256) : key, true).toLowerCase();
    if (key !== '')
      out.push({
        part,
        name,
        raw: key,
        plus: true,
        isKey: true,
        loc: { kind, pair: i, start: p.start, end: keyEnd },
      });
    if (p.valueStart >= 0 && p.valueStart < p.end)
      out.push({
        part,
        name,
        raw: s.slice(p.valueStart, p.end),
        plus: true,
        isKey: false,
        loc: { kind, pair: i, start: p.valueStart, end: p.end },
      });
  }
}

function cookieItems(header: string, out: Item[]): void {
  for (const piece of header.split(';')) {
    const eq = piece.indexOf('=');
    const name = (eq < 0 ? piece : piece.slice(0, eq)).trim();
    let value = eq < 0 ? '' : piece.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== '')
      out.push({ part: 'cookies', name: name.toLowerCase(), raw: name, plus: false, isKey: true });
    if (value !== '')
      out.push({ part: 'cookies', name: name.toLowerCase(), raw: value, plus: false, isKey: false });
  }
}

interface JsonString {
  value: string;
  start: number;
  end: number;
  isKey: boolean;
  name: string | undefined;
}

interface Frame {
  obj: boolean;
  key: string | undefined;
  name: string | undefined;
}

/**
 * Every string literal of a JSON text (keys and values, duplicates included, in order), with
 * the key it belongs to. Tolerant: a text cut off mid-way yields the strings it has.
 */
export function jsonStrings(text: string): JsonString[] {
  const out: JsonString[] = [];
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      const top = stack[stack.length - 1];
      const name = top ? (top.obj ? top.key : top.name) : undefined;
      stack.push({ obj: c === 0x7b, key: undefined, name });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      const end = Math.min(j + 1, n);
      let value = text.slice(i + 1, Math.min(j, n));
      if (escaped) {
        try {
          value = JSON.parse(text.slice(i, end)) as string;
        } catch {
          // An invalid escape: the literal's text as written.
        }
      }
      let k = end;
      while (
        k < n &&
        (text.charCodeAt(k) === 0x20 || (text.charCodeAt(k) >= 0x09 && text.charCodeAt(k) <= 0x0d))
      )
        k++;
      const isKey = text.charCodeAt(k) === 0x3a;
      const top = stack[stack.length - 1];
      if (isKey && top) top.key = value;
      const name = isKey ? top?.name : top ? (top.obj ? top.key : top.name) : undefined;
      out.push({ value, start: i, end, isKey, name: name?.toLowerCase() });
      i = end - 1;
    }
  }
  return out;
}

/** A media-type parameter, read as the runtime's FormData parser reads it (case kept). */
function mediaParam(header: string, name: string): string | null {
  const m = new RegExp(`(?:^|;)\\s*${name}\\*?=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/**
 * The parts of a multipart body, found the way the runtime's `formData()` finds them
 * (src/runtime/isolate/formdata.ts): the boundary parameter as written (case kept), the first
 * delimiter anywhere, every later one only at the start of a line (`\r\n--boundary`). Reading
 * it any other way lets a payload sit where the WAF sees the end of the body and the worker
 * sees another part. `clean` is false when the body does not parse to its closing delimiter:
 * the caller then inspects the whole body as text as well.
 */
function multipartItems(
  text: string,
  contentType: string,
  truncated: boolean,
  out: Item[],
): { found: number; clean: boolean } {
  const boundary = mediaParam(contentType, 'boundary');
  if (!boundary || boundary.length > 200) return { found: 0, clean: false };
  const delim = `--${boundary}`;
  const next = `\r\n${delim}`;
  let pos = text.indexOf(delim);
  let found = 0;
  if (pos < 0) return { found, clean: false };
  for (;;) {
    pos += delim.length;
    if (text.startsWith('--', pos)) return { found, clean: true };
    if (!text.startsWith('\r\n', pos)) return { found, clean: false };
    pos += 2;
    const headEnd = text.indexOf('\r\n\r\n', pos);
    // A body cut at the inspection limit ends inside a part: what was read is all there is.
    if (headEnd < 0) return { found, clean: truncated };
    let end = text.indexOf(next, headEnd + 4);
    if (end < 0) {
      if (!truncated) return { found, clean: false };
      end = text.length;
    }
    const headers = text.slice(pos, headEnd);
    const content = text.slice(headEnd + 4, end);
    const disposition = /(?:^|\r\n)\s*content-disposition\s*:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = mediaParam(disposition, 'name')?.toLowerCase();
    const filename = mediaParam(disposition, 'filename');
    found++;
    if (name) out.push({ part: 'body', name, raw: name, plus: false, isKey: true });
    if (filename !== null) {
      if (filename) out.push({ part: 'body', name, raw: filename, plus: false, isKey: false });
    } else if (content !== '') out.push({ part: 'body', name, raw: content, plus: false, isKey: false });
    if (end === text.length) return { found, clean: true };
    pos = end + 2;
  }
}

const BINARY_TYPE =
  /^(?:image|audio|video|font)\/|^application\/(?:octet-stream|zip|gzip|x-gzip|pdf|x-tar|x-7z-compressed|wasm|x-protobuf|protobuf|grpc|msgpack|x-msgpack|cbor|vnd\.)/;

function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 1024);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 0x09 || (b > 0x0d && b < 0x20)) return true;
  }
  return false;
}

function textItems(text: string, out: Item[]): void {
  for (let i = 0; i < text.length; i += TEXT_WINDOW - TEXT_OVERLAP) {
    out.push({
      part: 'body',
      name: undefined,
      raw: text.slice(i, i + TEXT_WINDOW),
      plus: false,
      isKey: false,
    });
    if (i + TEXT_WINDOW >= text.length) break;
  }
}

function contentTypeHeader(req: WafRequest): string {
  if (!Array.isArray(req.headers)) return '';
  for (const h of req.headers)
    if (
      Array.isArray(h) &&
      typeof h[0] === 'string' &&
      h[0].toLowerCase() === 'content-type' &&
      typeof h[1] === 'string'
    )
      return h[1];
  return '';
}

function bodyItems(req: WafRequest, limit: number, ex: Extracted): void {
  const body = req.body instanceof Uint8Array ? req.body : undefined;
  const cut = req.bodyTruncated === true;
  if (!body || body.length === 0 || limit === 0) {
    ex.bodyTruncated = (!!body && body.length > limit) || cut;
    return;
  }
  ex.bodyTruncated = body.length > limit || cut;
  const bytes = ex.bodyTruncated ? body.subarray(0, limit) : body;
  const declared = typeof req.contentType === 'string' ? req.contentType : contentTypeHeader(req);
  // The media type alone decides the kind, as the runtime's parsers decide (a parameter such
  // as `charset=json` must not make a form body read as JSON).
  const ct = declared.split(';')[0].toLowerCase().trim();
  if (BINARY_TYPE.test(ct) && looksBinary(bytes)) {
    ex.bodyKind = 'binary';
    return;
  }
  const text = decodeUtf8(bytes);
  ex.bodyText = text;
  ex.bodyLossless = !ex.bodyTruncated && !text.includes('\ufffd');
  const start = text.trimStart()[0];
  if (ct.includes('json') || (ct === '' && (start === '{' || start === '['))) {
    let valid = ex.bodyTruncated;
    if (!valid) {
      try {
        JSON.parse(text);
        valid = true;
      } catch {
        valid = false;
      }
    }
    if (valid) {
      ex.bodyKind = 'json';
      const strings = jsonStrings(text);
      for (let i = 0; i < strings.length && ex.items.length <= EXTRACT_CAP; i++) {
        const s = strings[i];
        ex.items.push({
          part: 'body',
          name: s.name,
          raw: s.value,
          plus: false,
          isKey: s.isKey,
          loc: { kind: 'json', pair: i, start: s.start, end: s.end },
        });
      }
      return;
    }
  } else if (
    ct.startsWith('application/x-www-form-urlencoded') ||
    (ct === '' && /^[\w.%+\-[\]]+=/.test(text) && !/\s/.test(text.slice(0, 200)))
  ) {
    ex.bodyKind = 'form';
    ex.bodyPairs = splitPairs(text);
    pairItems(text, ex.bodyPairs, 'body', 'form', ex.items);
    return;
  } else if (ct.startsWith('multipart/')) {
    const parsed = multipartItems(text, declared, ex.bodyTruncated, ex.items);
    if (parsed.found > 0 && parsed.clean) {
      ex.bodyKind = 'multipart';
      return;
    }
  }
  ex.bodyKind = 'text';
  textItems(text, ex.items);
}

/** Every value of a request the rules inspect (never throws on malformed input). */
export function extract(req: WafRequest, inspectBodyBytes: number): Extracted {
  const ex: Extracted = {
    items: [],
    bodyKind: 'none',
    bodyTruncated: false,
    bodyText: '',
    bodyLossless: false,
    queryPairs: [],
    bodyPairs: [],
  };
  const query = typeof req.query === 'string' ? req.query : '';
  ex.queryPairs = splitPairs(query);
  pairItems(query, ex.queryPairs, 'query', 'query', ex.items);
  for (const h of Array.isArray(req.headers) ? req.headers : []) {
    if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'string') continue;
    const name = h[0].toLowerCase();
    const value = h[1];
    if (value === '' || name.startsWith(':')) continue;
    if (name === 'cookie') cookieItems(value, ex.items);
    else if (name === 'user-agent')
      ex.items.push({ part: 'user_agent', name, raw: value, plus: false, isKey: false });
    else if (!SKIPPED_HEADERS.has(name) && !name.startsWith('sec-ch-') && !name.startsWith('sec-fetch-'))
      ex.items.push({ part: 'headers', name, raw: value, plus: false, isKey: false });
  }
  bodyItems(req, inspectBodyBytes, ex);
  return ex;
}
