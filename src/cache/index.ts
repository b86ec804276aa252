export {
  ApiCacheStore,
  type ApiCacheStoreOptions,
  type StoredResponse,
  tenantOf,
  ttlFor,
} from './api-store.ts';
export { Coalescer, type Joined, type Produced } from './coalesce.ts';
export {
  type CacheAnswer,
  type CacheRequest,
  type CacheStatus,
  HttpCache,
  type Origin,
  type OriginResponse,
  type PurgeSelector,
  storedUrl,
} from './http-cache.ts';
export { type CacheFigures, HIT_STATUSES, LookupCounts } from './lookup-counts.ts';
export {
  NodePurges,
  type NodePurgesOptions,
  type PurgeAck,
  type PurgeMessage,
  publishPurge,
} from './nats-purge.ts';
export {
  browserCacheControl,
  type CachePolicy,
  type ContentTypePolicy,
  parseTtlByStatus,
  policyTtl,
  refinePolicy,
  type StatusTtl,
} from './policy.ts';
export {
  type CacheLabel,
  PURGE_EVERYTHING,
  type Purgeable,
  PurgeBus,
  PurgeError,
  parsePurge,
} from './purge.ts';
export * as semantics from './semantics/index.ts';
export {
  type CacheStore,
  cacheKey,
  DiskStore,
  type EntryMeta,
  MemoryStore,
  type MemoryStoreOptions,
  type StoredEntry,
} from './store/index.ts';
