/**
 * Secondary cache keys (RFC 9111 §4.1): a stored response is used only when the request's
 * values of the headers its Vary names match those of the request that stored it.
 */
import { all, type Flat, list } from './headers.ts';

/** The normalized values of `name` in a request: combined field lines, whitespace collapsed. */
function normalized(headers: Flat, name: string): string {
  return all(headers, name)
    .join(',')
    .split(',')
    .map((v) => v.trim().replace(/\s+/g, ' '))
    .join(',');
}

/**
 * What the stored response's Vary selects from the request that produced it: header name →
 * normalized value (absent headers stored as null). `*` makes the response unusable (§4.1).
 */
export function varyKey(responseHeaders: Flat, requestHeaders: Flat): Record<string, string | null> | '*' {
  const names = list(responseHeaders, 'vary').map((n) => n.toLowerCase());
  if (names.includes('*')) return '*';
  const key: Record<string, string | null> = {};
  for (const n of names) key[n] = all(requestHeaders, n).length ? normalized(requestHeaders, n) : null;
  return key;
}

/** Does a new request match the stored response's secondary key? */
export function varyMatches(key: Record<string, string | null> | '*', requestHeaders: Flat): boolean {
  if (key === '*') return false;
  for (const [name, value] of Object.entries(key)) {
    const now = all(requestHeaders, name).length ? normalized(requestHeaders, name) : null;
    if (now !== value) return false;
  }
  return true;
}
