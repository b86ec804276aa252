/**
 * Workers KV limits and validation, with Cloudflare's error texts
 * (https://developers.cloudflare.com/kv/platform/limits/): a KvError carries the HTTP status
 * the KV service answers, and the binding reports it as Workers does: `KV PUT failed: 413 …`.
 */

export const KV_LIMITS = {
  MAX_KEY_BYTES: 512,
  MAX_VALUE_BYTES: 25 * 1024 * 1024,
  MAX_METADATA_BYTES: 1024,
  MIN_EXPIRATION_TTL: 60,
  MIN_CACHE_TTL: 30,
  MAX_LIST_KEYS: 1000,
  MAX_BULK_KEYS: 100,
} as const;

export class KvError extends Error {
  readonly code = 'KV_ERROR';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KvError';
  }
}

export function validateKey(key: string): void {
  if (key === '') throw new KvError(400, 'Key names must not be empty');
  if (key === '.' || key === '..')
    throw new KvError(400, `Illegal key name "${key}". Please use a different name.`);
  validateKeyLength(key);
}

export function validateKeyLength(key: string): void {
  const n = Buffer.byteLength(key);
  if (n > KV_LIMITS.MAX_KEY_BYTES)
    throw new KvError(
      414,
      `UTF-8 encoded length of ${n} exceeds key length limit of ${KV_LIMITS.MAX_KEY_BYTES}.`,
    );
}

export function validateCacheTtl(cacheTtl: number | undefined): void {
  if (cacheTtl !== undefined && (Number.isNaN(cacheTtl) || cacheTtl < KV_LIMITS.MIN_CACHE_TTL))
    throw new KvError(
      400,
      `Invalid cache_ttl of ${cacheTtl}. Cache TTL must be at least ${KV_LIMITS.MIN_CACHE_TTL}.`,
    );
}

export interface PutOptions {
  expiration?: number;
  expirationTtl?: number;
  /** The metadata as JSON text. */
  metadata?: string;
}

/** Check put() options; returns the absolute expiration (seconds since the epoch) or null. */
export function validatePut(
  key: string,
  valueBytes: number,
  options: PutOptions,
  nowSeconds: number,
): number | null {
  validateKey(key);
  if (valueBytes > KV_LIMITS.MAX_VALUE_BYTES)
    throw new KvError(413, `Value length of ${valueBytes} exceeds limit of ${KV_LIMITS.MAX_VALUE_BYTES}.`);
  let expiration: number | null = null;
  if (options.expirationTtl !== undefined) {
    const ttl = Math.trunc(Number(options.expirationTtl));
    if (Number.isNaN(ttl) || ttl <= 0)
      throw new KvError(
        400,
        `Invalid expiration_ttl of ${options.expirationTtl}. Please specify integer greater than 0.`,
      );
    if (ttl < KV_LIMITS.MIN_EXPIRATION_TTL)
      throw new KvError(
        400,
        `Invalid expiration_ttl of ${options.expirationTtl}. Expiration TTL must be at least ${KV_LIMITS.MIN_EXPIRATION_TTL}.`,
      );
    expiration = nowSeconds + ttl;
  } else if (options.expiration !== undefined) {
    const at = Math.trunc(Number(options.expiration));
    if (Number.isNaN(at) || at <= nowSeconds)
      throw new KvError(
        400,
        `Invalid expiration of ${options.expiration}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
      );
    if (at < nowSeconds + KV_LIMITS.MIN_EXPIRATION_TTL)
      throw new KvError(
        400,
        `Invalid expiration of ${options.expiration}. Expiration times must be at least ${KV_LIMITS.MIN_EXPIRATION_TTL} seconds in the future.`,
      );
    expiration = at;
  }
  if (options.metadata !== undefined) {
    const n = Buffer.byteLength(options.metadata);
    if (n > KV_LIMITS.MAX_METADATA_BYTES)
      throw new KvError(413, `Metadata length of ${n} exceeds limit of ${KV_LIMITS.MAX_METADATA_BYTES}.`);
  }
  return expiration;
}

export interface ListOptions {
  prefix?: string | null;
  limit?: number;
  cursor?: string | null;
}

export function validateList(options: ListOptions): { prefix: string; limit: number; cursor: string | null } {
  let limit: number = KV_LIMITS.MAX_LIST_KEYS;
  if (options.limit !== undefined) {
    limit = Number(options.limit);
    if (Number.isNaN(limit) || limit < 1)
      throw new KvError(
        400,
        `Invalid key_count_limit of ${options.limit}. Please specify an integer greater than 0.`,
      );
    if (limit > KV_LIMITS.MAX_LIST_KEYS)
      throw new KvError(
        400,
        `Invalid key_count_limit of ${options.limit}. Please specify an integer less than ${KV_LIMITS.MAX_LIST_KEYS}.`,
      );
    limit = Math.trunc(limit);
  }
  const prefix = options.prefix ?? '';
  if (prefix) validateKeyLength(prefix);
  return { prefix, limit, cursor: options.cursor || null };
}
