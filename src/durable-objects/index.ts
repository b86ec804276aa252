export {
  type AlarmEntry,
  ObjectCluster,
  ObjectElsewhere,
  type OwnerEntry,
  ReplicatedStorage,
} from './cluster/index.ts';
export { ObjectDirectory, type PlacedObject } from './directory.ts';
export { idFromName, invalidId, newUniqueId } from './ids.ts';
export { checkKey, checkKeys, checkValue, DO_LIMITS, type StorageBackend, StorageError } from './limits.ts';
export { AsyncSqlHost } from './sql-async.ts';
export { TRANSACTION_REFUSED, tokenize } from './sql-gate.ts';
export type { BatchResult } from './sql-host.ts';
export { StagedStorage } from './staged.ts';
export { type ListOptions, ObjectStorage, type SqlResult } from './storage.ts';
