/**
 * Storage quotas per tenant: the operator's, never the tenant's. A Workers project's
 * `[limits]` is written by the tenant, so nothing here is read from wrangler config; the
 * operator sets them with `outpost dev` options (--cache-api-tenant-mb, --fetch-cache-tenant-mb,
 * --kv-namespace-quota-mb, --do-object-quota-mb) or the programmatic options that carry a
 * `StorageQuotas`. Defaults follow Cloudflare where it has a figure
 * (https://developers.cloudflare.com/kv/platform/limits/: 1 GB of KV storage on the free plan;
 * https://developers.cloudflare.com/durable-objects/platform/limits/: 10 GB per object).
 */
import { ConfigError } from './errors.ts';

export interface StorageQuotas {
  /** Bytes of Cache API entries one tenant keeps in a PoP's store; past it, its own LRU entries go. */
  cacheApiTenantBytes: number;
  /** Bytes of fetch() subrequest cache entries one tenant keeps in a PoP's (or shield's) HTTP cache. */
  fetchCacheTenantBytes: number;
  /** Bytes one KV namespace stores (keys, values and metadata of its live keys). */
  kvNamespaceBytes: number;
  /** Bytes one Durable Object's database may grow to (SQLite max_page_count). */
  durableObjectBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_QUOTAS: StorageQuotas = {
  cacheApiTenantBytes: 32 * MiB,
  fetchCacheTenantBytes: 32 * MiB,
  kvNamespaceBytes: 1024 * MiB,
  durableObjectBytes: 10 * 1000 * 1000 * 1000,
};

/** Merge overrides into the defaults, each a positive integer number of bytes (named when not). */
export function resolveQuotas(overrides: Partial<StorageQuotas> = {}, source = 'quotas'): StorageQuotas {
  const out = { ...DEFAULT_QUOTAS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_QUOTAS))
      throw new ConfigError(source, key, `one of ${Object.keys(DEFAULT_QUOTAS).join(', ')}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
      throw new ConfigError(source, key, 'a positive integer number of bytes', value);
    out[key as keyof StorageQuotas] = value;
  }
  return out;
}
