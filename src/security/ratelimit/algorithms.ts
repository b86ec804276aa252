/**
 * The counting itself: pure steps from one counter's state, a limit, a period and the time to
 * the next state and a decision. No storage and no clock here: ./store.ts keeps the states,
 * ./limiter.ts picks the counter and the time. A later distributed backend (one Durable Object
 * owning a counter) runs these same steps where the counter lives.
 *
 * Sliding window (exact): the state is the log of the allowed hits' times, oldest first, in a
 * ring buffer. A hit at time t is allowed when fewer than `limit` logged hits lie in
 * (t - period, t]; so no half-open span of one period, anywhere, holds more than `limit` allowed
 * hits. A hit at t + period no longer sees one at t; one at t + period - 1 ms still does. Hits
 * in the same millisecond are separate entries (the log is of hits, not of distinct times).
 * Only allowed hits are logged, so the log never holds more than `limit` entries: at most
 * 8 bytes × limit per counter (a Float64Array that grows by doubling as hits come, and shrinks
 * when they expire), 8 MB at the largest limit (1,000,000).
 *
 * Fixed window: windows are [k × period, (k + 1) × period) in ms since the epoch; the state is
 * the current window's start and its count. At most `limit` allowed hits per window, but up to
 * 2 × limit in one period that straddles two windows (the known edge of fixed windows).
 *
 * A clock that steps back (NTP) is read as standing still at the newest time the counter has
 * seen: the log stays sorted, a window never reopens.
 */

export interface FixedState {
  kind: 'fixed';
  periodMs: number;
  /** The current window's start, ms since the epoch (a multiple of periodMs). */
  start: number;
  count: number;
  /** From this time on the state says nothing (its window is over): a store may drop it. */
  idleAt: number;
  /** Approximate memory held, for the store's budget. */
  bytes: number;
}

export interface SlidingState {
  kind: 'sliding';
  periodMs: number;
  /** Times of allowed hits, oldest first from `head`, `size` of them, wrapping around. */
  log: Float64Array;
  head: number;
  size: number;
  idleAt: number;
  bytes: number;
}

export type CounterState = FixedState | SlidingState;

export interface StepResult {
  allowed: boolean;
  /** Hits still allowed now by this counter. */
  remaining: number;
  /** ms until the counter frees capacity (its oldest hit expires, or its window ends). */
  resetMs: number;
  /** ms until a hit can be allowed (0 when allowed). */
  retryMs: number;
}

/** An object's own cost, roughly, beside its log. */
export const STATE_BYTES = 96;
/** The smallest sliding log kept (and the first made). */
export const MIN_LOG = 4;

/** One hit against a fixed-window counter (`state` is changed in place when given). */
export function stepFixed(
  state: CounterState | undefined,
  limit: number,
  periodMs: number,
  now: number,
): [FixedState, StepResult] {
  const start = Math.floor(now / periodMs) * periodMs;
  let s: FixedState;
  if (state?.kind === 'fixed' && state.periodMs === periodMs) {
    s = state;
    // A clock stepping back keeps the current window.
    if (start > s.start) {
      s.start = start;
      s.count = 0;
    }
  } else s = { kind: 'fixed', periodMs, start, count: 0, idleAt: 0, bytes: STATE_BYTES };
  const t = Math.max(now, s.start);
  const allowed = s.count < limit;
  if (allowed) s.count++;
  s.idleAt = s.start + periodMs;
  const resetMs = s.start + periodMs - t;
  return [s, { allowed, remaining: Math.max(0, limit - s.count), resetMs, retryMs: allowed ? 0 : resetMs }];
}

function resize(s: SlidingState, capacity: number): void {
  const log = new Float64Array(capacity);
  const cap = s.log.length;
  for (let i = 0; i < s.size; i++) log[i] = s.log[(s.head + i) % cap];
  s.log = log;
  s.head = 0;
  s.bytes = STATE_BYTES + 8 * capacity;
}

/** The i-th logged hit, oldest first. */
const at = (s: SlidingState, i: number) => s.log[(s.head + i) % s.log.length];

/** One hit against a sliding-window counter (`state` is changed in place when given). */
export function stepSliding(
  state: CounterState | undefined,
  limit: number,
  periodMs: number,
  now: number,
): [SlidingState, StepResult] {
  let s: SlidingState;
  if (state?.kind === 'sliding' && state.periodMs === periodMs) s = state;
  else {
    const capacity = Math.min(limit, MIN_LOG);
    s = {
      kind: 'sliding',
      periodMs,
      log: new Float64Array(capacity),
      head: 0,
      size: 0,
      idleAt: 0,
      bytes: STATE_BYTES + 8 * capacity,
    };
  }
  const t = s.size > 0 ? Math.max(now, at(s, s.size - 1)) : now;
  // Expire what lies outside (t - period, t].
  while (s.size > 0 && s.log[s.head] <= t - periodMs) {
    s.head = (s.head + 1) % s.log.length;
    s.size--;
  }
  if (s.log.length > MIN_LOG && s.size < s.log.length / 4)
    resize(s, Math.max(MIN_LOG, Math.ceil(s.log.length / 2)));
  const allowed = s.size < limit;
  if (allowed) {
    if (s.size === s.log.length) resize(s, Math.min(limit, Math.max(MIN_LOG, s.log.length * 2)));
    s.log[(s.head + s.size) % s.log.length] = t;
    s.size++;
  }
  s.idleAt = at(s, s.size - 1) + periodMs;
  const resetMs = s.log[s.head] + periodMs - t;
  // Refused: a hit fits once all but limit - 1 of the logged ones are gone (more than one only
  // when the limit was lowered since they were logged).
  const retryMs = allowed ? 0 : at(s, s.size - limit) + periodMs - t;
  return [s, { allowed, remaining: Math.max(0, limit - s.size), resetMs, retryMs }];
}
