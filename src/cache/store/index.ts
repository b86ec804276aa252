export { DiskStore, type DiskStoreOptions } from './disk.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory.ts';
export { type CacheStore, cacheKey, type EntryMeta, type StoredEntry } from './types.ts';
