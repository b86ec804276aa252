/**
 * RateLimiter: one hit for one key under one rule, counted and decided. The PoP's platform
 * policies and the Workers Rate Limiting binding share it; what a key is (an IP, a header, a
 * worker's string) is theirs to choose, and `namespace` keeps their counters apart (a policy's
 * name, an account's binding namespace).
 *
 * Counters: a rule's key has one counter per (mode, period[, PoP][, shard]), in ./store.ts, run
 * by the steps of ./algorithms.ts. A hit is counted only when allowed, so a client hammering a
 * refused key does not push its own window further out.
 *
 * Sharding (`shards` > 1, for hot keys): a hit goes to one of `shards` sub-counters chosen at
 * random (a later distributed store spreads one key's load over that many owners; a random
 * choice needs no shared cursor, which would be a hot counter again), and each sub-counter
 * allows ceil(limit / shards) per period. What holds, for c = ceil(limit / shards):
 * - over the limit: at most shards × c hits are allowed per window (sliding: per any span of a
 *   period), and shards × c < limit + shards; exactly limit when shards divides limit;
 * - under the limit: a hit that lands on a full sub-counter is refused even when the others
 *   have room, so a key can be refused after fewer than `limit` hits (with random choice,
 *   typically somewhat before: the first sub-counter to fill refuses).
 * `remaining` is then an estimate: the chosen sub-counter's remaining × shards, capped at limit.
 *
 * Keys longer than 256 characters are counted under their SHA-256: a key's memory stays
 * bounded whatever a client sends.
 */
import { createHash } from 'node:crypto';
import { type CounterState, type StepResult, stepFixed, stepSliding } from './algorithms.ts';
import { type CounterStore, MemoryCounterStore, type SharedCounterStore } from './store.ts';
import { type RateLimitDecision, type RateLimitRule, ruleProblem } from './types.ts';

export interface RateLimiterOptions {
  /** The clock, ms since the epoch (tests pass their own). */
  now?: () => number;
  /** Counters kept at most; idle ones go first, then the least recently used (default 100,000). */
  maxKeys?: number;
  /** Approximate bytes of counter state kept at most (default 64 MiB). */
  maxBytes?: number;
  /** In [0, 1): picks a sub-counter of a sharded rule (tests pass their own). */
  random?: () => number;
  /** Where counters live (default: in this process, bounded by maxKeys and maxBytes). */
  store?: CounterStore;
  /**
   * Where exact (sliding and fixed) counters live when several processes must share them
   * (NATS JetStream, ./nats-store.ts); `check()` counts there, `hit()` never does. `local`
   * counters stay in `store`: they count per PoP.
   */
  shared?: SharedCounterStore;
}

const MAX_KEY_LENGTH = 256;
/** A hit is counted only when allowed: a refused one changes nothing a store must keep. */
const allowedHit = (r: StepResult) => r.allowed;

export class RateLimiter {
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #store: CounterStore;
  readonly #shared: SharedCounterStore | null;
  /** Rules already checked (rules are config: few objects, hit many times). */
  readonly #valid = new WeakSet<RateLimitRule>();

  constructor(options: RateLimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#store =
      options.store ?? new MemoryCounterStore({ maxKeys: options.maxKeys, maxBytes: options.maxBytes });
    this.#shared = options.shared ?? null;
  }

  /** Whether exact counters are shared with other processes (`check()` then awaits their store). */
  get shared(): boolean {
    return this.#shared !== null;
  }

  /**
   * Count one hit for `key` in `namespace` under `rule` (counted only when allowed) and decide.
   * `pop` is the PoP the hit came through: required by `local` rules, which count per PoP.
   */
  hit(namespace: string, key: string, rule: RateLimitRule, pop?: string): RateLimitDecision {
    const h = this.#plan(namespace, key, rule, pop);
    return h.decide(this.#store.update<StepResult>(namespace, h.id, h.now, h.step));
  }

  /**
   * As hit(), counting exact rules in the shared store when there is one (a round trip to it;
   * it rejects when the store cannot be reached or keeps losing races for the counter).
   */
  async check(namespace: string, key: string, rule: RateLimitRule, pop?: string): Promise<RateLimitDecision> {
    const h = this.#plan(namespace, key, rule, pop);
    const store = rule.mode !== 'local' ? this.#shared : null;
    return h.decide(
      store
        ? await store.update<StepResult>(namespace, h.id, h.now, h.step, allowedHit)
        : this.#store.update<StepResult>(namespace, h.id, h.now, h.step),
    );
  }

  /** What one hit counts where, and how its step's result becomes the decision. */
  #plan(namespace: string, key: string, rule: RateLimitRule, pop: string | undefined) {
    if (!this.#valid.has(rule)) {
      const problem = ruleProblem(rule);
      if (problem) throw new RangeError(problem);
      this.#valid.add(rule);
    }
    if (typeof namespace !== 'string') throw new TypeError('the namespace must be a string');
    if (typeof key !== 'string') throw new TypeError('the key must be a string');
    let where = '';
    if (rule.mode === 'local') {
      if (typeof pop !== 'string' || pop === '' || pop.includes('\0'))
        throw new TypeError('a local rate limit counts per PoP: hit() needs the PoP');
      where = `@${pop}`;
    }
    const { shards, limit, periodSec } = rule;
    let shard = 0;
    if (shards > 1) {
      shard = Math.min(shards - 1, Math.floor(this.#random() * shards));
      where += `#${shard}/${shards}`;
    }
    const perShard = Math.ceil(limit / shards);
    const periodMs = periodSec * 1000;
    const now = this.#now();
    const k = key.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
    const id = `${rule.mode === 'sliding' ? 's' : 'f'}${periodSec}${where}\0${k}`;
    const steps = rule.mode === 'sliding' ? stepSliding : stepFixed;
    return {
      id,
      now,
      step: (s: CounterState | undefined) => steps(s, perShard, periodMs, now),
      decide: (r: StepResult): RateLimitDecision => ({
        allowed: r.allowed,
        limit,
        remaining: shards > 1 ? Math.min(limit, r.remaining * shards) : r.remaining,
        resetSec: Math.ceil(r.resetMs / 1000),
        retryAfterSec: r.allowed ? 0 : Math.max(1, Math.ceil(r.retryMs / 1000)),
      }),
    };
  }
}
