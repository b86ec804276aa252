export { ApiCacheStore, type ApiCacheStoreOptions, type StoredResponse, ttlFor } from './api-store.ts';
export * as semantics from './semantics/index.ts';
