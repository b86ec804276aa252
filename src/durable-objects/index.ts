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
export { ObjectError, OwnerUnreachable } from './errors.ts';
export { HIBERNATION_LIMITS, HibernationSet, type RestoredSocket, type SocketFlow } from './hibernation.ts';
export type {
  BodySource,
  ObjectCall,
  ObjectChain,
  ObjectClass,
  ObjectEvent,
  ObjectHost,
  ObjectInstance,
  ObjectLoad,
  ObjectOp,
  ObjectPeers,
  ObjectPlacement,
  ObjectRequest,
  PeerNode,
  PeerObjectCall,
} from './host.ts';
export { idFromName, invalidId, newUniqueId } from './ids.ts';
export { checkKey, checkKeys, checkValue, DO_LIMITS, type StorageBackend, StorageError } from './limits.ts';
export { DurableObjects, type DurableObjectsOptions } from './objects.ts';
export { withheld } from './output-gate.ts';
export { AsyncSqlHost } from './sql-async.ts';
export { TRANSACTION_REFUSED, tokenize } from './sql-gate.ts';
export type { BatchResult } from './sql-host.ts';
export { StagedStorage } from './staged.ts';
export { type ListOptions, ObjectStorage, type SqlResult } from './storage.ts';
