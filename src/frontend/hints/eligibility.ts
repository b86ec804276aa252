/**
 * Which requests get a 103 and which final responses' Link fields are remembered for the next
 * one, as Cloudflare's Early Hints does it
 * (https://developers.cloudflare.com/cache/advanced-configuration/early-hints/):
 *
 *   - hints are generated and cached only for URIs with a `.html`, `.htm` or `.php` extension or
 *     none at all, only from 200, 301 and 302 responses, and only from Link values whose
 *     relation type is `preload` or `preconnect` (the Pages page says the same:
 *     https://developers.cloudflare.com/pages/configuration/early-hints/);
 *   - entries are keyed by request URI, query string ignored (cache.ts, `hintsKey`);
 *   - Early Hints are sent over HTTP/2 and HTTP/3 only. Browsers agree: Chrome and Safari act on
 *     a 103 only over HTTP/2 or later, only for a top-level navigation, only the first one, and
 *     only for preload and preconnect (Chromium's docs/early-hints.md; RFC 8297 §2 leaves what a
 *     client does with a 103 to the client).
 *
 * Only GET requests: the doc does not name methods, but a 103 is a hint for a navigation, and a
 * navigation that renders a page is a GET (HEAD renders nothing, other methods are not
 * cacheable page loads). The request's method is part of the key anyway.
 *
 * A rel list counts when it holds `preload` or `preconnect` (RFC 8288 §3.3 makes `rel` a
 * space-separated list); what is kept is one link per kept relation type with `rel` reduced to
 * it, since browsers act on nothing else in a 103 and `rel="preload prefetch"` (a quoted value
 * with a space) cannot pass Node's `writeEarlyHints`. A link with an `anchor` is about another
 * resource (RFC 8288 §3.2) and is dropped, as is one whose parameters `formatLink` cannot write.
 * `modulepreload` is dropped: Cloudflare keeps only preload and preconnect, and the HTML
 * standard's handling of a 103 reads only those two (see vite.ts).
 *
 * Not done: Cloudflare also turns Early Hints off for some crawler User-Agents it does not list;
 * `navigationsOnly` is an Outpost option (off by default) that skips requests whose
 * Sec-Fetch-Mode says they are not navigations, which browsers would ignore a 103 for.
 */
import { formatLink, type Link, parseLinkFields, relTypes } from './link.ts';

/** Final statuses whose Link fields are remembered. */
export const EARLY_HINT_STATUSES: ReadonlySet<number> = new Set([200, 301, 302]);

/** Relation types kept for a 103. */
export const EARLY_HINT_RELS: ReadonlySet<string> = new Set(['preload', 'preconnect']);

/** Path extensions a request may end in to get hints; "" is no extension. */
export const EARLY_HINT_EXTENSIONS: ReadonlySet<string> = new Set(['', 'html', 'htm', 'php']);

/**
 * Response headers in any of the shapes at hand: the runtime's flat `[name, value, …]`, pairs,
 * a Fetch `Headers` (or anything with `get`), or a Node headers object.
 */
export type HeaderInput =
  | readonly string[]
  | ReadonlyArray<readonly [string, string]>
  | { get(name: string): string | null }
  | Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** Every value of the Link fields in `headers`, one string per field line. */
export function linkFieldValues(headers: HeaderInput): string[] {
  const out: string[] = [];
  if (Array.isArray(headers)) {
    if (headers.every((h) => typeof h === 'string')) {
      const flat = headers as readonly string[];
      for (let i = 0; i + 1 < flat.length; i += 2)
        if (flat[i].toLowerCase() === 'link') out.push(flat[i + 1]);
    } else {
      for (const pair of headers as ReadonlyArray<readonly [string, string]>)
        if (Array.isArray(pair) && String(pair[0]).toLowerCase() === 'link' && typeof pair[1] === 'string')
          out.push(pair[1]);
    }
    return out;
  }
  if (headers && typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(name: string): string | null }).get('link');
    if (typeof v === 'string') out.push(v);
    return out;
  }
  for (const [name, v] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'link' || v === undefined) continue;
    if (Array.isArray(v)) out.push(...v.filter((x): x is string => typeof x === 'string'));
    else out.push(String(v));
  }
  return out;
}

