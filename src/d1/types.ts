/**
 * D1's result shape (https://developers.cloudflare.com/d1/worker-api/return-object/) as plain
 * data: what the storage part answers and what crosses into the isolate
 * (src/runtime/bindings/protocol.ts). Types only, importing nothing: the isolate's tsconfig
 * compiles this file too.
 */

/** One statement's outcome. */
export interface D1Result {
  success: true;
  /** Rows as objects, or as arrays (the column names first when asked). */
  results: unknown[];
  meta: D1Meta;
}

export interface D1Meta {
  duration: number;
  size_after: number;
  rows_read: number;
  rows_written: number;
  last_row_id: number;
  changed_db: boolean;
  changes: number;
  served_by: string;
  served_by_region: string;
  served_by_primary: boolean;
  timings: { sql_duration_ms: number };
}
