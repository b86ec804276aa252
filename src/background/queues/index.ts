export {
  QUEUE_ERROR_CODES,
  QUEUE_LIMITS,
  QueueError,
  type QueueSendMessage,
  type SendKind,
  validateDelay,
  validateMaxRetries,
  validateSend,
} from './limits.ts';
export { NatsQueueStore, type NatsQueueStoreOptions } from './nats-store.ts';
export { SqliteQueueStore, type SqliteQueueStoreOptions } from './sqlite-store.ts';
export {
  newMessageId,
  type QueueDepth,
  type QueueMessageRecord,
  type QueueRetryResult,
  type QueueSendOptions,
  type QueueStore,
} from './store.ts';
