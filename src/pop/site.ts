/**
 * A site: the zone a PoP serves (outpost.toml's `origin` and `[cache]`, the workers' `routes`).
 * As on Cloudflare, a request whose URL matches a worker's route runs that worker; every other
 * request goes through the tiered cache to the site's origin under the site's cache policies
 * (https://developers.cloudflare.com/workers/configuration/routing/routes/). A worker's own
 * fetch() to the site's hosts reaches the origin too, cached by the same policies, and never
 * runs a worker again (SiteLink).
 *
 * Hosts: the zone is its name and every subdomain of it. `outpost dev` stands in for the zone:
 * a request to the dev server's own address (127.0.0.1:8787, localhost) is matched as if it
 * were for the zone's name, so `http://127.0.0.1:8787/api/x` runs the route `example.com/api/*`.
 * Other hosts are matched as they are (send `Host: api.example.com` to reach a route there).
 */
import type { Dispatcher } from 'undici';
import type { CachePolicy } from '../cache/index.ts';
import { type CachePolicyConfig, type ExperimentConfig, policiesForPath } from '../config/index.ts';
import { varyOnVariant } from '../frontend/variants/index.ts';
import { undici } from '../http/undici.ts';
import type { RouteMatcher, RouteUrl } from '../network/index.ts';
import type { RecordedOrigin, SiteLink, SiteTarget } from '../runtime/index.ts';

export interface SiteOptions {
  /** The origin behind the zone (none: unmatched requests get a 404 saying so). */
  origin: string | undefined;
  policies: readonly CachePolicyConfig[];
  /** The zone's name (default: the routes' zone_name, else their first exact host). */
  zone?: string;
  /** The workers' routes; none: the worker serves every path (the site only shapes its fetch()). */
  routes: RouteMatcher | null;
  /** A/B tests decided at the PoP (src/frontend/variants/): the site's responses vary by bucket. */
  experiments?: readonly ExperimentConfig[];
}

/** Where a request to the site goes. */
export type SiteAnswer = { worker: string } | { origin: true };

export class Site implements SiteLink {
  readonly origin: URL | null;
  #zone: string | undefined;
  readonly #configuredZone: string | undefined;
  #routes: RouteMatcher | null = null;
  #catchAll = false;
  readonly #policies: readonly CachePolicyConfig[];
  readonly experiments: readonly ExperimentConfig[];
  /** Wraps the origin the site's cache fills from (variants vary the responses). */
  readonly wrap: ((origin: RecordedOrigin) => RecordedOrigin) | undefined;
  readonly #self = new Set<string>();
  readonly #memo = new Map<string, CachePolicy | undefined>();
  /** The site's origin is the operator's: its connections are not a tenant's egress. */
  #made: Dispatcher | null = null;
  #closed = false;
  /** Made on first use (undici.ts); after close, one already closed (fills fail, as before). */
  get #dispatcher(): Dispatcher {
    if (this.#made === null) {
      this.#made = new (undici().Agent)({ keepAliveTimeout: 10_000 });
      if (this.#closed) void this.#made.close();
    }
    return this.#made;
  }

  constructor(options: SiteOptions) {
    this.origin = options.origin ? new URL(options.origin) : null;
    this.#policies = options.policies;
    this.experiments = options.experiments ?? [];
    this.wrap = this.experiments.length ? varyOnVariant : undefined;
    this.#configuredZone = options.zone?.toLowerCase();
    this.setRoutes(options.routes);
  }

  /** The zone's name: configured, else from the routes. */
  get zone(): string | undefined {
    return this.#zone;
  }

  get routes(): RouteMatcher | null {
    return this.#routes;
  }

  /**
   * New routes (a rebuild changed them); the zone's name follows them unless configured.
   * `catchAll`: what no route matches runs the default worker instead of going to the origin.
   */
  setRoutes(routes: RouteMatcher | null, catchAll = false): void {
    this.#routes = routes;
    this.#catchAll = catchAll;
    this.#zone = this.#configuredZone ?? zoneOfRoutes(routes);
  }

