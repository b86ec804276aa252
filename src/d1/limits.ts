/**
 * D1's limits and error texts (https://developers.cloudflare.com/d1/platform/limits/), as the
 * worker sees them: `D1_ERROR: <SQLite's message>: <code>`.
 */
export const D1_LIMITS = {
  /** Bound parameters per statement. */
  MAX_PARAMS: 100,
  /** SQL text per statement, bytes. */
  MAX_SQL_BYTES: 100_000,
  /** One query's time before it is stopped (Cloudflare: 30 s). */
  MAX_QUERY_MS: 30_000,
  /** A database's size (Cloudflare's free plan; the paid one allows 10 GB). */
  MAX_DATABASE_BYTES: 500 * 1024 * 1024,
  /** Statements in one batch (Outpost's bound; Cloudflare documents none below the request's size). */
  MAX_BATCH: 1000,
  /**
   * What one call's rows may weigh in all, as the worker will hold them (a BLOB's bytes count
   * 9 times: they reach the worker as arrays of numbers). Outpost's bound, under the isolate's
   * memory limit: a bigger answer is refused, not copied across.
   */
  MAX_RESULT_BYTES: 16 * 1024 * 1024,
  /** exec() SQL text in all, bytes (it is split into statements on the host). */
  MAX_EXEC_BYTES: 1024 * 1024,
  /** dump() of a database larger than this is refused (it is copied into the isolate whole). */
  MAX_DUMP_BYTES: 64 * 1024 * 1024,
  /** D1 calls in flight per isolate; more wait their turn (none may starve others). */
  MAX_IN_FLIGHT_PER_ISOLATE: 8,
} as const;

/** A D1 failure: `message` is the full text the worker sees. */
export class D1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'D1Error';
  }
}
