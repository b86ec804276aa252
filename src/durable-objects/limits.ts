/**
 * Durable Object storage limits and their error texts, as Cloudflare documents them
 * (https://developers.cloudflare.com/durable-objects/platform/limits/): key-value backend keys
 * up to 2 KiB and values up to 128 KiB (V8 serialization may add 32 bytes), 128 keys per
 * batch; SQLite backend key and value together up to 2 MB, SQL statements up to 100 KB with at
 * most 100 bound parameters.
 */
export const DO_LIMITS = {
  MAX_KEY_BYTES: 2048,
  MAX_VALUE_BYTES_KV: 128 * 1024 + 32,
  MAX_ENTRY_BYTES_SQLITE: 2 * 1024 * 1024,
  MAX_BATCH_KEYS: 128,
  MAX_SQL_BYTES: 100 * 1000,
  MAX_SQL_BINDINGS: 100,
  /** Cloudflare's largest string, BLOB or row (randomblob/zeroblob above it: SQLITE_TOOBIG). */
  MAX_SQL_VALUE_BYTES: 2 * 1000 * 1000,
  /** One object's database (Cloudflare: 10 GB per object), as max_page_count. */
  MAX_DATABASE_BYTES: 10 * 1000 * 1000 * 1000,
  /** Rows one sql.exec() may return (they cross two threads and enter a 128 MB isolate). */
  MAX_SQL_RESULT_BYTES: 32 * 1024 * 1024,
  /**
   * Outpost's own bounds on SQL (Cloudflare documents none; its objects run on their own
   * threads). The object's isolate waits synchronously for its SQL, and that wait holds the
   * host's main thread: one sql.exec() call runs at most MAX_SQL_MS, and the SQL time of one
   * namespace is a bucket of SQL_BUDGET_MS refilled at SQL_REFILL_MS_PER_S.
   */
  MAX_SQL_MS: 250,
  SQL_BUDGET_MS: 1000,
  SQL_REFILL_MS_PER_S: 250,
  /** Charged on top when a statement is interrupted (its SQL host process is killed and replaced). */
  SQL_KILL_PENALTY_MS: 500,
  /** The SQL host process's data segment (RLIMIT_DATA): SQLite's memory for every object's SQL. */
  SQL_HOST_DATA_BYTES: 1024 * 1024 * 1024,
} as const;

export type StorageBackend = 'kv' | 'sqlite';

/** A storage error the object sees with its name (TypeError, RangeError, Error). */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly kind: 'TypeError' | 'RangeError' | 'Error' = 'Error',
  ) {
    super(message);
  }
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string')
    throw new StorageError('Durable Object storage keys must be strings', 'TypeError');
  if (Buffer.byteLength(key) > DO_LIMITS.MAX_KEY_BYTES)
    throw new StorageError(`Keys cannot be larger than ${DO_LIMITS.MAX_KEY_BYTES} bytes.`, 'RangeError');
  return key;
}

export function checkKeys(keys: unknown): string[] {
  if (!Array.isArray(keys)) throw new StorageError('keys must be an array of strings', 'TypeError');
  if (keys.length > DO_LIMITS.MAX_BATCH_KEYS)
    throw new StorageError(`Maximum number of keys is ${DO_LIMITS.MAX_BATCH_KEYS}.`, 'RangeError');
  return keys.map(checkKey);
}

export function checkValue(backend: StorageBackend, key: string, bytes: Uint8Array): void {
  if (backend === 'kv' && bytes.byteLength > DO_LIMITS.MAX_VALUE_BYTES_KV)
    throw new StorageError(
      `Values cannot be larger than ${DO_LIMITS.MAX_VALUE_BYTES_KV - 32} bytes. A value of size ${bytes.byteLength} was provided.`,
      'RangeError',
    );
  if (backend === 'sqlite' && bytes.byteLength + Buffer.byteLength(key) > DO_LIMITS.MAX_ENTRY_BYTES_SQLITE)
    throw new StorageError(
      `Key and value combined cannot exceed ${DO_LIMITS.MAX_ENTRY_BYTES_SQLITE} bytes (key "${key.slice(0, 40)}": ${bytes.byteLength} bytes of value).`,
      'RangeError',
    );
}
