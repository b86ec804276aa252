/**
 * Cache-Control (RFC 9111 §5.2), and the CDN-specific fields that take precedence at the edge:
 * CDN-Cache-Control (RFC 9213) and Surrogate-Control (Edge Architecture Specification 1.0).
 *
 * Parsing follows §4.2.1's advice for invalid input: a duplicated or malformed delta-seconds
 * directive is treated as stale (0), so a bad header never makes something cacheable for longer.
 */
import { parseDictionary } from 'structured-headers';
import { all, type Flat } from './headers.ts';

export interface Directives {
  /** Directive names present (lower case), with their argument (undefined when bare). */
  readonly raw: ReadonlyMap<string, string | undefined>;
  maxAge?: number;
  sMaxage?: number;
  maxStale?: number;
  /** `max-stale` with no value: any staleness is acceptable (§5.2.1.2). */
  maxStaleAny: boolean;
  minFresh?: number;
  staleWhileRevalidate?: number;
  staleIfError?: number;
  noStore: boolean;
  /** `no-cache` bare (revalidate always) — with field names, see noCacheFields (§5.2.2.4). */
  noCache: boolean;
  noCacheFields: string[];
  private: boolean;
  privateFields: string[];
  public: boolean;
  mustRevalidate: boolean;
  proxyRevalidate: boolean;
  mustUnderstand: boolean;
  noTransform: boolean;
  onlyIfCached: boolean;
  immutable: boolean;
}

/** delta-seconds (§1.2.2): digits only; values past 2^31 are taken as 2^31. */
function deltaSeconds(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^\d+$/.test(arg)) return undefined;
  const n = Number(arg);
  return n > 2147483648 ? 2147483648 : n;
}

/** Split on commas outside quoted strings. */
function split(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const DELTA = ['max-age', 's-maxage', 'min-fresh', 'stale-while-revalidate', 'stale-if-error'] as const;

export function parseCacheControl(values: readonly string[]): Directives {
  const raw = new Map<string, string | undefined>();
  const seen = new Map<string, number>();
  for (const part of split(values.join(','))) {
    // No whitespace around "=" (§5.2: directive = token [ "=" ( token / quoted-string ) ]);
    // a directive written otherwise is not understood and so ignored.
    const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?\s*$/.exec(part);
    if (!m) continue;
    const name = m[1].toLowerCase();
    const arg = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (!raw.has(name)) raw.set(name, arg);
  }
  const d: Directives = {
    raw,
    maxStaleAny: false,
    noStore: raw.has('no-store'),
    noCache: raw.has('no-cache') && !raw.get('no-cache'),
    noCacheFields: fields(raw.get('no-cache')),
    private: raw.has('private') && !raw.get('private'),
    privateFields: fields(raw.get('private')),
    public: raw.has('public'),
    mustRevalidate: raw.has('must-revalidate'),
    proxyRevalidate: raw.has('proxy-revalidate'),
    mustUnderstand: raw.has('must-understand'),
    noTransform: raw.has('no-transform'),
    onlyIfCached: raw.has('only-if-cached'),
    immutable: raw.has('immutable'),
  };
  for (const name of DELTA) {
    if (!raw.has(name)) continue;
    // A directive that appears twice, or whose value is not delta-seconds, is invalid:
    // §4.2.1 says to consider such a response stale.
    const v = (seen.get(name) ?? 0) > 1 ? 0 : (deltaSeconds(raw.get(name)) ?? 0);
    if (name === 'max-age') d.maxAge = v;
    else if (name === 's-maxage') d.sMaxage = v;
    else if (name === 'min-fresh') d.minFresh = v;
    else if (name === 'stale-while-revalidate') d.staleWhileRevalidate = v;
    else d.staleIfError = v;
  }
  if (raw.has('max-stale')) {
    const v = raw.get('max-stale');
    if (v === undefined) d.maxStaleAny = true;
    else d.maxStale = deltaSeconds(v) ?? 0;
  }
  return d;
}

function fields(arg: string | undefined): string[] {
  return arg
    ? arg
        .split(',')
        .map((f) => f.trim().toLowerCase())
        .filter(Boolean)
    : [];
}

/**
 * A targeted cache-control field (RFC 9213 §2.1) is a Structured Field Dictionary (RFC 8941
 * §3.2): a value that does not parse as one makes the whole field ignored, and a directive
 * whose value has the wrong type (max-age="60") is ignored. Returns the equivalent directives
 * in Cache-Control syntax, or undefined when the field is invalid.
 */
function targetedField(values: readonly string[]): string | undefined {
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(values.join(', '));
  } catch {
    return undefined;
  }
  const parts: string[] = [];
  for (const [name, member] of dict) {
    const value = member[0];
    if (value === true) parts.push(name);
    else if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0) parts.push(`${name}=${value}`);
    } else if (typeof value === 'string' && !(DELTA as readonly string[]).includes(name))
      parts.push(`${name}="${value.replace(/["\\]/g, '\\$&')}"`);
  }
  return parts.join(', ');
}

/**
 * The directives an edge cache obeys for a response, the first present of:
 * Cloudflare-CDN-Cache-Control and CDN-Cache-Control (RFC 9213 §2.1: a targeted field replaces
 * Cache-Control for the caches it targets; an invalid one is ignored), Surrogate-Control, then
 * Cache-Control. Cloudflare-CDN-Cache-Control and Surrogate-Control are removed before the
 * response leaves the edge; CDN-Cache-Control goes on to the next CDN (EDGE_ONLY_HEADERS).
 */
export function edgeDirectives(headers: Flat): { directives: Directives; from: string } {
  for (const name of ['cloudflare-cdn-cache-control', 'cdn-cache-control']) {
    const v = all(headers, name);
    if (v.length === 0) continue;
    const field = targetedField(v);
    if (field !== undefined) return { directives: parseCacheControl([field]), from: name };
  }
  const surrogate = all(headers, 'surrogate-control');
  if (surrogate.length > 0) {
    // Only a Surrogate-Control that says something about caching replaces Cache-Control: one
    // carrying only `content="ESI/1.0"` (Edge Architecture §2.2.4, processing, not freshness)
    // leaves freshness to Cache-Control, as §2.2.3 has it when max-age is absent.
    const d = parseCacheControl(surrogate);
    if ([...d.raw.keys()].some((k) => k !== 'content')) return { directives: d, from: 'surrogate-control' };
  }
  return { directives: parseCacheControl(all(headers, 'cache-control')), from: 'cache-control' };
}

/**
 * Headers meant for this edge only: stripped from responses sent downstream. CDN-Cache-Control
 * is not among them: it targets every CDN on the path (RFC 9213 §2), and Cloudflare passes it
 * on (https://developers.cloudflare.com/cache/concepts/cdn-cache-control/); only its own
 * Cloudflare-CDN-Cache-Control and Surrogate-Control are consumed.
 */
export const EDGE_ONLY_HEADERS = ['cloudflare-cdn-cache-control', 'surrogate-control'] as const;
