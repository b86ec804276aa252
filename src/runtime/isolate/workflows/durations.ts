/**
 * Workflow durations (workers-types' WorkflowSleepDuration): a number of milliseconds, or
 * `"<number> <unit>"` with unit second, minute, hour, day, week, month (30 days) or year
 * (365 days), singular or plural ("1 minute", "26 hours", "2.5 seconds").
 */
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

/** Milliseconds, or a TypeError naming `what` and the value. */
export function durationMs(v: unknown, what: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return v;
  } else if (typeof v === 'string') {
    const m = FORMAT.exec(v);
    const unit = m && UNIT_MS[m[2].toLowerCase()];
    if (m && unit) return Number(m[1]) * unit;
  }
  throw new TypeError(
    `${what} must be a number of milliseconds or a duration such as "30 seconds", "5 minutes" or "1 day", received ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
  );
}
