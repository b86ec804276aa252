/**
 * setTimeout/setInterval: the isolate has no event loop of its own, so each timer is a host
 * promise that resolves after the delay. Timer callbacks that throw are reported, not fatal.
 */
import { callHost, callSync, host, TIMER } from './bridge.ts';
import { resolvedIntrinsic, thenInFrame } from './context.ts';

const active = new Set<number>();
let nextId = 1;

let refusalLogged = false;

function arm(id: number, ms: number, fn: () => void) {
  thenInFrame(
    callHost(TIMER, [ms, id]),
    () => {
      if (active.has(id)) fn();
    },
    (err) => {
      active.delete(id);
      // The host refused the timer (too many alive): say so once, not once per timer.
      if (!refusalLogged) {
        refusalLogged = true;
        host.log('error', `setTimeout/setInterval: ${(err as Error).message}; such timers never fire`);
      }
    },
  );
}

/**
 * A timer's delay, ms. Past 2^31 - 1 a delay does not fit the 32-bit count timers keep: Node
 * then uses 1 ms (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args) and browsers
 * wrap it (WebIDL's `long`), which for the values code meets (2^31, 2^32 - 1, 2^53, 1e308) is
 * at once too. Holding such a timer for 24.8 days instead kept `scheduler.wait(2 ** 31)` pending
 * for weeks where the same code on Node goes on at once (found by test/security/bridge-fuzz.test.ts).
 */
function delay(ms: unknown): number {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return 0;
  return n > 2 ** 31 - 1 ? 1 : n;
}

function checkFn(fn: unknown, name: string): asserts fn is (...a: unknown[]) => void {
  if (typeof fn !== 'function')
    throw new TypeError(`${name}: the callback must be a function (strings are not evaluated)`);
}

export function setTimeout(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  checkFn(fn, 'setTimeout');
  const id = nextId++;
  active.add(id);
  arm(id, delay(ms), () => {
    active.delete(id);
    run(fn, args);
  });
  return id;
}

export function setInterval(fn: unknown, ms?: unknown, ...args: unknown[]): number {
  checkFn(fn, 'setInterval');
  const id = nextId++;
  const period = Math.max(delay(ms), 1);
  active.add(id);
  const tick = () => {
    run(fn, args);
    if (active.has(id)) arm(id, period, tick);
  };
  arm(id, period, tick);
  return id;
}

export function clearTimeout(id: unknown): void {
  const n = Number(id);
  // The host's timer goes too (it counted against the isolate's timer limit until it fired).
  if (active.delete(n)) callSync('clearTimer', n);
}
/** A function of its own, as on Workers (`clearInterval.name`); timeouts and intervals share ids. */
export const { clearInterval } = {
  clearInterval(id: unknown): void {
    clearTimeout(id);
  },
};

function run(fn: (...a: unknown[]) => void, args: unknown[]) {
  try {
    fn(...args);
  } catch (err) {
    (globalThis as any).reportError(err);
  }
}

export function queueMicrotask(fn: unknown): void {
  if (typeof fn !== 'function')
    throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  thenInFrame(resolvedIntrinsic(), () => run(fn as () => void, []));
}

export const scheduler = {
  wait(ms: number): Promise<void> {
    return thenInFrame(callHost(TIMER, [delay(ms), nextId++]), () => undefined);
  },
};
