export { DEFAULT_ACCOUNT } from './accounts.ts';
export { d1DatabaseId } from './bindings/d1.ts';
export { queueId } from './bindings/queue.ts';
export { r2BucketId } from './bindings/r2.ts';
export type { QueueSink } from './bindings/types.ts';
export { type ChunkSource, fromAsyncIterable, fromBytes } from './bridge/bodies.ts';
export {
  type RecordedOrigin,
  recorded,
  type SiteLink,
  type SiteTarget,
  type Tier,
  type TierFill,
  unrecorded,
} from './bridge/fetch.ts';
export { type Bundle, type BundleOptions, bundleWorker } from './bundle.ts';
export { type EgressOptions, EgressPolicy, EgressRefusedError } from './egress.ts';
export {
  BundleError,
  LimitExceededError,
  type LimitName,
  OutpostError,
  ScriptLoadError,
  WorkerException,
} from './errors.ts';
export { DEFAULT_LIMITS, type Limits, resolveLimits } from './limits.ts';
export {
  calleeChain,
  LOOP_HEADER,
  LoopLimitError,
  MAX_LOOP_HOPS,
  MAX_SERVICE_INVOCATIONS,
  type RequestChain,
} from './loops.ts';
export { prepareIsolates } from './pool.ts';
export { Runtime, type RuntimeOptions } from './runtime.ts';
export { stickyRoll } from './split.ts';
export type {
  HopRecorder,
  RequestHops,
  WorkerRequest,
  WorkerResponse,
  WorkerVersion,
  WorkerWebSocket,
} from './types.ts';
