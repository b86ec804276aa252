/**
 * The shapes every part of rate limiting shares: a rule (how many hits per how long, counted
 * how), and a decision (allowed or not, and what to tell the client). The PoP's platform
 * policies (`[[security.rate_limit]]`) and the Workers Rate Limiting binding (`[[ratelimits]]`)
 * both decide with one RateLimiter (./limiter.ts) over these.
 */

/**
 * - `sliding`: an exact sliding window: no span of `periodSec` holds more than `limit` allowed hits.
 * - `fixed`: windows aligned to multiples of `periodSec` since the epoch (as Cloudflare's binding).
 * - `local`: fixed windows counted by each PoP alone: across N PoPs up to N × limit pass.
 */
export type RateLimitMode = 'sliding' | 'fixed' | 'local';

export const RATE_LIMIT_MODES: readonly RateLimitMode[] = ['sliding', 'fixed', 'local'];

export interface RateLimitRule {
  mode: RateLimitMode;
  /** Hits allowed per period, 1 to MAX_LIMIT. */
  limit: number;
  /** Whole seconds, 1 to MAX_PERIOD_SEC. */
  periodSec: number;
  /**
   * Sub-counters a key is spread over (hot keys): 1 = none, up to MAX_SHARDS. Each allows
   * ceil(limit / shards); see ./limiter.ts for the bounds that holds.
   */
  shards: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The rule's limit. */
  limit: number;
  /** Hits still allowed now (after this one, if it was allowed). */
  remaining: number;
  /** Seconds until the window frees capacity (rounded up). */
  resetSec: number;
  /** Seconds to wait before a hit can be allowed (rounded up); 0 when allowed. */
  retryAfterSec: number;
}

export const MAX_LIMIT = 1_000_000;
export const MAX_PERIOD_SEC = 86_400;
export const MAX_SHARDS = 64;

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Why `rule` is not a rule (a sentence naming the field), or null when it is one. */
export function ruleProblem(rule: RateLimitRule): string | null {
  if (!rule || typeof rule !== 'object') return 'a rate limit rule must be an object';
  if (!RATE_LIMIT_MODES.includes(rule.mode))
    return `rule.mode must be one of ${RATE_LIMIT_MODES.join(', ')}, received ${String(rule.mode)}`;
  if (!isInt(rule.limit, 1, MAX_LIMIT))
    return `rule.limit must be an integer from 1 to ${MAX_LIMIT}, received ${String(rule.limit)}`;
  if (!isInt(rule.periodSec, 1, MAX_PERIOD_SEC))
    return `rule.periodSec must be an integer from 1 to ${MAX_PERIOD_SEC}, received ${String(rule.periodSec)}`;
  if (!isInt(rule.shards, 1, MAX_SHARDS))
    return `rule.shards must be an integer from 1 to ${MAX_SHARDS}, received ${String(rule.shards)}`;
  if (rule.shards > rule.limit)
    return `rule.shards (${rule.shards}) must not exceed rule.limit (${rule.limit}): each shard allows at least one hit`;
  return null;
}
