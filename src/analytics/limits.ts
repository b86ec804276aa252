/**
 * Workers Analytics Engine's limits and error texts, as a worker sees them
 * (https://developers.cloudflare.com/analytics/analytics-engine/limits/, and workerd's
 * src/workerd/api/analytics-engine-impl.h for the exact messages: TypeErrors prefixed
 * "writeDataPoint(): ", with the unbalanced ")" workerd has).
 *
 * The isolate checks the same limits first (src/runtime/isolate/bindings/analytics.ts), so a
 * worker gets the error where it called; the host checks again, since tenant code can call the
 * syscall with anything.
 */
export const AE_LIMITS = {
  /** blobs per data point. */
  MAX_BLOBS: 20,
  /** doubles per data point. */
  MAX_DOUBLES: 20,
  /** indexes per data point. */
  MAX_INDEXES: 1,
  /** Bytes of the one index. */
  MAX_INDEX_BYTES: 96,
  /** Bytes of all blobs of one data point together (workerd: 800 × 20; the docs say "16 KB"). */
  MAX_BLOB_BYTES: 16_000,
  /** writeDataPoint() calls per invocation (a request, an RPC call, an alarm). */
  MAX_POINTS_PER_INVOCATION: 250,
} as const;

/** What Outpost keeps and how it answers queries (its own bounds; Cloudflare keeps 3 months). */
export const AE_STORAGE = {
  /** Days a data point is kept (Cloudflare: three months). */
  RETENTION_DAYS: 92,
  /** Data points kept per dataset; past it the oldest go first. */
  MAX_ROWS_PER_DATASET: 1_000_000,
  /** Data points buffered before they are written at once (else within FLUSH_MS). */
  FLUSH_ROWS: 1000,
  /** How long a written data point waits in memory at most, ms. */
  FLUSH_MS: 200,
  /**
   * Bytes of data points (their blobs and index, and 400 for the rest) kept in memory while the
   * database cannot be written; older ones are dropped past it.
   */
  MAX_BUFFERED_BYTES: 64 * 1024 * 1024,
  /** SQL text of one query, bytes. */
  MAX_SQL_BYTES: 64 * 1024,
  /** Rows one query may answer (more is an error asking for a LIMIT). */
  MAX_RESULT_ROWS: 100_000,
} as const;

export const WRITE_PREFIX = 'writeDataPoint(): ';

export const AE_ERRORS = {
  tooManyBlobs: `${WRITE_PREFIX}Maximum of ${AE_LIMITS.MAX_BLOBS} blobs supported.`,
  tooManyDoubles: `${WRITE_PREFIX}Maximum of ${AE_LIMITS.MAX_DOUBLES} doubles supported.`,
  tooManyIndexes: `${WRITE_PREFIX}Maximum of ${AE_LIMITS.MAX_INDEXES} indexes supported.`,
  blobsTooBig: `${WRITE_PREFIX}Cumulative size of blobs exceeds ${AE_LIMITS.MAX_BLOB_BYTES} bytes).`,
  indexTooBig: `${WRITE_PREFIX}Size of indexes[0] exceeds ${AE_LIMITS.MAX_INDEX_BYTES} bytes).`,
  /** The 251st data point of one invocation (Cloudflare's text). */
  writeLimit: 'Analytics Engine write limit exceeded.',
} as const;

/** A query that cannot run: `message` names what was wrong, for the one who wrote it. */
export class AnalyticsSqlError extends Error {
  readonly code = 'AE_SQL';
  constructor(message: string) {
    super(message);
    this.name = 'AnalyticsSqlError';
  }
}
