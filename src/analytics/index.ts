export { AE_ERRORS, AE_LIMITS, AE_STORAGE, AnalyticsSqlError } from './limits.ts';
export { NatsAnalyticsLog, type NatsAnalyticsOptions } from './nats.ts';
export { checkPoint, type PointRow } from './point.ts';
export type { QueryAnswer, QueryOutput } from './sql/query.ts';
export {
  AnalyticsEngine,
  type AnalyticsEngineOptions,
  type AnalyticsLog,
  type StoredPoint,
} from './store.ts';
export type { DataPointData } from './types.ts';
