export type { NetworkOptions } from './across-nodes.ts';
export { ALARM_MIN_GAP_MS } from './alarms.ts';
export { AUTO_MOVE_DEFAULTS, type AutoMoveOptions } from './auto-move.ts';
export {
  type AlarmEntry,
  ObjectCluster,
  ObjectElsewhere,
  type OwnerEntry,
  ReplicatedStorage,
} from './cluster/index.ts';
export { ObjectDirectory, type PlacedObject } from './directory.ts';
export { HIBERNATION_LIMITS, HibernationSet, type RestoredSocket } from './hibernation.ts';
export {
  type BodySource,
  type ObjectCall,
  type ObjectChain,
  type ObjectClass,
  ObjectError,
  type ObjectEvent,
  type ObjectHost,
  type ObjectInstance,
  type ObjectLoad,
  type ObjectOp,
  type ObjectPeers,
  type ObjectPlacement,
  type ObjectRequest,
  OwnerUnreachable,
  type PeerNode,
  type PeerObjectCall,
  type SocketFlow,
} from './host.ts';
export { idFromName, invalidId, newUniqueId } from './ids.ts';
export { checkKey, checkKeys, checkValue, DO_LIMITS, type StorageBackend, StorageError } from './limits.ts';
export { DurableObjects, type DurableObjectsOptions } from './objects.ts';
export { AsyncSqlHost } from './sql-async.ts';
export { TRANSACTION_REFUSED, tokenize } from './sql-gate.ts';
export type { BatchResult } from './sql-host.ts';
export { StagedStorage } from './staged.ts';
export { type ListOptions, ObjectStorage, type SqlResult } from './storage.ts';
