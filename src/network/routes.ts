/**
 * Which worker a URL runs: workers routes and custom domains matched as Cloudflare does
 * (https://developers.cloudflare.com/workers/configuration/routing/routes/#matching-behavior).
 * Patterns are parsed by the config's grammar (src/config/routes.ts), so only what a config may
 * hold compiles.
 *
 * - `*` matches zero or more of any character, at the start of the host (`*example.com`: the
 *   name and anything ending with it, `not-example.com` too; `*.example.com`: subhosts only;
 *   `*`: every host) or at the end of the path. The host is compared case-insensitively (routes
 *   made since 2023-10-15), the path case-sensitively, both in the percent-encoded form a URL
 *   parser gives (nothing is decoded). The request's port plays no part.
 * - Matching considers the whole URL with its query: a path without a trailing `*` matches only
 *   that path with no query string (`/images/cat.png?foo=bar` does not match `/images/cat.png`).
 * - A scheme in the pattern restricts it to http or https; without one it matches both.
 * - When several patterns match, the most specific wins. "Most specific" is Cloudflare's
 *   routing-table score, as workers-sdk's miniflare reproduces it (packages/miniflare/src/plugins/
 *   shared/routing.ts, "adapted from internal config service routing table implementation"):
 *   26 × (host labels, − 2 for a leading `*.` label) + (path segments, − 2 for a final `/*`).
 *   It reproduces every precedence example in the docs, the known issues among them
 *   (https://developers.cloudflare.com/workers/platform/known-issues/#route-specificity:
 *   `example.com/images*` beats `example.com/images/*`; `a.example.com/*` beats `*.example.com/a`).
 *   Equal scores are undocumented; Outpost prefers more literal characters, then fewer wildcards
 *   (`example.com/*` over `*example.com/*`), then a pattern with a scheme, then config order.
 * - A route may have no worker (`worker: null`): it wins like any route and runs nothing, which
 *   "negates any less specific patterns".
 * - Custom domains (https://developers.cloudflare.com/workers/configuration/routing/custom-domains/)
 *   match one hostname exactly, every path, query and scheme. They are the origin of their
 *   hostname: routes on the same hostname run in front of them ("Routes ... take precedence if
 *   configured on the same hostname"), so a custom domain answers only when no route with a worker
 *   matches. `customDomain(hostname)` names that origin, for a route worker's `fetch(request)`.
 *   `enabled: false` custom domains are left out.
 * - zone_name does not scope matching: routes of a zone also see Cloudflare for SaaS custom
 *   hostnames, which Outpost cannot list, so a pattern matches by itself alone.
 *
 * Compiled once: exact hostnames are a Map, wildcard hosts a short list, each in precedence
 * order; a request costs a Map lookup and a few string comparisons, no RegExp.
 */
import { type HostPattern, parseRoutePattern } from '../config/index.ts';

export interface RouteInput {
  pattern: string;
  /** null: a route without a worker (it bypasses Workers for what it matches). */
  worker: string | null;
  zoneName?: string;
  customDomain?: boolean;
  /** false: a custom domain that serves nothing (wrangler's `enabled = false`). */
  enabled?: boolean;
}

export interface CompiledRoute {
  pattern: string;
  worker: string | null;
  zoneName: string | undefined;
  customDomain: boolean;
  scheme: 'http:' | 'https:' | undefined;
  host: HostPattern;
  /** Percent-encoded; a prefix when `pathPrefix`. */
  path: string;
  pathPrefix: boolean;
  /** Cloudflare's score (higher wins). */
  specificity: number;
  /** Position in the list given to compileRoutes. */
  index: number;
}

export interface RouteMatch {
  worker: string;
  route: CompiledRoute;
}

/** What matching reads of a URL (a URL, or a view of one with another host). */
export type RouteUrl = Pick<URL, 'protocol' | 'hostname' | 'pathname' | 'search' | 'href' | 'hash'>;

export interface RouteMatcher {
  /** The worker for a URL: the most specific route, else the hostname's custom domain. */
  match(url: RouteUrl): RouteMatch | null;
  /** The custom domain of a hostname (lower-case ASCII, as `URL.hostname`), the origin behind its routes. */
  customDomain(hostname: string): CompiledRoute | null;
  /** Every route (not custom domains), most specific first. */
  readonly routes: readonly CompiledRoute[];
}

