/**
 * How much of a core a running thread gets now, for reading `isolate.cpuTime` fairly.
 *
 * isolated-vm's `cpuTime` is the time the isolate's tasks ran by the clock, not the CPU its
 * thread got: measured here, a loop that takes 2.2 s alone read 5.4 s of "CPU" when four other
 * busy processes shared the two cores. On a host with more runnable threads than cores, the
 * watchdog read a request that used about 5 ms of CPU as 57 ms and killed it (on CI, beside
 * two test files' networks).
 *
 * So what an isolate runs is weighed, slice by slice as the watchdog takes it (instance.ts
 * #account, every few ms), by the share of a core a runnable thread gets at that moment: the
 * cores over the threads Linux counts as runnable now (/proc/loadavg's fourth field, less the
 * watchdog's own thread that is reading it), at most 1 and at least MIN_SHARE. With no more
 * runnable threads than cores (the usual case, and always for a loop on an idle host) the share
 * is 1 and nothing changes; under contention a runaway loop is stopped about when its real CPU
 * time passes the limit, and never later than at MIN_SHARE's inverse times the limit by the
 * clock: /proc/loadavg counts the whole host (other containers, CPUs this process may not use),
 * so the discount is bounded. Elsewhere than Linux the share is 1.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const CORES = availableParallelism();
/** A share is read at most this often (ms): the watchdog runs every few ms. */
const FRESH_MS = 20;
/**
 * The least share a thread is taken to get: time run is discounted at most 4x, however busy
 * the host looks (its runnable count is host-wide and may not compete with this process).
 */
const MIN_SHARE = 0.25;
let minShare = MIN_SHARE;

/** /proc/loadavg, kept open and read from its start (one pread, not open, read and close). */
let loadavgFd: number | null = null;
const loadavgBuf = Buffer.alloc(128);
function readLoadavg(): string | null {
  try {
    loadavgFd ??= openSync('/proc/loadavg', 'r');
    const n = readSync(loadavgFd, loadavgBuf, 0, loadavgBuf.length, 0);
    return loadavgBuf.toString('latin1', 0, n);
  } catch {
    // Opened again next time (the old read opened the file on every call).
    try {
      if (loadavgFd !== null) closeSync(loadavgFd);
    } catch {}
    loadavgFd = null;
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
  return Math.max(minShare, cores / running);
}

/**
 * Tests: read /proc/loadavg's content from `read` instead, and take `floor` as the least share
 * (null: back to the real file and MIN_SHARE).
 */
export function setLoadSource(read: (() => string | null) | null, floor = MIN_SHARE): void {
  readAt = Number.NEGATIVE_INFINITY;
  source = read ?? readLoadavg;
  minShare = read ? floor : MIN_SHARE;
}

/** A slice of `ns` read from isolate.cpuTime, weighed by the share of a core a thread gets now. */
export function weighCpu(ns: bigint): bigint {
  const share = coreShare();
  return share >= 1 ? ns : BigInt(Math.floor(Number(ns) * share));
}
