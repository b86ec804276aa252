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

/** An origin-form target that URL parsing leaves as it is (no %, no `'` in the query, no `//` start). */
const PLAIN_TARGET = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?$/;
/** A lower-case host name (and a port without a leading zero) that URL parsing leaves as it is. */
const PLAIN_HOST = /^[a-z0-9-]+(\.[a-z0-9-]+)*(:[1-9][0-9]{0,4})?$/;
/** A last label that makes the host an IPv4 address to parse (WHATWG URL "ends in a number"). */
const NUMERIC_LABEL = /(^|\.)([0-9]+|0x[0-9a-f]*)(:[0-9]+)?$/;
/** An IPv4 address as URL parsing writes it. */
const DOTTED_QUAD =
  /^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(:[0-9]+)?$/;

/**
 * requestUrl(target, host).href, without parsing a URL when the result is known to be
 * `http://host/target` as sent (a plain path and query on a plain lower-case host or IPv4
 * address, no default port): the WHATWG parser cost ~0.4 µs of every request. Anything else
 * (dot segments, percent-escapes in the path, upper case, `xn--` labels, other IPv4 forms,
 * port 80 or past 65535) goes through requestUrl.
 */
export function requestHref(target: string, host: string): string {
  if (
    PLAIN_TARGET.test(target) &&
    !target.includes('/.') &&
    PLAIN_HOST.test(host) &&
    !host.includes('xn--') &&
    (!NUMERIC_LABEL.test(host) || DOTTED_QUAD.test(host))
  ) {
    const colon = host.indexOf(':');
    const port = colon === -1 ? 0 : Number(host.slice(colon + 1));
    if (port !== 80 && port <= 65535) return `http://${host}${target}`;
  }
  return requestUrl(target, host).href;
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
