/**
 * R2's conditional operations (`onlyIf`) and ranged reads: the two forms Workers accepts for
 * each (an object, or HTTP headers), turned into one resolved shape, and how R2 evaluates them
 * (RFC 9110's If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since, with R2's
 * rule that a matching etag wins over the date that goes with it).
 * https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations
 */
import { R2InputError, r2Errors } from './limits.ts';
import type { R2Conditional, R2EtagCondition, R2RangeRequest } from './types.ts';

/** onlyIf's object form: etags unquoted, one each; dates as ms. */
export interface ConditionalFields {
  etagMatches?: string;
  etagDoesNotMatch?: string;
  uploadedBefore?: number;
  uploadedAfter?: number;
  secondsGranularity?: boolean;
}

/** onlyIf's Headers form: the four conditional request headers, as sent. */
export interface ConditionalHeaders {
  'if-match'?: string;
  'if-none-match'?: string;
  'if-modified-since'?: string;
  'if-unmodified-since'?: string;
}

function oneEtag(v: string): R2EtagCondition[] {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"'))
    throw new R2InputError(`Conditional ETag should not be wrapped in quotes (${v}).`);
  return [v === '*' ? { type: 'wildcard' } : { type: 'strong', value: v }];
}

function date(v: number, what: string): number {
  if (!Number.isFinite(v)) throw new R2InputError(`onlyIf.${what} must be a valid Date`);
  return v;
}

export function conditionalFromFields(c: ConditionalFields): R2Conditional {
  const out: R2Conditional = {};
  if (c.etagMatches !== undefined) out.etagMatches = oneEtag(c.etagMatches);
  if (c.etagDoesNotMatch !== undefined) out.etagDoesNotMatch = oneEtag(c.etagDoesNotMatch);
  if (c.uploadedBefore !== undefined) out.uploadedBefore = date(c.uploadedBefore, 'uploadedBefore');
  if (c.uploadedAfter !== undefined) out.uploadedAfter = date(c.uploadedAfter, 'uploadedAfter');
  if (c.secondsGranularity) out.secondsGranularity = true;
  return out;
}

/**
 * An If-Match / If-None-Match value: `*`, or a comma-separated list of `"strong"` and
 * `W/"weak"` etags (commas may sit inside the quotes, and empty list elements are allowed).
 */
export function parseEtagHeader(header: string): R2EtagCondition[] {
  const out: R2EtagCondition[] = [];
  let i = 0;
  let needComma = false;
  const n = header.length;
  while (i < n) {
    const ch = header[i];
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch === ',') {
      needComma = false;
      i++;
      continue;
    }
    if (needComma) throw new R2InputError('Comma was expected to separate etags.', 'Error');
    if (ch === '*') return [{ type: 'wildcard' }];
    let weak = false;
    if (ch === 'W') {
      if (header[i + 1] !== '/' || header[i + 2] !== '"')
        throw new R2InputError('Weak etags must start with W/ and their value must be quoted', 'Error');
      weak = true;
      i += 2;
    } else if (ch !== '"') throw new R2InputError('Invalid conditional header', 'Error');
    const close = header.indexOf('"', i + 1);
    if (close < 0) throw new R2InputError('Unclosed double quote for Etag', 'Error');
    out.push({ type: weak ? 'weak' : 'strong', value: header.slice(i + 1, close) });
    i = close + 1;
    needComma = true;
  }
  return out;
}

function headerDate(v: string, name: string): number {
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new R2InputError(`${name} is not a valid HTTP date: ${JSON.stringify(v)}`);
  return ms;
}

/** The Headers form compares upload times in whole seconds, as HTTP dates have no more. */
export function conditionalFromHeaders(h: ConditionalHeaders): R2Conditional {
  const out: R2Conditional = { secondsGranularity: true };
  if (h['if-match'] !== undefined) out.etagMatches = parseEtagHeader(h['if-match']);
  if (h['if-none-match'] !== undefined) out.etagDoesNotMatch = parseEtagHeader(h['if-none-match']);
  if (h['if-modified-since'] !== undefined)
    out.uploadedAfter = headerDate(h['if-modified-since'], 'If-Modified-Since');
  if (h['if-unmodified-since'] !== undefined)
    out.uploadedBefore = headerDate(h['if-unmodified-since'], 'If-Unmodified-Since');
  return out;
}

