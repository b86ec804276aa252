/**
 * Workflow durations (workers-types' WorkflowSleepDuration): a number of milliseconds, or
 * `"<number> <unit>"` with unit second, minute, hour, day, week, month (30 days) or year
 * (365 days), singular or plural ("1 minute", "26 hours", "2.5 seconds").
 */
import { MAX_WORKFLOW_WAIT_MS } from '../../bindings/protocol.ts';

const UNIT_MS: Record<string, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 2_592_000_000,
  year: 31_536_000_000,
};

const FORMAT = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$/i;

/** The longest duration a Workflow takes (Cloudflare: a sleep of at most 365 days). */
export const MAX_DURATION_MS = MAX_WORKFLOW_WAIT_MS;

/** Milliseconds, or a TypeError naming `what` and the value. */
export function durationMs(v: unknown, what: string): number {
  let ms = Number.NaN;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const m = FORMAT.exec(v);
    const unit = m && UNIT_MS[m[2].toLowerCase()];
    if (m && unit) ms = Number(m[1]) * unit;
  }
  if (ms > MAX_DURATION_MS) throw new RangeError(`${what} must be at most 365 days, received ${String(v)}`);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  throw new TypeError(
    `${what} must be a number of milliseconds or a duration such as "30 seconds", "5 minutes" or "1 day", received ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
  );
}
