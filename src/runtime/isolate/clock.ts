/**
 * The clock tenant code sees. As on Workers, `Date.now()`, `new Date()` and `performance.now()`
 * stand still while code runs and move on only when the isolate is entered again: an event is
 * dispatched, a host call (fetch, KV, a timer, a body read) completes, a WebSocket message
 * arrives. A tenant cannot time its own code, or another tenant's, with them (a timing side
 * channel needs a clock that moves during computation), and code that busy-waits on the clock
 * fails here as it does on Cloudflare (it spins until the CPU limit stops it).
 * https://developers.cloudflare.com/workers/reference/security-model/#step-1-disallow-timers-and-multi-threading
 *
 * `tick()` is called by the prelude's entry points (index.ts, bridge.ts callHost); nothing
 * tenant code can reach moves the clock.
 */
import { standIn } from './stand-in.ts';

const RealDate = Date;
const realNow = Date.now;

let frozen = realNow();
let entries = 0;

/** The isolate was entered (an event, or I/O completed): the clock catches up with real time. */
export function tick(): void {
  entries++;
  const n = realNow();
  if (n > frozen) frozen = n;
}

/**
 * How many times the isolate was entered: what the prelude learns from shared memory it checks
 * once per entry (kv-cache.ts), so that nothing it answers moves while code runs either.
 */
export function entryCount(): number {
  return entries;
}

/** The real time, ms since the epoch: for the prelude alone (outbox.ts), never tenant code. */
export function realTime(): number {
  return realNow();
}

/** The frozen time, ms since the epoch. */
export function now(): number {
  return frozen;
}

/**
 * Replace the global `Date` with one whose no-argument forms read the frozen clock. The
 * prototype is Date's own, so `instanceof Date`, subclasses and every method behave as before.
 */
export function installClock(g: Record<string, unknown>): void {
  const D = function (this: unknown, ...args: unknown[]) {
    if (new.target === undefined) return new RealDate(frozen).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [frozen] : args, new.target);
  } as unknown as DateConstructor;
  standIn(D, RealDate);
  Object.defineProperty(D, 'now', { value: now, writable: true, enumerable: false, configurable: true });
  Object.defineProperty(g, 'Date', { value: D, writable: true, enumerable: false, configurable: true });
}