function listed(list: R2EtagCondition[], etag: string, weakComparison: boolean): boolean {
  return list.some(
    (c) => c.type === 'wildcard' || (c.value === etag && (c.type === 'strong' || weakComparison)),
  );
}

/**
 * Whether `c` holds for the object (undefined: there is none). Without an object, only a
 * condition that needs one (etagMatches, uploadedAfter) fails.
 */
export function conditionHolds(c: R2Conditional, object?: { etag: string; uploaded: number }): boolean {
  if (!object) return c.etagMatches === undefined && c.uploadedAfter === undefined;
  const seconds = (ms: number) => (c.secondsGranularity ? Math.floor(ms / 1000) * 1000 : ms);
  const uploaded = seconds(object.uploaded);
  const ifMatch = c.etagMatches === undefined || listed(c.etagMatches, object.etag, false);
  const ifNoneMatch = c.etagDoesNotMatch === undefined || !listed(c.etagDoesNotMatch, object.etag, true);
  // A date condition gives way when the etag condition beside it was given and held.
  const modifiedSince =
    c.uploadedAfter === undefined ||
    seconds(c.uploadedAfter) < uploaded ||
    (c.etagDoesNotMatch !== undefined && ifNoneMatch);
  const unmodifiedSince =
    c.uploadedBefore === undefined ||
    uploaded < seconds(c.uploadedBefore) ||
    (c.etagMatches !== undefined && ifMatch);
  return ifMatch && ifNoneMatch && modifiedSince && unmodifiedSince;
}

function wholeNumber(v: number, message: string): void {
  if (!Number.isInteger(v)) throw new R2InputError(message, 'RangeError');
}

/** The range object's own checks, as Workers makes them before calling R2. */
export function checkRange(r: { offset?: number; length?: number; suffix?: number }): void {
  if (r.offset !== undefined) {
    if (!(r.offset >= 0))
      throw new R2InputError(
        `Invalid range. Starting offset (${r.offset}) must be greater than or equal to 0.`,
        'RangeError',
      );
    wholeNumber(
      r.offset,
      `Invalid range. Starting offset (${r.offset}) must be an integer, not floating point.`,
    );
  }
  if (r.length !== undefined) {
    if (!(r.length >= 0))
      throw new R2InputError(
        `Invalid range. Length (${r.length}) must be greater than or equal to 0.`,
        'RangeError',
      );
    wholeNumber(r.length, `Invalid range. Length (${r.length}) must be an integer, not floating point.`);
  }
  if (r.suffix !== undefined) {
    if (r.offset !== undefined) throw new R2InputError('Suffix is incompatible with offset.');
    if (r.length !== undefined) throw new R2InputError('Suffix is incompatible with length.');
    if (!(r.suffix >= 0))
      throw new R2InputError(
        `Invalid suffix. Suffix (${r.suffix}) must be greater than or equal to 0.`,
        'RangeError',
      );
    wholeNumber(r.suffix, `Invalid range. Suffix (${r.suffix}) must be an integer, not floating point.`);
  }
}

/**
 * One `bytes=` range of a Range header against `size`: [start, end] inclusive, or undefined
 * when the header is not one satisfiable range (R2 then answers the whole object).
 */
function headerRange(header: string, size: number): [number, number] | undefined {
  // Bounded and parsed without adjacent optional spaces: a header of spaces must not backtrack.
  if (header.length > 256) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.replace(/\s+/g, ''));
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return undefined;
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return [start, end];
}

/**
 * The bytes a get() returns: { offset, length } within an object of `size`, or undefined for
 * the whole object. A range R2 cannot satisfy is its InvalidRange (416) error.
 */
export function resolveRange(
  range: R2RangeRequest | undefined,
  size: number,
): { offset: number; length: number } | undefined {
  if (range === undefined) return undefined;
  if ('header' in range) {
    const r = headerRange(range.header, size);
    return r && { offset: r[0], length: r[1] - r[0] + 1 };
  }
  checkRange(range);
  let { offset, length } = range;
  if (range.suffix !== undefined) {
    if (range.suffix <= 0) throw r2Errors.invalidRange();
    length = Math.min(range.suffix, size);
    offset = size - length;
  }
  offset ??= 0;
  length ??= size - offset;
  if (offset > size || length <= 0) throw r2Errors.invalidRange();
  return { offset, length: Math.min(length, size - offset) };
}
