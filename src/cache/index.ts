export {
  ApiCacheStore,
  type ApiCacheStoreOptions,
  parseCacheControl,
  type StoredResponse,
  ttlFor,
} from './api-store.ts';
