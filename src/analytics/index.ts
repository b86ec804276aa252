export { AE_ERRORS, AE_LIMITS, AE_STORAGE, AnalyticsSqlError } from './limits.ts';
export { checkPoint, type PointRow } from './point.ts';
export type { QueryAnswer, QueryOutput } from './sql/query.ts';
export { AnalyticsEngine, type AnalyticsEngineOptions } from './store.ts';
export type { DataPointData } from './types.ts';
