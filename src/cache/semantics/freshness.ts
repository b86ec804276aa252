/**
 * Freshness and age (RFC 9111 §4.2) for a shared cache.
 */
import type { Directives } from './cache-control.ts';
import { all, type Flat, first, httpDate } from './headers.ts';

/** Statuses a cache may store with a heuristic lifetime (RFC 9110 §15.1 "heuristically cacheable"). */
export const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Share of the time since Last-Modified used as a heuristic lifetime (§4.2.2 suggests 10%). */
export const HEURISTIC_FRACTION = 0.1;
/** Cap on a heuristic lifetime, seconds (a day), so an old Last-Modified cannot mean months. */
export const HEURISTIC_MAX = 86_400;

/**
 * Freshness lifetime in seconds (§4.2.1), in order: s-maxage, max-age, Expires − Date, then a
 * heuristic (§4.2.2) when allowed. `directives` are the ones this cache obeys (edgeDirectives).
 */
export function freshnessLifetime(
  status: number,
  headers: Flat,
  directives: Directives,
  responseTime: number,
): { seconds: number; heuristic: boolean } {
  if (directives.sMaxage !== undefined) return { seconds: directives.sMaxage, heuristic: false };
  if (directives.maxAge !== undefined) return { seconds: directives.maxAge, heuristic: false };
  const expiresLines = all(headers, 'expires');
  if (expiresLines.length > 0) {
    // An Expires that is not one valid HTTP-date ("0", a sloppy date, several field lines)
    // means already expired (§5.3).
    const expires = expiresLines.length === 1 ? httpDate(expiresLines[0], responseTime) : undefined;
    if (expires === undefined) return { seconds: 0, heuristic: false };
    const date = httpDate(first(headers, 'date'), responseTime) ?? responseTime;
    return { seconds: Math.max(0, Math.floor((expires - date) / 1000)), heuristic: false };
  }
  if (!HEURISTIC_STATUSES.has(status) && !directives.public) return { seconds: 0, heuristic: false };
  const lastModified = httpDate(first(headers, 'last-modified'));
  if (lastModified === undefined) return { seconds: 0, heuristic: true };
  const date = httpDate(first(headers, 'date')) ?? responseTime;
  const since = Math.max(0, (date - lastModified) / 1000);
  return { seconds: Math.min(HEURISTIC_MAX, Math.floor(since * HEURISTIC_FRACTION)), heuristic: true };
}

/**
 * Current age in seconds (§4.2.3). `requestTime` and `responseTime` are when this cache sent
 * the request and received the response; `now` is the time of the lookup (all ms).
 */
export function currentAge(headers: Flat, requestTime: number, responseTime: number, now: number): number {
  const date = httpDate(first(headers, 'date')) ?? responseTime;
  const age = ageHeader(headers);
  const apparentAge = Math.max(0, responseTime - date) / 1000;
  const responseDelay = (responseTime - requestTime) / 1000;
  const correctedAgeValue = age + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = (now - responseTime) / 1000;
  return correctedInitialAge + residentTime;
}

/**
 * The Age field (§5.1) as delta-seconds. A list (one line `7200, 0`, or several field lines)
 * counts by its first member, the rest discarded; a first member that is not delta-seconds (a
 * sign, a fraction, letters, a parameter) makes the field invalid, and an invalid Age is ignored.
 */
export function ageHeader(headers: Flat): number {
  const lines = all(headers, 'age');
  if (lines.length === 0) return 0;
  const firstMember = lines.join(',').split(',')[0].trim();
  if (!/^\d+$/.test(firstMember)) return 0;
  return Math.min(Number(firstMember), 2147483648);
}

export interface Usability {
  fresh: boolean;
  /** Seconds past the freshness lifetime (negative while fresh). */
  staleness: number;
  /** May be served stale while revalidating in the background (RFC 5861 §3). */
  withinStaleWhileRevalidate: boolean;
  /** May be served stale when the origin errors (RFC 5861 §4), given the request too. */
  withinStaleIfError: boolean;
}

/**
 * Whether a stored response can answer a request without contacting the origin (§4.2, §4),
 * given the request's own Cache-Control (§5.2.1: max-age, min-fresh, max-stale).
 */
export function usability(
  lifetime: number,
  age: number,
  response: Directives,
  request: Directives,
): Usability {
  let limit = lifetime;
  if (request.maxAge !== undefined) limit = Math.min(limit, request.maxAge);
  const needFresh = request.minFresh ?? 0;
  const staleness = age - limit;
  const fresh = age + needFresh < limit;
  // must-revalidate / proxy-revalidate (for a shared cache) forbid serving stale (§5.2.2.2, §5.2.2.8).
  const noStale = response.mustRevalidate || response.proxyRevalidate || response.noCache;
  const swr = response.staleWhileRevalidate ?? 0;
  const sie = Math.max(response.staleIfError ?? 0, request.staleIfError ?? 0);
  return {
    fresh: fresh && !response.noCache,
    staleness,
    withinStaleWhileRevalidate: !noStale && staleness >= 0 && staleness < swr,
    withinStaleIfError:
      !response.mustRevalidate && !response.proxyRevalidate && staleness >= 0 && staleness < sie,
  };
}

/** May a stale response be served to this request without validation (§4.2.4, max-stale)? */
export function requestAcceptsStale(staleness: number, response: Directives, request: Directives): boolean {
  if (response.mustRevalidate || response.proxyRevalidate || response.noCache) return false;
  if (request.maxStaleAny) return true;
  return request.maxStale !== undefined && staleness <= request.maxStale;
}
