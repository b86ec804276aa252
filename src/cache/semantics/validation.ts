/**
 * Validation (RFC 9111 §4.3): the conditional request a cache sends to revalidate a stored
 * response, and how a 304 updates what is stored.
 */
import { all, type Flat, first } from './headers.ts';

/**
 * Headers to add to the forwarded request (§4.3.1): If-None-Match with the stored ETag, and
 * If-Modified-Since with the stored Last-Modified. The client's own conditionals are not
 * forwarded (they are evaluated against the stored response afterwards).
 */
export function conditionalHeaders(stored: Flat): string[] {
  const out: string[] = [];
  const etags = all(stored, 'etag');
  if (etags.length) out.push('if-none-match', etags.join(', '));
  const lm = first(stored, 'last-modified');
  if (lm !== undefined) out.push('if-modified-since', lm);
  return out;
}

/** Headers a 304 must not replace in the stored response (§3.2: e.g. Content-Length). */
const KEEP = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range']);

/**
 * Freshen a stored response with a 304's headers (§4.3.4): every header in the 304 replaces the
 * stored one of that name, except those describing the stored body.
 */
export function freshen(stored: Flat, notModified: Flat): string[] {
  const replaced = new Set<string>();
  for (let i = 0; i < notModified.length; i += 2) if (!KEEP.has(notModified[i])) replaced.add(notModified[i]);
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) if (!replaced.has(stored[i])) out.push(stored[i], stored[i + 1]);
  for (let i = 0; i < notModified.length; i += 2)
    if (replaced.has(notModified[i])) out.push(notModified[i], notModified[i + 1]);
  return out;
}

/**
 * Does a 304 apply to this stored response (§4.3.4)? A strong validator in the 304 must match
 * the stored one; with none, a stored Last-Modified must equal the 304's.
 */
export function notModifiedMatches(stored: Flat, notModified: Flat): boolean {
  const etag = first(notModified, 'etag');
  if (etag !== undefined)
    return all(stored, 'etag').some((e) => e === etag || e.replace(/^W\//, '') === etag.replace(/^W\//, ''));
  const lm = first(notModified, 'last-modified');
  if (lm !== undefined) return first(stored, 'last-modified') === lm;
  return true;
}

/**
 * Evaluate a client's conditional request against a stored response (RFC 9110 §13.1-13.2):
 * true when the cache should answer 304 Not Modified.
 */
export function clientNotModified(requestHeaders: Flat, stored: Flat): boolean {
  const inm = first(requestHeaders, 'if-none-match');
  const etag = first(stored, 'etag');
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    if (etag === undefined) return false;
    const bare = (t: string) => t.trim().replace(/^W\//, '');
    return inm.split(',').some((t) => bare(t) === bare(etag));
  }
  const ims = first(requestHeaders, 'if-modified-since');
  const lm = first(stored, 'last-modified');
  if (ims !== undefined && lm !== undefined) {
    const a = Date.parse(ims);
    const b = Date.parse(lm);
    return !Number.isNaN(a) && !Number.isNaN(b) && b <= a;
  }
  return false;
}
