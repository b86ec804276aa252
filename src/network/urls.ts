/**
 * URLs built from what a client sent. Two rules keep a client (or a worker) from choosing the
 * host a PoP talks to:
 *
 * - An origin-form request-target (`/path?q`) is a path on the request's Host, even when it
 *   begins with `//` (RFC 9112 §3.2.1). Resolved as a URL reference it would be scheme-relative
 *   (RFC 3986 §4.2): `GET //10.0.0.5:6379/x` would name that host, and so would `/.//10.0.0.5/x`
 *   and `/\10.0.0.5/x`, which URL parsing turns into `//10.0.0.5/x`.
 * - The origin's URL is the configured origin with the request's path and query set on it, never
 *   the request's path resolved against the origin. Otherwise such a path made CDN proxy mode and
 *   passThroughOnException() an open proxy (loopback included).
 */

/** A Host (or :authority) that can only be a host and port: no path, query, userinfo or space. */
const HOST = /^[^\s/?#\\@]+$/;

/**
 * The absolute URL of a request from its request-target and Host (RFC 9112 §3.2, §3.3): an
 * origin-form target is a path on Host; an absolute-form target names its own host (§3.2.2).
 * Throws a TypeError for a Host that is not a host, or a target that makes no URL.
 */
export function requestUrl(target: string, host: string): URL {
  if (!HOST.test(host)) throw new TypeError(`invalid Host "${host.slice(0, 100)}"`);
  return target.startsWith('/') ? new URL(`http://${host}${target}`) : new URL(target, `http://${host}`);
}

/**
 * Where a request goes at the origin: `origin` with the request's path and query. Nothing of the
 * request changes the scheme, host or port (the pathname setter parses its input as a path
 * only, WHATWG URL "path start state", so a leading `//` stays in the path).
 */
export function originUrl(origin: string | URL, request: string | URL): URL {
  const target = new URL(origin);
  const from = typeof request === 'string' ? new URL(request) : request;
  target.pathname = from.pathname;
  target.search = from.search;
  target.hash = '';
  return target;
}
