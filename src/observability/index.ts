export { type Hop, type HopRecorder, type RequestHops, serverTiming, timingEntry } from './hops.ts';
export {
  consoleObserver,
  type LogEntry,
  type LogLevel,
  memoryObserver,
  noopObserver,
  type Observer,
} from './logger.ts';
export { DURATION_BUCKETS_SECONDS, EdgeMetrics, type IsolateStats, type RequestRecord } from './metrics.ts';
