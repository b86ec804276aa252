export { KV_LIMITS, KvError, type ListOptions, type PutOptions } from './limits.ts';
export { NatsKvStore, type NatsKvStoreOptions } from './nats-store.ts';
export { KvPop, type KvPopOptions, type KvTrace, type KvValue } from './pop.ts';
export { SqliteKvStore, type SqliteKvStoreOptions } from './sqlite-store.ts';
export type { KvKeyState, KvListKey, KvListResult, KvRecord, KvStore, KvWrite } from './store.ts';
