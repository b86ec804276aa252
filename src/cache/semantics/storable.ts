/**
 * Whether a response may be stored by a shared cache (RFC 9111 §3), and the request-side
 * rules that bypass the cache.
 */
import type { Directives } from './cache-control.ts';
import { HEURISTIC_STATUSES } from './freshness.ts';
import { type Flat, first } from './headers.ts';

/** Methods whose responses this cache stores (§3: "understood" and defined as cacheable). */
const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);
/** Statuses this cache understands for must-understand (§5.2.2.3). */
const UNDERSTOOD = new Set([200, 203, 204, 206, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

export interface StoreDecision {
  store: boolean;
  /** Why not (a stable code for logs and the status header), when store is false. */
  reason?:
    | 'method'
    | 'status'
    | 'no-store'
    | 'private'
    | 'authorization'
    | 'not-understood'
    | 'no-freshness'
    | 'partial'
    | 'vary-star'
    | 'set-cookie';
}

/**
 * §3.5: a shared cache may use a response to a request with Authorization for other requests
 * only when the response says so: must-revalidate, public or s-maxage.
 */
export function sharedDespiteAuthorization(d: Directives): boolean {
  return d.mustRevalidate || d.public || d.sMaxage !== undefined;
}

/**
 * A response that sets a cookie is not stored (Cloudflare, following the origin's cache
 * headers, answers it BYPASS: https://developers.cloudflare.com/cache/concepts/cache-behavior/),
 * since every later user would receive the cookie. RFC 9111 §3 would allow it; a Set-Cookie
 * that `private="set-cookie"` or `no-cache="set-cookie"` names is not kept with the stored
 * response (§5.2.2.7, §5.2.2.4), so such a response may be stored without it.
 */
export function setsUnkeptCookie(responseHeaders: Flat, d: Directives): boolean {
  return (
    first(responseHeaders, 'set-cookie') !== undefined &&
    !d.privateFields.includes('set-cookie') &&
    !d.noCacheFields.includes('set-cookie')
  );
}

/**
 * §3: a shared cache stores a response only if the method is cacheable, the status final and
 * understood (or must-understand is absent), no-store and private are absent, an Authorization
 * request was explicitly allowed (§3.5), and the response has explicit freshness, a validator
 * that makes it useful with revalidation, or a heuristically cacheable status. Outpost also
 * refuses a response that sets a cookie (setsUnkeptCookie).
 */
export function storable(
  method: string,
  requestHeaders: Flat,
  requestDirectives: Directives,
  status: number,
  responseHeaders: Flat,
  d: Directives,
): StoreDecision {
  if (!CACHEABLE_METHODS.has(method)) return { store: false, reason: 'method' };
  if (status < 200 || status > 599) return { store: false, reason: 'status' };
  // Partial content is assembled into full responses only by caches that support it (§3.3);
  // Outpost answers ranges from complete stored responses instead.
  if (status === 206) return { store: false, reason: 'partial' };
  if (d.mustUnderstand) {
    if (!UNDERSTOOD.has(status)) return { store: false, reason: 'not-understood' };
  } else if (d.noStore) return { store: false, reason: 'no-store' };
  if (requestDirectives.noStore) return { store: false, reason: 'no-store' };
  if (d.private) return { store: false, reason: 'private' };
  if (first(requestHeaders, 'authorization') !== undefined && !sharedDespiteAuthorization(d))
    return { store: false, reason: 'authorization' };
  if (setsUnkeptCookie(responseHeaders, d)) return { store: false, reason: 'set-cookie' };
  if ((first(responseHeaders, 'vary') ?? '').split(',').some((v) => v.trim() === '*'))
    return { store: false, reason: 'vary-star' };
  const explicit =
    d.public ||
    d.maxAge !== undefined ||
    d.sMaxage !== undefined ||
    first(responseHeaders, 'expires') !== undefined;
  const validator =
    first(responseHeaders, 'etag') !== undefined || first(responseHeaders, 'last-modified') !== undefined;
  if (!explicit && !HEURISTIC_STATUSES.has(status) && !(d.noCache && validator))
    return { store: false, reason: 'no-freshness' };
  return { store: true };
}
