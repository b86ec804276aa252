/**
 * wrangler's `routes` (a list) and `route` (one): which URLs run the worker. The shapes are
 * wrangler's (workers-sdk packages/workers-utils/src/config/validation.ts, isValidRouteValue):
 *
 *   routes = [
 *     "example.com/*",                                         # zone inferred from the host
 *     { pattern = "shop.example.com/*", zone_name = "example.com" },
 *     { pattern = "api.example.com/*", zone_id = "<id>" },
 *     { pattern = "app.example.com", custom_domain = true },   # + enabled, previews_enabled
 *   ]
 *
 * An object needs zone_id, zone_name or custom_domain, never both zone keys, and no other keys;
 * `enabled`/`previews_enabled` only with custom_domain. `route = ""` is ignored (wrangler warns).
 *
 * Patterns are checked by the "Validity" rules of
 * https://developers.cloudflare.com/workers/configuration/routing/routes/#validity, so a config
 * Cloudflare would refuse fails here too: `[http:// | https://] host [/path]`, `*` only at the
 * start of the host (`*example.com`, `*.example.com`) or the end of the path, no query string,
 * and the host must name a zone (a domain of two labels or more, not an IP address). `*` alone
 * as the host (`*` then `/*`, as Cloudflare for SaaS uses) is valid only with zone_name or zone_id, since
 * wrangler infers the zone from the host otherwise. Custom domains are bare hostnames
 * (wrangler's deploy check, validate-routes.ts: no `*`, no `/`).
 *
 * Decisions where the docs are silent:
 * - A port is refused: the pattern grammar has none and routes match a hostname on any port
 *   (the matcher ignores the request's port, so `example.com/*` works on localhost:8787 too).
 * - A pattern whose host lies outside its zone_name is only a warning, not an error: Cloudflare
 *   for SaaS documents such routes (`vanity.customer.com` in zone `saasprovider.com`,
 *   https://developers.cloudflare.com/cloudflare-for-platforms/cloudflare-for-saas/start/advanced-settings/worker-as-origin/),
 *   and Outpost cannot know a zone's custom hostnames. The warning catches typos.
 * - zone_id names a zone in a Cloudflare account; Outpost has no accounts, so it is kept (for
 *   messages) but scopes nothing, and no zone check is possible with it.
 * - previews_enabled: there are no preview URLs locally; kept, no effect. `enabled = false` on a
 *   custom domain means it serves no traffic (the matcher skips it).
 *
 * The pattern grammar lives here so the matcher (src/network/routes.ts) compiles exactly what
 * the config accepted.
 */
import { ConfigError } from './errors.ts';

export interface RouteConfig {
  /** As written. */
  pattern: string;
  /** Lower-case ASCII (punycode) form; undefined when not given. */
  zoneName: string | undefined;
  zoneId: string | undefined;
  customDomain: boolean;
  /** false only for a custom domain written with `enabled = false`. */
  enabled: boolean;
  previewsEnabled: boolean | undefined;
}

/** The host part of a pattern. `name` is lower-cased and in ASCII (punycode) form. */
export type HostPattern =
  | { kind: 'exact'; name: string } // example.com
  | { kind: 'suffix'; name: string } // *example.com: the name and anything ending with it
  | { kind: 'subdomains'; name: string } // *.example.com: hosts ending with ".example.com"
  | { kind: 'any' }; // *: every host (valid only within a zone)

export interface RoutePattern {
  /** undefined: both http and https. */
  scheme: 'http:' | 'https:' | undefined;
  host: HostPattern;
  /** The path as a URL parser normalizes it (percent-encoded), without a trailing `*`. */
  path: string;
  /** The pattern ended with `*`: every path that starts with `path` (query included). */
  pathPrefix: boolean;
}

const KEYS = new Set(['pattern', 'zone_id', 'zone_name', 'custom_domain', 'enabled', 'previews_enabled']);
const OBJECT_SHAPE =
  'a string pattern, or an object { pattern, zone_name | zone_id } or { pattern, custom_domain = true }';

