/**
 * Invalidation after unsafe methods (RFC 9111 §4.4): a non-error response to an unsafe request
 * invalidates the target URI, and the URIs in Location and Content-Location when they share
 * its origin (to stop a third party from invalidating someone else's cache).
 */
import { type Flat, first } from './headers.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** URLs whose stored responses must be invalidated after this exchange (empty when none). */
export function invalidatedUrls(
  method: string,
  url: string,
  status: number,
  responseHeaders: Flat,
): string[] {
  if (SAFE.has(method.toUpperCase())) return [];
  // "non-error status code": 2xx and 3xx (§4.4).
  if (status < 200 || status >= 400) return [];
  const target = new URL(url);
  const out = [target.href];
  for (const name of ['location', 'content-location']) {
    const v = first(responseHeaders, name);
    if (!v) continue;
    try {
      const u = new URL(v, target);
      if (u.origin === target.origin && !out.includes(u.href)) out.push(u.href);
    } catch {
      // an invalid URI invalidates nothing
    }
  }
  return out;
}
