/**
 * Tiered caching between node processes: a PoP node's cache misses fill from a shield node of
 * its region (`outpost shield`, shield-server.ts), whose misses go to the origin, so one region
 * asks the origin once for a URL however many PoP nodes miss it.
 *
 * The PoP node asks over HTTP: the request's own headers (hop-by-hop fields dropped) plus
 *   Outpost-Tier-Url      the absolute URL to fill (what the PoP's egress policy already allowed)
 *   Outpost-Tier-Policy   the cache policy, base64url JSON (edge TTL, tags, namespace, ...)
 *   Outpost-Tier-Pop      the asking PoP
 *   Outpost-Tier-Secret   the network's shared secret (a shield is no open proxy)
 * and the shield answers with the origin's response from its cache plus
 *   Outpost-Tier-Status     the shield cache's status (HIT, MISS, STALE, ...)
 *   Outpost-Tier-Origin-Ms  the shield's time to the origin's headers, when it went there
 *   Outpost-Tier-Error      set (with a 4xx/502) when the shield itself refused or failed.
 * The PoP renders these as the in-process tiers do (tiers.ts): `Outpost-Shield: eu-west HIT`,
 * Server-Timing `shield` and `origin`, a span per tier carrying the trace on.
 *
 * No live shield for the region, or one that cannot be reached: the PoP fills from the origin
 * itself (its answer is then what it would be without tiering) and says so once in its log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { CachePolicy, CacheRequest, Origin } from '../cache/index.ts';
import { withoutHopByHop } from '../http/hop-by-hop.ts';
import { undici } from '../http/undici.ts';
import { type HopRecorder, SpanKind } from '../observability/index.ts';
import type { EgressPolicy, RecordedOrigin, Tier, TierFill } from '../runtime/index.ts';
import type { Member } from './membership.ts';
import type { Pop } from './topology/types.ts';

export const TIER_URL = 'outpost-tier-url';
export const TIER_POLICY = 'outpost-tier-policy';
export const TIER_POP = 'outpost-tier-pop';
export const TIER_SECRET = 'outpost-tier-secret';
export const TIER_STATUS = 'outpost-tier-status';
export const TIER_ORIGIN_MS = 'outpost-tier-origin-ms';
export const TIER_ERROR = 'outpost-tier-error';

/** Whether a field is one of the tier protocol's own (never stored, never sent to an origin). */
export function isTierField(name: string): boolean {
  return name.startsWith('outpost-tier-');
}

