import { DEFAULT_CPU_MS } from '../config/index.ts';
import { OutpostError } from './errors.ts';

/**
 * Per-worker limits. Defaults follow Workers' standard plan where it has one
 * (https://developers.cloudflare.com/workers/platform/limits/): 128 MB memory, 50 ms CPU
 * (wrangler's `limits.cpu_ms`), 50 subrequests per request (free plan), waitUntil work up
 * to 30 s after the response.
 */
export interface Limits {
  /** Heap plus WebAssembly memory, MB. */
  memoryMb: number;
  /** CPU time per request, ms. */
  cpuMs: number;
  /** Wall-clock time from request to response headers, ms. */
  wallMs: number;
  subrequests: number;
  /** How long ctx.waitUntil work may run after the response, ms. */
  waitUntilMs: number;
  /** Wall-clock limit for evaluating the script's top level, ms. */
  startupMs: number;
  /** Timers alive at once in one isolate. */
  timers: number;
}

export const DEFAULT_LIMITS: Limits = {
  memoryMb: 128,
  cpuMs: DEFAULT_CPU_MS,
  wallMs: 30_000,
  subrequests: 50,
  waitUntilMs: 30_000,
  startupMs: 1_000,
  timers: 10_000,
};

const RANGES: Record<keyof Limits, [number, number]> = {
  memoryMb: [8, 4096],
  cpuMs: [1, 300_000],
  wallMs: [1, 3_600_000],
  subrequests: [0, 100_000],
  waitUntilMs: [0, 3_600_000],
  startupMs: [10, 60_000],
  timers: [1, 1_000_000],
};

/** Merge overrides into defaults, validating each (names the option and what was received). */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const range = RANGES[key as keyof Limits];
    if (!range)
      throw new OutpostError(
        'INVALID_OPTION',
        `limits.${key} is not a known limit (known: ${Object.keys(RANGES).join(', ')})`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value) || value < range[0] || value > range[1]) {
      throw new OutpostError(
        'INVALID_OPTION',
        `limits.${key} must be a number from ${range[0]} to ${range[1]}, received ${String(value)}`,
      );
    }
    out[key as keyof Limits] = value;
  }
  return out;
}