  /**
   * The dev server's own addresses, once it listens: its port (and h2c port) on its host and on
   * the loopback names. Requests to them are requests to the zone; a worker's fetch() to another
   * port of this machine is not the zone's (it goes where it says, egress permitting).
   */
  addSelf(host: string, ports: readonly number[]): void {
    const names = new Set([host.includes(':') ? `[${host}]` : host, '127.0.0.1', 'localhost', '[::1]']);
    for (const n of names) for (const p of ports) this.#self.add(`${n.toLowerCase()}:${p}`);
  }

  /** A request's host (with its port) is one of the dev server's own addresses. */
  isSelf(host: string): boolean {
    return this.#self.has(host.toLowerCase());
  }

  /** The URL as the zone sees it: the dev server's address replaced by the zone's name. */
  publicUrl(url: URL): URL {
    if (!this.#zone || !this.isSelf(url.host)) return url;
    return new URL(this.publicHref(url));
  }

  /** What route matching reads of the public URL, without parsing one. */
  #view(url: URL): RouteUrl {
    if (!this.#zone || !this.isSelf(url.host)) return url;
    return {
      protocol: url.protocol,
      hostname: this.#zone,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
      href: this.publicHref(url) + url.hash,
    };
  }

  /** publicUrl's href, without making a URL (the cache key of a request to the site). */
  publicHref(url: URL): string {
    if (!this.#zone || !this.isSelf(url.host)) return url.href;
    return `${url.protocol}//${this.#zone}${url.pathname}${url.search}`;
  }

  /** A worker's route, or the origin. Without routes every request runs `fallback`. */
  answer(url: URL, fallback: string): SiteAnswer {
    if (!this.#routes) return { worker: fallback };
    const m = this.#routes.match(this.#view(url));
    return m ? { worker: m.worker } : this.#catchAll ? { worker: fallback } : { origin: true };
  }

  /** The site's cache policy for a path: content classes first, then the path's policy. */
  policyFor(pathname: string): CachePolicy | undefined {
    if (this.#policies.length === 0) return undefined;
    if (this.#memo.has(pathname)) return this.#memo.get(pathname);
    const { byType, fallback } = policiesForPath(this.#policies, pathname);
    const base = fallback ? cachePolicyOf(fallback) : undefined;
    const policy: CachePolicy | undefined = byType.length
      ? {
          ...(base ?? { defaultCacheLevel: true }),
          byContentType: byType.map((p) => ({ types: p.contentTypes, policy: cachePolicyOf(p) })),
        }
      : base;
    if (this.#memo.size >= 10_000) this.#memo.clear();
    this.#memo.set(pathname, policy);
    return policy;
  }

  /** The origin URL of a request to the site. */
  originUrl(url: URL): string {
    const o = this.origin as URL;
    const base = o.pathname.endsWith('/') ? o.pathname.slice(0, -1) : o.pathname;
    return `${o.protocol}//${o.host}${base}${url.pathname}${url.search}`;
  }

  /** SiteLink: a worker's fetch() to the zone's hosts or the dev server goes to the origin. */
  resolve(raw: string): SiteTarget | null {
    if (!this.origin) return null;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    const host = url.hostname;
    const inZone =
      this.isSelf(url.host) ||
      (this.#zone !== undefined && (host === this.#zone || host.endsWith(`.${this.#zone}`)));
    if (!inZone) return null;
    return {
      target: this.originUrl(url),
      cacheUrl: this.publicHref(url),
      policy: this.policyFor(url.pathname),
      dispatcher: this.#dispatcher,
      ...(this.wrap ? { wrap: this.wrap } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#made?.close();
  }
}

/** The HttpCache policy of a config policy (edge_ttl 0: not cached at the edge). */
export function cachePolicyOf(p: CachePolicyConfig): CachePolicy {
  return {
    edgeTtl: p.edgeTtl === 0 ? -1 : p.edgeTtl,
    browserTtl: p.browserTtl,
    staleWhileRevalidate: p.staleWhileRevalidate,
    staleIfError: p.staleIfError,
    tags: p.tags,
    bypassCookies: p.bypassCookies,
    jitter: p.jitter,
  };
}

function zoneOfRoutes(routes: RouteMatcher | null): string | undefined {
  if (!routes) return undefined;
  for (const r of routes.routes) if (r.zoneName) return r.zoneName;
  for (const r of routes.routes)
    if (r.host.kind === 'exact' || r.host.kind === 'subdomains') return r.host.name;
  return undefined;
}
