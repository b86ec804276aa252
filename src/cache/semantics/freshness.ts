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
  return currentAgeOf(
    responseDate(headers, responseTime),
    ageHeader(headers),
    requestTime,
    responseTime,
    now,
  );
}

/** The response's Date (§5.6.7) in ms, or when it was received when it has no valid one. */
export function responseDate(headers: Flat, responseTime: number): number {
  return httpDate(first(headers, 'date')) ?? responseTime;
}

/**
 * currentAge from what a stored response says once: its Date (`responseDate`) and its Age
 * field (`ageHeader`), so a cache hit parses neither again.
 */
export function currentAgeOf(
  date: number,
  age: number,
  requestTime: number,
  responseTime: number,
  now: number,
): number {
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
  /**
   * May be served stale when the origin cannot be reached at all (§4.2.4: a disconnected cache
   * may; Cloudflare answers STALE when it "could not contact the origin").
   */
  staleIfDisconnected: boolean;
}

/**
 * Directives that forbid serving the response stale (§4.2.4): must-revalidate (§5.2.2.2),
 * no-cache (§5.2.2.4), and for a shared cache proxy-revalidate (§5.2.2.8) and s-maxage, which
 * incorporates proxy-revalidate's semantics (§5.2.2.10).
 */
export function neverStale(d: Directives): boolean {
  return d.mustRevalidate || d.proxyRevalidate || d.noCache || d.sMaxage !== undefined;
}

/**
 * Directives that forbid even the stale serving an origin grants explicitly with
 * stale-while-revalidate or stale-if-error (RFC 5861): the same list without s-maxage.
 * `s-maxage=60, stale-while-revalidate=30` is how origins ask a CDN for exactly that (a
 * shared-cache lifetime with a stale window); the stale window is the origin's own, later,
 * more specific word, so s-maxage's implied proxy-revalidate does not cancel it.
 */
function noStaleExtensions(d: Directives): boolean {
  return d.mustRevalidate || d.proxyRevalidate || d.noCache;
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
  const extensions = !noStaleExtensions(response) && staleness >= 0;
  const swr = response.staleWhileRevalidate ?? 0;
  const sie = Math.max(response.staleIfError ?? 0, request.staleIfError ?? 0);
  // A client that asked for a fresh or validated answer (no-cache, max-age, min-fresh) is not
  // given a stale one just because the origin is unreachable; max-stale bounds what it accepts.
  const clientAllows =
    !request.noCache &&
    request.maxAge === undefined &&
    request.minFresh === undefined &&
    (request.maxStale === undefined || staleness <= request.maxStale);
  return {
    fresh: fresh && !response.noCache,
    staleness,
    withinStaleWhileRevalidate: extensions && staleness < swr,
    withinStaleIfError: extensions && staleness < sie,
    // An explicit stale-if-error window (the origin's or a policy's) bounds it too: being
    // unreachable is an error, and the window says how stale is still acceptable then.
    staleIfDisconnected:
      !neverStale(response) &&
      staleness >= 0 &&
      clientAllows &&
      (response.staleIfError === undefined && request.staleIfError === undefined ? true : staleness < sie),
  };
}

/** May a stale response be served to this request without validation (§4.2.4, max-stale)? */
export function requestAcceptsStale(staleness: number, response: Directives, request: Directives): boolean {
  if (neverStale(response)) return false;
  if (request.maxStaleAny) return true;
  return request.maxStale !== undefined && staleness <= request.maxStale;
}
