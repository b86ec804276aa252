export { ApiCacheStore, type ApiCacheStoreOptions, type StoredResponse, ttlFor } from './api-store.ts';
export { Coalescer, type Joined, type Produced } from './coalesce.ts';
export {
  type CacheAnswer,
  type CacheRequest,
  type CacheStatus,
  HttpCache,
  type Origin,
  type OriginResponse,
} from './http-cache.ts';
export * as semantics from './semantics/index.ts';
export {
  type CacheStore,
  cacheKey,
  DiskStore,
  type EntryMeta,
  MemoryStore,
  type StoredEntry,
} from './store/index.ts';
