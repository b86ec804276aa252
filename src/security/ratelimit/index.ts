/**
 * Rate limiting: the counting algorithms (sliding, fixed, per-PoP), sharding for hot keys, the
 * RateLimit header fields and the `[[security.rate_limit]]` policy config, and counters shared
 * by the processes of a network over NATS JetStream (nats-store.ts). Nothing here reaches the
 * runtime or the PoP, which use it (docs/rate-limiting.md).
 */
export type { CounterState } from './algorithms.ts';
export { rateLimitHeaders, sfString } from './headers.ts';
export { RateLimiter, type RateLimiterOptions } from './limiter.ts';
export { decodeState, encodeState, MAX_SHARED_SLIDING, NatsCounterStore } from './nats-store.ts';
export { parseRateLimitPolicy, type RateLimitKey, type RateLimitPolicy } from './policy.ts';
export {
  type CounterStore,
  MemoryCounterStore,
  type MemoryCounterStoreOptions,
  type SharedCounterStore,
} from './store.ts';
export {
  MAX_LIMIT,
  MAX_PERIOD_SEC,
  MAX_SHARDS,
  RATE_LIMIT_MODES,
  type RateLimitDecision,
  type RateLimitMode,
  type RateLimitRule,
  ruleProblem,
} from './types.ts';
