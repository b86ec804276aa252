/**
 * Range requests answered from a stored complete response (RFC 9110 §14; RFC 9111 §3.4 lets a
 * cache answer them from what it holds). Only single byte ranges are served as 206: a request
 * for several ranges gets the whole representation, which §14.2 allows ("a server MAY ignore
 * the Range header field").
 */

import type { Flat } from './headers.ts';
import { first, httpDate } from './headers.ts';

export type RangeAnswer =
  /** Serve the whole representation (no Range, an ignored Range, or If-Range did not match). */
  | { kind: 'full' }
  /** 206 with bytes [start, end] inclusive (§14.1.2). */
  | { kind: 'partial'; start: number; end: number }
  /** 416: no range in the set is satisfiable (§15.5.17). */
  | { kind: 'unsatisfiable' };

/**
 * What to answer to `Range` (and `If-Range`) for a stored 200 response of `length` bytes.
 * Only GET takes ranges (§14.2).
 */
export function rangeFor(method: string, requestHeaders: Flat, stored: Flat, length: number): RangeAnswer {
  const range = first(requestHeaders, 'range');
  if (range === undefined || method !== 'GET') return { kind: 'full' };
  const ifRange = first(requestHeaders, 'if-range');
  if (ifRange !== undefined && !ifRangeMatches(ifRange, stored)) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(range);
  if (!m) return { kind: 'full' }; // another range unit: ignored (§14.2)
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.length !== 1) return { kind: 'full' };
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'full' }; // invalid: ignored
  if (spec[1] === '') {
    // suffix-range (§14.1.1): the last N bytes.
    const n = Number(spec[2]);
    if (n === 0 || length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(spec[1]);
  if (spec[2] !== '' && Number(spec[2]) < start) return { kind: 'full' }; // invalid: ignored
  if (start >= length) return { kind: 'unsatisfiable' };
  const last = spec[2] === '' ? length - 1 : Number(spec[2]);
  return { kind: 'partial', start, end: Math.min(last, length - 1) };
}

/**
 * If-Range (§13.1.5): an entity-tag must match strongly; a date must equal Last-Modified exactly
 * (and a weak validator never matches).
 */
function ifRangeMatches(value: string, stored: Flat): boolean {
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) {
    const etag = first(stored, 'etag');
    return !v.startsWith('W/') && etag !== undefined && !etag.startsWith('W/') && etag === v;
  }
  const date = httpDate(v);
  const lm = httpDate(first(stored, 'last-modified'));
  return date !== undefined && lm !== undefined && date === lm;
}