/** Throws an Error for a pattern the config would refuse, or one pattern (or custom domain) given to two workers. */
export function compileRoutes(list: readonly RouteInput[]): RouteMatcher {
  const routes: CompiledRoute[] = [];
  const domains = new Map<string, CompiledRoute>();
  const owners = new Map<string, string | null>();
  list.forEach((input, index) => {
    const customDomain = input.customDomain === true;
    const parsed = parseRoutePattern(input.pattern, customDomain);
    if (typeof parsed === 'string')
      throw new Error(`route "${input.pattern}" of worker ${input.worker ?? '(none)'} must be ${parsed}`);
    const hostText = hostPatternText(parsed.host);
    const route: CompiledRoute = {
      pattern: input.pattern,
      worker: input.worker,
      zoneName: input.zoneName,
      customDomain,
      ...parsed,
      specificity: specificity(hostText, parsed.path + (parsed.pathPrefix ? '*' : '')),
      index,
    };
    const key = customDomain
      ? `domain ${hostText}`
      : `${parsed.scheme ?? ''}//${hostText}${route.path}${parsed.pathPrefix ? '*' : ''}`;
    if (owners.has(key) && owners.get(key) !== input.worker)
      throw new Error(
        `${customDomain ? 'custom domain' : 'route pattern'} "${input.pattern}" is given to both ${owners.get(key) ?? '(no worker)'} and ${input.worker ?? '(no worker)'}`,
      );
    if (owners.has(key)) return;
    owners.set(key, input.worker);
    if (!customDomain) routes.push(route);
    else if (input.worker === null) throw new Error(`custom domain "${input.pattern}" needs a worker`);
    else if (input.enabled !== false) domains.set(hostText, route);
  });
  routes.sort(precedence);

  const exact = new Map<string, CompiledRoute[]>();
  const wildcard: CompiledRoute[] = [];
  for (const r of routes) {
    if (r.host.kind !== 'exact') wildcard.push(r);
    else {
      const same = exact.get(r.host.name);
      if (same) same.push(r);
      else exact.set(r.host.name, [r]);
    }
  }

  return {
    routes,
    customDomain: (hostname) => domains.get(hostname) ?? null,
    match(url) {
      const host = url.hostname;
      let best: CompiledRoute | undefined;
      const named = exact.get(host);
      if (named)
        for (const r of named)
          if (pathMatches(r, url)) {
            best = r;
            break;
          }
      for (const r of wildcard) {
        if (best !== undefined && precedence(r, best) > 0) break;
        if (hostMatches(r.host, host) && pathMatches(r, url)) {
          best = r;
          break;
        }
      }
      if (best !== undefined && best.worker !== null) return { worker: best.worker, route: best };
      const domain = domains.get(host);
      return domain ? { worker: domain.worker as string, route: domain } : null;
    },
  };
}

function hostMatches(p: HostPattern, host: string): boolean {
  switch (p.kind) {
    case 'exact':
      return host === p.name;
    case 'suffix':
      return host.endsWith(p.name);
    case 'subdomains':
      return (
        host.length > p.name.length &&
        host.endsWith(p.name) &&
        host.charCodeAt(host.length - p.name.length - 1) === 46
      ); // "."
    case 'any':
      return true;
  }
}

/** Scheme and path (query included: an exact path matches only a URL with no query). */
function pathMatches(r: CompiledRoute, url: RouteUrl): boolean {
  if (r.scheme !== undefined && r.scheme !== url.protocol) return false;
  if (r.pathPrefix) return url.pathname.startsWith(r.path);
  return url.pathname === r.path && !hasQuery(url);
}

/** `?` after the path, even an empty query (`/a?`), which `URL.search` reports as "". */
function hasQuery(url: RouteUrl): boolean {
  return url.search !== '' || url.href.charCodeAt(url.href.length - url.hash.length - 1) === 63; // "?"
}

function hostPatternText(p: HostPattern): string {
  return p.kind === 'any'
    ? '*'
    : p.kind === 'suffix'
      ? `*${p.name}`
      : p.kind === 'subdomains'
        ? `*.${p.name}`
        : p.name;
}

/** Cloudflare's routing-table score (see the top of this file). */
function specificity(host: string, path: string): number {
  const labels = host.split('.');
  const segments = path.split('/');
  const hostScore = labels.length - (labels[0] === '*' ? 2 : 0);
  const pathScore = segments.length - (segments[segments.length - 1] === '*' ? 2 : 0);
  return hostScore * 26 + pathScore;
}

/** Negative when `a` wins. */
function precedence(a: CompiledRoute, b: CompiledRoute): number {
  return (
    b.specificity - a.specificity ||
    literal(b) - literal(a) ||
    wildcards(a) - wildcards(b) ||
    (a.scheme ? 0 : 1) - (b.scheme ? 0 : 1) ||
    a.index - b.index
  );
}

function literal(r: CompiledRoute): number {
  return (r.host.kind === 'any' ? 0 : r.host.name.length) + r.path.length;
}

function wildcards(r: CompiledRoute): number {
  return (r.host.kind === 'exact' ? 0 : 1) + (r.pathPrefix ? 1 : 0);
}
