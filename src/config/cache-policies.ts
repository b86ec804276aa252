/**
 * `[cache]` policies of a site (outpost.toml): the seed's CACHE_POLICIES as named content
 * classes, chosen by path, by the response's content type, or both.
 *
 *   [cache.classes.static-immutable]      # a named class: the settings of a policy
 *   edge_ttl = 31536000
 *   browser_ttl = 31536000
 *   stale_if_error = 86400
 *   tags = ["static"]
 *
 *   [[cache.policies]]
 *   path = "/assets/*"                    # default "/*"
 *   class = "static-immutable"            # the class's settings; keys here win over it
 *
 *   [[cache.policies]]
 *   content_type = ["image/*", "font/*"]  # matched on the response's Content-Type
 *   class = "static-versioned"
 *
 * Policies are tried in order; for a request, the first whose path matches and that names no
 * content type decides, and those with content types listed before it are tried first against
 * the response (the content class is only known once the origin has answered).
 */
import { pathPattern } from './security.ts';

export interface CacheSettings {
  edgeTtl: number | undefined;
  browserTtl: number | undefined;
  staleWhileRevalidate: number | undefined;
  staleIfError: number | undefined;
  tags: string[];
  bypassCookies: string[];
  jitter: number | undefined;
}

export interface CachePolicyConfig extends CacheSettings {
  /** The `path` pattern as written (default `/*`). */
  path: string;
  /** Compiled from `path`. */
  pattern: RegExp;
  /** `content_type`: media types (lower case, `image/*` allowed); empty: any response. */
  contentTypes: string[];
  /** `class`: the named class it starts from, if any. */
  className: string | undefined;
}

type Fail = (key: string, expected: string, got: unknown) => never;

const SETTINGS = [
  'edge_ttl',
  'browser_ttl',
  'stale_while_revalidate',
  'stale_if_error',
  'tags',
  'bypass_cookies',
  'jitter',
];

/** `[cache.classes]`: named settings (the seed's CACHE_POLICIES keys). */
export function parseClasses(v: unknown, fail: Fail): Map<string, CacheSettings> {
  const out = new Map<string, CacheSettings>();
  if (v === undefined) return out;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return fail('cache.classes', 'a table of named classes ([cache.classes.NAME])', v);
  for (const [name, t] of Object.entries(v)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
      fail(`cache.classes.${name}`, 'a class name of letters, digits, - and _', name);
    if (typeof t !== 'object' || t === null || Array.isArray(t)) fail(`cache.classes.${name}`, 'a table', t);
    const table = t as Record<string, unknown>;
    known(table, SETTINGS, `cache.classes.${name}.`, fail);
    out.set(name, settings(table, `cache.classes.${name}`, fail));
  }
  return out;
}

export function parsePolicy(
  p: unknown,
  at: string,
  classes: Map<string, CacheSettings>,
  fail: Fail,
): CachePolicyConfig {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return fail(at, 'a table', p);
  const t = p as Record<string, unknown>;
  known(t, ['path', 'content_type', 'class', ...SETTINGS], `${at}.`, fail);
  const path = t.path ?? '/*';
  if (typeof path !== 'string' || !path.startsWith('/'))
    fail(`${at}.path`, 'a path pattern starting with "/" (`*` matches anything)', t.path);
  let base: CacheSettings | undefined;
  if (t.class !== undefined) {
    base = typeof t.class === 'string' ? classes.get(t.class) : undefined;
    if (!base)
      fail(
        `${at}.class`,
        classes.size
          ? `one of the classes in [cache.classes] (${[...classes.keys()].join(', ')})`
          : 'a class defined in [cache.classes] (there are none)',
        t.class,
      );
  }
  const own = settings(t, at, fail);
  const merged: CacheSettings = { ...own };
  if (base)
    for (const [k, v] of Object.entries(base) as [keyof CacheSettings, never][]) {
      const mine = own[k];
      if (mine === undefined || (Array.isArray(mine) && mine.length === 0 && t[snake(k)] === undefined))
        merged[k] = v;
    }
  return {
    ...merged,
    path: path as string,
    pattern: pathPattern(path as string),
    contentTypes: contentTypes(t.content_type, `${at}.content_type`, fail),
    className: base ? (t.class as string) : undefined,
  };
}

/** The policies that may apply to a path, in order: content-typed ones, then the one that decides. */
export function policiesForPath(
  policies: readonly CachePolicyConfig[],
  pathname: string,
): { byType: CachePolicyConfig[]; fallback: CachePolicyConfig | undefined } {
  const byType: CachePolicyConfig[] = [];
  for (const p of policies) {
    if (!p.pattern.test(pathname)) continue;
    if (p.contentTypes.length === 0) return { byType, fallback: p };
    byType.push(p);
  }
  return { byType, fallback: undefined };
}

function settings(t: Record<string, unknown>, at: string, fail: Fail): CacheSettings {
  const jitter = t.jitter;
  if (jitter !== undefined && (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 0.5)))
    fail(`${at}.jitter`, 'a fraction between 0 and 0.5', jitter);
  return {
    edgeTtl: seconds(t.edge_ttl, `${at}.edge_ttl`, fail),
    browserTtl: seconds(t.browser_ttl, `${at}.browser_ttl`, fail),
    staleWhileRevalidate: seconds(t.stale_while_revalidate, `${at}.stale_while_revalidate`, fail),
    staleIfError: seconds(t.stale_if_error, `${at}.stale_if_error`, fail),
    tags: strings(t.tags, `${at}.tags`, fail),
    bypassCookies: strings(t.bypass_cookies, `${at}.bypass_cookies`, fail),
    jitter: jitter as number | undefined,
  };
}

const MEDIA_TYPE = /^(?:\*\/\*|[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+))$/;

function contentTypes(v: unknown, key: string, fail: Fail): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((s) => typeof s !== 'string' || !MEDIA_TYPE.test(s.toLowerCase()))
  )
    return fail(key, 'a media type or an array of them ("text/html", "image/*")', v);
  return (list as string[]).map((s) => s.toLowerCase());
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function known(t: Record<string, unknown>, keys: string[], prefix: string, fail: Fail): void {
  for (const k of Object.keys(t))
    if (!keys.includes(k)) fail(`${prefix}${k}`, `one of the known keys (${keys.join(', ')})`, k);
}

function seconds(v: unknown, key: string, fail: Fail): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    return fail(key, 'a whole number of seconds ≥ 0', v);
  return v;
}

function strings(v: unknown, key: string, fail: Fail): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '' || /[\0,\s]/.test(s)))
    return fail(key, 'an array of non-empty strings without commas or spaces', v);
  return v as string[];
}