/** The parsed links worth a 103, each with `rel` reduced to one kept type, written back. */
export function earlyHintLinks(links: readonly Link[]): string[] {
  const out: string[] = [];
  for (const link of links) {
    if (link.params.some((p) => p.name === 'anchor')) continue;
    const rels = relTypes(link).filter((r) => EARLY_HINT_RELS.has(r));
    for (const rel of new Set(rels)) {
      const params = link.params.map((p) => (p.name === 'rel' ? { name: 'rel', value: rel } : p));
      const text = formatLink({ target: link.target, params });
      if (text !== null && !out.includes(text)) out.push(text);
    }
  }
  return out;
}

/**
 * The Link values of a final response to remember for the next request of its key:
 *   null   the status is not one hints are taken from (leave what is remembered alone);
 *   []     an eligible response without hints (forget what was remembered);
 *   […]    the hints, as Link field values.
 */
export function hintsFromResponse(status: number, headers: HeaderInput): string[] | null {
  if (!EARLY_HINT_STATUSES.has(status)) return null;
  return earlyHintLinks(parseLinkFields(linkFieldValues(headers)));
}

/** The extension of a URL path's last segment, lower-case; "" when it has none. */
export function pathExtension(pathname: string): string {
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot === -1 ? '' : last.slice(dot + 1).toLowerCase();
}

/** What `wantsEarlyHints` looks at in a request. */
export interface HintRequest {
  method: string;
  url: string | URL;
  /** 1 for HTTP/1.x, 2 for HTTP/2, 3 for HTTP/3 (Node's `req.httpVersionMajor`). */
  httpVersionMajor: number;
  /** The request's headers, only read with `navigationsOnly`. */
  headers?: HeaderInput;
}

export interface WantsHintsOptions {
  /** Send a 103 over HTTP/1.1 too (Cloudflare does not; browsers ignore it there). */
  allowHttp1?: boolean;
  /** Skip requests whose Sec-Fetch-Mode is present and not `navigate` (Outpost's own option). */
  navigationsOnly?: boolean;
}

function headerValue(headers: HeaderInput, name: string): string | undefined {
  if (Array.isArray(headers)) {
    if (headers.every((h) => typeof h === 'string')) {
      const flat = headers as readonly string[];
      for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i].toLowerCase() === name) return flat[i + 1];
      return undefined;
    }
    return (headers as ReadonlyArray<readonly [string, string]>).find(
      (p) => Array.isArray(p) && String(p[0]).toLowerCase() === name,
    )?.[1];
  }
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  for (const [n, v] of Object.entries(headers))
    if (n.toLowerCase() === name && v !== undefined) return Array.isArray(v) ? v[0] : String(v);
  return undefined;
}

/** Whether a request is one Early Hints are looked up (and remembered) for. */
export function wantsEarlyHints(req: HintRequest, options: WantsHintsOptions = {}): boolean {
  if (req.method !== 'GET') return false;
  if (!(req.httpVersionMajor >= 2 || (options.allowHttp1 && req.httpVersionMajor === 1))) return false;
  let pathname: string;
  try {
    pathname = (typeof req.url === 'string' ? new URL(req.url, 'http://x') : req.url).pathname;
  } catch {
    return false;
  }
  if (!EARLY_HINT_EXTENSIONS.has(pathExtension(pathname))) return false;
  if (options.navigationsOnly && req.headers) {
    const mode = headerValue(req.headers, 'sec-fetch-mode');
    if (mode !== undefined && mode.trim().toLowerCase() !== 'navigate') return false;
  }
  return true;
}