/** Constant-time comparison of a presented secret with the network's. */
export function secretMatches(presented: string | undefined, secret: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** Failures that mean the shield was never reached (or went away before answering anything). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The shortest network secret accepted (it is all that stands between a shield and an open proxy). */
export const MIN_SECRET_LENGTH = 16;

export interface ShieldTierOptions {
  pop: Pop;
  secret: string;
  /**
   * The PoP's egress policy for workers' fetch(): a fill through the shield is checked against
   * it first, as a fill from the PoP itself would be at connect time (the shield then applies its
   * own). Unset: no check here.
   */
  egress?: () => EgressPolicy | null;
  /** The network's live members (membership.ts); shields are those with role 'shield'. */
  members: () => Member[];
  /** A shield that failed is skipped this long, ms (the membership's leave interval). */
  suspectMs: number;
  /** How long a shield may take to start answering, ms, its own trip to the origin included (default 120 s). */
  timeoutMs?: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

/** A node's Tier: fill through a shield node of the PoP's region, or straight from the origin. */
export function shieldTier(o: ShieldTierOptions): Tier {
  const suspect = new Map<string, number>();
  let warned = '';
  const warnOnce = (key: string, message: string) => {
    if (warned === key) return;
    warned = key;
    o.log('warn', message);
  };
  const pick = (): Member | null => {
    const now = performance.now();
    const live = o
      .members()
      .filter((m) => m.role === 'shield' && m.pop === o.pop.shield && (suspect.get(m.id) ?? 0) < now);
    return live.length ? live[Math.floor(Math.random() * live.length)] : null;
  };
  return (base: RecordedOrigin, policy: CachePolicy, hops: HopRecorder | null, fill?: TierFill): Origin =>
    async (r: CacheRequest) => {
      // The site's origin is filled by the PoP (TierFill.site); otherwise only what a cache fills
      // with goes through a shield: GET and HEAD without a body.
      if (fill?.site) return base(r, hops, true);
      const shield = r.method === 'GET' || r.method === 'HEAD' ? pick() : null;
      if (!shield) {
        if (r.method === 'GET' || r.method === 'HEAD')
          warnOnce(
            'none',
            `no live shield node for region ${o.pop.shield}: filling from the origin directly`,
          );
        return base(r, hops, true);
      }
      // What the PoP may not reach, it may not have the shield reach either.
      const egress = o.egress?.();
      if (egress) {
        const u = new URL(r.url);
        const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
        await egress.resolve(u.hostname.replace(/^\[(.*)\]$/, '$1'), port);
      }
      const at = hops?.begin('outpost.cache', SpanKind.CLIENT, {
        'outpost.cache.tier': 'shield',
        'outpost.shield': o.pop.shield,
        'server.address': shield.url,
      });
      const started = performance.now();
      let res: Dispatcher.ResponseData;
      try {
        res = await undici().request(new URL('/', shield.url), {
          method: r.method as 'GET',
          headers: tierHeaders(r, policy, o, at?.traceparent ?? undefined, at?.tracestate ?? undefined),
          headersTimeout: o.timeoutMs ?? 120_000,
        });
      } catch (err) {
        at?.end(null, undefined, (err as Error).message);
        // The shield could not be reached: skip it for a while and fill from the origin meanwhile.
        // Anything later (no headers in time: the shield may be waiting on a slow origin) is the
        // fill failing, not the shield: the origin is not asked a second time.
        if (!UNREACHABLE.has((err as { code?: string }).code ?? '')) throw err;
        suspect.set(shield.id, performance.now() + o.suspectMs);
        warnOnce(
          shield.id,
          `shield ${shield.id} (${shield.url}) failed: ${(err as Error).message}; filling from the origin`,
        );
        return base(r, hops, true);
      }
      const flat: string[] = [];
      let status = '';
      let originMs = Number.NaN;
      let tierError = '';
      for (const [k, v] of Object.entries(res.headers))
        for (const one of Array.isArray(v) ? v : [v ?? '']) {
          if (k === TIER_STATUS) status = one;
          else if (k === TIER_ORIGIN_MS) originMs = Number(one);
          else if (k === TIER_ERROR) tierError = one;
          else if (!isTierField(k)) flat.push(k, one);
        }
      if (!status) {
        // Not a cache answer from the shield (an origin cannot forge one: the shield drops tier
        // fields from what origins send).
        const body = (await res.body.text().catch(() => '')).slice(0, 300);
        at?.end(null, undefined, `${tierError || `HTTP ${res.statusCode}`}: ${body}`);
        if (!tierError) {
          // Something before the shield's code answered (its HTTP parser: 431, 400): the PoP
          // fills this one itself.
          warnOnce(
            `raw ${shield.id}`,
            `shield ${shield.id} answered ${res.statusCode} outside the tier protocol; filling from the origin`,
          );
          return base(r, hops, true);
        }
        if (res.statusCode === 401) {
          // A misconfigured shield (another secret) must not take the region down with it.
          suspect.set(shield.id, performance.now() + o.suspectMs);
          warnOnce(
            `auth ${shield.id}`,
            `shield ${shield.id} refused this node's network secret; filling from the origin`,
          );
          return base(r, hops, true);
        }
        // The origin could not be reached from the shield (or its egress policy refused it): an
        // origin failure, as the PoP's cache knows how to answer one (stale-if-error, 502).
        throw new Error(`shield ${o.pop.shield}: ${body || tierError}`);
      }
      const ms = performance.now() - started;
      hops?.shield(`${o.pop.shield} ${status}`);
      at?.end(
        { name: 'shield', ms, desc: `${o.pop.id} to ${o.pop.shield} ${status}` },
        { 'outpost.cache.status': status, 'http.response.status_code': res.statusCode },
      );
      if (Number.isFinite(originMs))
        hops?.hop({ name: 'origin', ms: originMs, desc: `${o.pop.shield} to origin` }, false);
      return {
        status: res.statusCode,
        statusText: '',
        headers: withoutHopByHop(flat),
        body: res.body as AsyncIterable<Uint8Array>,
      };
    };
}

/** The request to a shield: the fill's own fields (hop-by-hop and tier fields dropped), then the tier's. */
function tierHeaders(
  r: CacheRequest,
  policy: CachePolicy,
  o: ShieldTierOptions,
  traceparent: string | undefined,
  tracestate: string | undefined,
): string[] {
  const headers: string[] = [];
  const sendable = withoutHopByHop(r.headers);
  for (let i = 0; i < sendable.length; i += 2) {
    const name = sendable[i].toLowerCase();
    if (name === 'host' || isTierField(name)) continue;
    if (traceparent && (name === 'traceparent' || name === 'tracestate')) continue;
    headers.push(name, sendable[i + 1]);
  }
  if (traceparent) {
    headers.push('traceparent', traceparent);
    if (tracestate) headers.push('tracestate', tracestate);
  }
  headers.push(
    TIER_URL,
    r.url,
    TIER_POLICY,
    Buffer.from(JSON.stringify(policy)).toString('base64url'),
    TIER_POP,
    o.pop.id,
    TIER_SECRET,
    o.secret,
  );
  return headers;
}