/**
 * Reads `routes` (a list) or `route` (one route; the key's last segment says which), e.g.
 * `parseRoutes(raw.routes, file)`, `parseRoutes(raw.route, file, 'route')`,
 * `parseRoutes(env.routes, file, 'env.staging.routes')`. undefined is no routes.
 * `warn` hears about patterns outside their zone_name (valid on Cloudflare for SaaS only).
 */
export function parseRoutes(
  raw: unknown,
  file: string,
  key = 'routes',
  warn: (message: string) => void = () => {},
): RouteConfig[] {
  if (raw === undefined) return [];
  if (/(^|\.)route$/.test(key)) {
    if (raw === '') return []; // wrangler: "The "route" field ... is an empty string and will be ignored"
    if (Array.isArray(raw))
      throw new ConfigError(file, key, `one route (use "routes" for a list): ${OBJECT_SHAPE}`, raw);
    return [parseRoute(raw, file, key, warn)];
  }
  if (!Array.isArray(raw)) throw new ConfigError(file, key, `a list of routes, each ${OBJECT_SHAPE}`, raw);
  return raw.map((item, i) => parseRoute(item, file, `${key}[${i}]`, warn));
}

function parseRoute(raw: unknown, file: string, at: string, warn: (message: string) => void): RouteConfig {
  if (typeof raw === 'string') {
    checkPattern(raw, false, false, file, at);
    return {
      pattern: raw,
      zoneName: undefined,
      zoneId: undefined,
      customDomain: false,
      enabled: true,
      previewsEnabled: undefined,
    };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(file, at, OBJECT_SHAPE, raw);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.has(k))
      throw new ConfigError(file, `${at}.${k}`, `absent: a route has only ${[...KEYS].join(', ')}`, o[k]);
  if (typeof o.pattern !== 'string')
    throw new ConfigError(file, `${at}.pattern`, 'a string such as "example.com/*"', o.pattern);
  for (const k of ['zone_id', 'zone_name'])
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === ''))
      throw new ConfigError(file, `${at}.${k}`, 'a non-empty string', o[k]);
  for (const k of ['custom_domain', 'enabled', 'previews_enabled'])
    if (o[k] !== undefined && typeof o[k] !== 'boolean')
      throw new ConfigError(file, `${at}.${k}`, 'true or false', o[k]);
  const zoneId = o.zone_id as string | undefined;
  const zoneName = o.zone_name === undefined ? undefined : hostname(o.zone_name as string);
  const customDomain = o.custom_domain as boolean | undefined;
  if (zoneId !== undefined && o.zone_name !== undefined)
    throw new ConfigError(
      file,
      `${at}.zone_id`,
      'absent when zone_name is given (zone_id and zone_name exclude each other)',
      zoneId,
    );
  if (zoneId === undefined && o.zone_name === undefined && customDomain === undefined)
    throw new ConfigError(
      file,
      at,
      `${OBJECT_SHAPE} (an object needs zone_name, zone_id or custom_domain)`,
      raw,
    );
  for (const k of ['enabled', 'previews_enabled'])
    if (o[k] !== undefined && customDomain === undefined)
      throw new ConfigError(
        file,
        `${at}.${k}`,
        'absent: it is only for custom domains (custom_domain = true)',
        o[k],
      );
  if (o.zone_name !== undefined && zoneName === undefined)
    throw new ConfigError(file, `${at}.zone_name`, 'a domain name such as "example.com"', o.zone_name);
  const pattern = checkPattern(
    o.pattern,
    customDomain === true,
    zoneId !== undefined || zoneName !== undefined,
    file,
    `${at}.pattern`,
  );
  if (zoneName !== undefined && pattern.host.kind !== 'any' && !hostInZone(pattern.host.name, zoneName))
    warn(
      `${file}: "${at}.pattern" ${JSON.stringify(o.pattern)} is outside its zone_name "${zoneName}"; ` +
        'Cloudflare accepts that only for Cloudflare for SaaS custom hostnames',
    );
  return {
    pattern: o.pattern,
    zoneName,
    zoneId,
    customDomain: customDomain === true,
    enabled: customDomain !== true || o.enabled !== false,
    previewsEnabled: o.previews_enabled as boolean | undefined,
  };
}

