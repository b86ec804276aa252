/**
 * The URLs whose WHATWG parse is their own text, parsed here without the host.
 *
 * Every other URL is parsed by the host's WHATWG parser through a synchronous syscall (url.ts).
 * That call costs little CPU but stops this isolate's thread until the host's main thread takes
 * it up, which under load is after whatever that thread is doing: a worker that did
 * `new URL(request.url)` served 2.3k requests/s to a Durable Object where one that did not
 * served 4.1k (bench/fixtures/durable, 32 connections).
 *
 * The fast path takes only URLs the spec's basic URL parser returns unchanged, component by
 * component: `http:` or `https:` in lower case, no credentials, a host of lower-case letters,
 * digits, `-` and `.` in non-empty labels (none starting `xn--`, the last not starting with a
 * digit) or a dotted-quad IPv4 address written canonically, a port written canonically and not
 * the scheme's default, and a path, query and fragment of printable ASCII with nothing the spec
 * would percent-encode there, no `\`, and no `.` or `..` segment (`%2e` included). Anything
 * else returns undefined and goes to the host. `fastParse` is checked against the host's parser
 * on generated URLs (url-fast.test.ts): where it answers, it must answer the same.
 */

/** The components in the order of the host's tuple (src/runtime/url-parts.ts). */
export type UrlParts = [
  href: string,
  origin: string,
  protocol: string,
  username: string,
  password: string,
  host: string,
  hostname: string,
  port: string,
  pathname: string,
  search: string,
  hash: string,
];

/** Longer URLs go to the host, which refuses those past its own limit (64 KiB). */
const MAX_FAST = 8192;

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * Characters that never leave the fast path's path, query or fragment unchanged, whatever the
 * part: controls, space, `"`, `<`, `>`, `` ` ``, `{`, `}`, `^`, `|`, `\`, and non-ASCII. (`'`
 * is refused in the query only, `#` and `?` end their parts.)
 */
function plain(c: number): boolean {
  return (
    c > 0x20 &&
    c < 0x7f &&
    c !== 0x22 && // "
    c !== 0x3c && // <
    c !== 0x3e && // >
    c !== 0x60 && // `
    c !== 0x7b && // {
    c !== 0x7d && // }
    c !== 0x5e && // ^
    c !== 0x7c && // |
    c !== 0x5c // \
  );
}

/** Whether the parser keeps host `h` as written. */
function simpleHost(h: string): boolean {
  if (h.length === 0) return false;
  const labels = h.split('.');
  const last = labels[labels.length - 1];
  if (last.length > 0 && last.charCodeAt(0) >= 0x30 && last.charCodeAt(0) <= 0x39) {
    // The IPv4 parser applies: only a canonical dotted quad comes out as written.
    if (labels.length !== 4) return false;
    for (let k = 0; k < 4; k++) {
      const l = labels[k];
      if (!/^(0|[1-9][0-9]{0,2})$/.test(l) || Number(l) > 255) return false;
    }
    return true;
  }
  // Index loops, not for-of: every request's URL comes through here, and an iterator is garbage.
  for (let k = 0; k < labels.length; k++) {
    const l = labels[k];
    if (l.length === 0 || l.startsWith('xn--')) return false;
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) return false;
    }
  }
  return true;
}

/** Path, query and fragment of `rest` (starting at `/`, `?`, `#` or empty), or null. */
function splitRest(rest: string): [path: string, query: string | null, fragment: string | null] | null {
  let hashAt = rest.indexOf('#');
  const fragment = hashAt === -1 ? null : rest.slice(hashAt + 1);
  if (hashAt === -1) hashAt = rest.length;
  let queryAt = rest.indexOf('?');
  if (queryAt > hashAt) queryAt = -1;
  const query = queryAt === -1 ? null : rest.slice(queryAt + 1, hashAt);
  const path = rest.slice(0, queryAt === -1 ? hashAt : queryAt);
  if (path.length > 0 && path.charCodeAt(0) !== 0x2f) return null;
  for (let i = 0; i < path.length; i++) if (!plain(path.charCodeAt(i))) return null;
  // Dot segments are removed by the parser, %2e counting as a dot: only a segment of at most
  // six characters starting with `.` or `%` can be one.
  for (let start = 0; start <= path.length; ) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    const c = path.charCodeAt(start);
    if (end - start <= 6 && (c === 0x2e || c === 0x25)) {
      const s = path.slice(start, end).toLowerCase().replaceAll('%2e', '.');
      if (s === '.' || s === '..') return null;
    }
    start = end + 1;
  }
  if (query !== null) {
    for (let i = 0; i < query.length; i++) {
      const c = query.charCodeAt(i);
      if (!plain(c) || c === 0x27) return null; // ' is encoded in special schemes' queries
    }
  }
  if (fragment !== null) {
    for (let i = 0; i < fragment.length; i++) if (!plain(fragment.charCodeAt(i))) return null;
  }
  return [path.length === 0 ? '/' : path, query, fragment];
}

function build(
  protocol: string,
  host: string,
  hostname: string,
  port: string,
  rest: string,
): UrlParts | undefined {
  const r = splitRest(rest);
  if (!r) return undefined;
  const path = r[0];
  const query = r[1];
  const fragment = r[2];
  const origin = `${protocol}//${host}`;
  const href = `${origin}${path}${query === null ? '' : `?${query}`}${fragment === null ? '' : `#${fragment}`}`;
  return [
    href,
    origin,
    protocol,
    '',
    '',
    host,
    hostname,
    port,
    path,
    query ? `?${query}` : '',
    fragment ? `#${fragment}` : '',
  ];
}

/** An absolute URL on the fast path, or undefined. */
function absolute(input: string): UrlParts | undefined {
  let protocol: string;
  if (input.startsWith('https://')) protocol = 'https:';
  else if (input.startsWith('http://')) protocol = 'http:';
  else return undefined;
  const start = protocol.length + 2;
  let end = start;
  while (end < input.length) {
    const c = input.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
    end++;
  }
  const authority = input.slice(start, end);
  const colon = authority.indexOf(':');
  const hostname = colon === -1 ? authority : authority.slice(0, colon);
  if (!simpleHost(hostname)) return undefined;
  let port = '';
  if (colon !== -1) {
    port = authority.slice(colon + 1);
    if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535 || port === DEFAULT_PORT[protocol])
      return undefined;
  }
  return build(protocol, authority, hostname, port, input.slice(end));
}

/**
 * The URL `input` (against `base`) when the fast path can parse it, else undefined (the caller
 * asks the host). Besides absolute URLs, a path-absolute reference (`/x?y`) against a base the
 * fast path takes.
 */
export function fastParse(input: string, base?: string): UrlParts | undefined {
  // The host refuses longer ones (MAX_URL in src/runtime/bridge/syscalls.ts).
  if (input.length > MAX_FAST || (base !== undefined && base.length > MAX_FAST)) return undefined;
  if (base === undefined) return absolute(input);
  const b = absolute(base);
  if (!b) return undefined;
  const first = input.charCodeAt(0);
  if (first === 0x68) return absolute(input); // "h": an absolute URL ignores a valid base
  if (first !== 0x2f || input.charCodeAt(1) === 0x2f) return undefined; // "/" but not "//"
  return build(b[2], b[5], b[6], b[7], input);
}
