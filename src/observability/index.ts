export {
  type Hop,
  type HopRecorder,
  type HopSpan,
  MAX_HOP_ENTRIES,
  type OpenHop,
  type RequestHops,
  recordHops,
  serverTiming,
  timingEntry,
} from './hops.ts';
export {
  consoleObserver,
  type LogEntry,
  type LogFormat,
  type LogLevel,
  memoryObserver,
  noopObserver,
  type Observer,
  prettyLine,
} from './logger.ts';
export {
  DURATION_BUCKETS_SECONDS,
  EdgeMetrics,
  type IsolateStats,
  NO_METRICS,
  noWorkerFigures,
  type PopMetrics,
  type RequestRecord,
} from './metrics.ts';
export { type RecentSpan, type RecentTrace, RecentTraces, type TraceMeta } from './recent-traces.ts';
export {
  parseRequestFilter,
  type RequestFilter,
  type RequestRecord as AnsweredRequest,
  RequestStream,
} from './request-stream.ts';
export {
  matchesTail,
  parseTailFilter,
  prettyTail,
  TailDraft,
  type TailFilter,
  TailHub,
  type TailItem,
  type TailOutcome,
} from './tail.ts';
export {
  type Attrs,
  type DeferredSpan,
  epochOf,
  formatTraceparent,
  NO_TRACE,
  nowMs,
  type OpenSpan,
  parseTraceparent,
  RequestTrace,
  SpanKind,
  type TraceScope,
} from './trace.ts';
export {
  type TraceOutcome,
  Tracer,
  type TracerStats,
  type TracingOptions,
  validateTracing,
} from './tracer.ts';