function checkPattern(
  pattern: string,
  customDomain: boolean,
  inZone: boolean,
  file: string,
  at: string,
): RoutePattern {
  const parsed = parseRoutePattern(pattern, customDomain);
  if (typeof parsed === 'string') throw new ConfigError(file, at, parsed, pattern);
  if (parsed.host.kind === 'any' && !inZone)
    throw new ConfigError(
      file,
      at,
      'a pattern with a hostname: "*" as the whole host needs zone_name or zone_id',
      pattern,
    );
  return parsed;
}

/** `host` is the zone or one of its subdomains (both lower-case ASCII). */
export function hostInZone(host: string, zone: string): boolean {
  return host === zone || (host.endsWith(zone) && host.charCodeAt(host.length - zone.length - 1) === 46); // "."
}

/**
 * A route pattern (or, with `customDomain`, a custom domain) parsed by Cloudflare's validity
 * rules; a string says what it must be instead (phrased to follow "must be").
 */
export function parseRoutePattern(pattern: string, customDomain = false): RoutePattern | string {
  if (pattern === '') return 'a non-empty pattern such as "example.com/*"';
  if (/[\s\x00-\x1f\x7f]/.test(pattern)) return 'a pattern without spaces or control characters';
  if (customDomain) {
    // wrangler's texts (deploy-helpers/src/deploy/helpers/validate-routes.ts).
    if (pattern.includes('*')) return 'a hostname: wildcard operators (*) are not allowed in Custom Domains';
    if (pattern.includes('/')) return 'a hostname: paths are not allowed in Custom Domains';
  }
  let rest = pattern;
  let scheme: RoutePattern['scheme'];
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(pattern);
  if (m) {
    const s = m[1].toLowerCase();
    if (s !== 'http' && s !== 'https') return 'a pattern starting with http://, https:// or the hostname';
    scheme = `${s}:`;
    rest = pattern.slice(m[0].length);
  }
  if (rest.includes('?') || rest.includes('#'))
    return 'a pattern without a query string: route patterns may not contain query parameters (end the path with "*" to match URLs with one)';
  const slash = rest.indexOf('/');
  const hostText = slash < 0 ? rest : rest.slice(0, slash);
  const pathText = slash < 0 ? '/' : rest.slice(slash);
  if (hostText.includes(':') || hostText.includes('['))
    return 'a pattern without a port: routes match a hostname on any port';
  let host: HostPattern;
  if (hostText === '*') host = { kind: 'any' };
  else {
    const kind = hostText.startsWith('*.') ? 'subdomains' : hostText.startsWith('*') ? 'suffix' : 'exact';
    const text = hostText.slice(kind === 'subdomains' ? 2 : kind === 'suffix' ? 1 : 0);
    if (text.includes('*')) return INFIX;
    const name = hostname(text);
    if (name === undefined)
      return 'a pattern that includes your zone: a domain name such as "example.com" (not an IP address or a single label)';
    host = { kind, name };
  }
  const pathPrefix = pathText.endsWith('*');
  const literal = pathPrefix ? pathText.slice(0, -1) : pathText;
  if (literal.includes('*')) return INFIX;
  if (customDomain) return { scheme, host, path: '/', pathPrefix: true };
  return { scheme, host, path: new URL(`http://h${literal}`).pathname, pathPrefix };
}

const INFIX =
  'a pattern with "*" only at the start of the hostname or the end of the path (no infix wildcards such as "example.com/*.jpg")';

/**
 * The ASCII, lower-case form of a domain name as a URL parser makes it, or undefined for what
 * cannot be a zone's host: not a name, an IP address, one label, or an empty label.
 */
function hostname(text: string): string | undefined {
  if (text === '' || /[/@\\%*]/.test(text)) return undefined;
  let name: string;
  try {
    name = new URL(`http://${text}/`).hostname;
  } catch {
    return undefined;
  }
  const labels = name.split('.');
  if (labels.length < 2 || labels.some((l) => l === '')) return undefined;
  if (/^\d+$/.test(labels[labels.length - 1])) return undefined; // IPv4 (the parser made it dotted decimal)
  return name;
}
