/**
 * How much of a core a running thread gets now, for reading `isolate.cpuTime` fairly.
 *
 * isolated-vm's `cpuTime` is the time the isolate's tasks ran by the clock, not the CPU its
 * thread got: measured here, a loop that takes 2.2 s alone read 5.4 s of "CPU" when four other
 * busy processes shared the two cores. On a host with more runnable threads than cores, the
 * watchdog read a request that used about 5 ms of CPU as 57 ms and killed it (on CI, beside
 * two test files' networks).
 *
 * So a suspected breach is weighed by the share of a core a runnable thread gets at that moment:
 * the cores over the threads Linux counts as runnable now (/proc/loadavg's fourth field, less
 * the watchdog's own thread that is reading it), at most 1. With no more runnable threads than
 * cores (the usual case, and always for a loop on an idle host) the share is 1 and nothing
 * changes; under contention a runaway loop is stopped when its weighed time passes the limit,
 * which is about when its real CPU time does. Elsewhere than Linux the share is 1.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const CORES = availableParallelism();
/** A share is read at most this often (ms): a breach is checked every few ms. */
const FRESH_MS = 20;

function readLoadavg(): string | null {
  try {
    return readFileSync('/proc/loadavg', 'latin1');
  } catch {
    return null;
  }
}

let cached = 1;
let readAt = Number.NEGATIVE_INFINITY;
let source = readLoadavg;

/** The share of a core a runnable thread gets now, from /proc/loadavg's "running/total". */
export function coreShare(now = performance.now()): number {
  if (now - readAt < FRESH_MS && now >= readAt) return cached;
  readAt = now;
  cached = shareFrom(source());
  return cached;
}

/** The share `text` (the content of /proc/loadavg) implies; 1 when it cannot be read. */
export function shareFrom(text: string | null, cores = CORES): number {
  // Less one: the thread reading it (the watchdog's) is running too.
  const running = Number(/^\S+ \S+ \S+ (\d+)\//.exec(text ?? '')?.[1]) - 1;
  if (!Number.isFinite(running) || running <= cores) return 1;
  return cores / running;
}

/** Tests: read /proc/loadavg's content from `read` instead (null: back to the real file). */
export function setLoadSource(read: (() => string | null) | null): void {
  readAt = Number.NEGATIVE_INFINITY;
  source = read ?? readLoadavg;
}

/** `ns` of CPU as read from isolate.cpuTime, weighed by the share of a core a thread gets now. */
export function weighCpu(ns: bigint): bigint {
  const share = coreShare();
  return share >= 1 ? ns : BigInt(Math.floor(Number(ns) * share));
}
