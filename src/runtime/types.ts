import type { AssetServer } from '../assets/index.ts';
import type { BindingConfig, DurableObjectClass, VarValue } from '../config/index.ts';
import type { ChunkSource } from './bridge/bodies.ts';
import type { Bundle } from './bundle.ts';
import type { Limits } from './limits.ts';
import type { RequestChain } from './loops.ts';
import type { StackMapper } from './sourcemap.ts';

/** One deployed version of a tenant's script. Instances (isolates) are made from it on demand. */
export interface WorkerVersion {
  /** `<tenant>@<bundle hash prefix>` */
  id: string;
  tenant: string;
  /** The account it belongs to (src/runtime/accounts.ts). */
  account: string;
  name: string;
  bundle: Bundle;
  vars: Record<string, VarValue>;
  compatibilityFlags: string[];
  /** `compatibility_date` (YYYY-MM-DD; undefined: none given), which gates some behaviour. */
  compatibilityDate: string | undefined;
  /** Every binding on `env` besides vars (src/runtime/bindings/ gives each its host side). */
  bindings: BindingConfig[];
  durableObjectClasses: DurableObjectClass[];
  /** Its static assets, served before the worker runs (null: none). */
  assets: AssetServer | null;
  limits: Limits;
  mapper: StackMapper;
}

/** A request as the runtime receives it from the PoP (already validated HTTP). */
export interface WorkerRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** Flat [name, value, ...], names lower-case. */
  headers: string[];
  cf: Record<string, unknown>;
  body: ChunkSource | Uint8Array | null;
  /**
   * Set by the host for a request one worker makes to another (service binding, Durable
   * Object): its place in the request's chain. Absent: a request entering the platform, whose
   * chain comes from its CF-EW-Via header (src/runtime/loops.ts).
   */
  chain?: RequestChain;
  /** Where the invocation records its span: the request's trace (set by the PoP front). */
  trace?: TraceScope;
}

export interface WorkerResponse {
  status: number;
  statusText: string;
  headers: string[];
  body: Uint8Array | ChunkSource | null;
  /** Set on a 101 response that carries a WebSocket: the PoP upgrades and attaches. */
  webSocket?: WorkerWebSocket;
  /** What the worker's subrequests and KV reads went through before the response headers. */
  hops?: RequestHops;
}

// The hops a request's work took, and where a host call records them (Server-Timing,
// Outpost-Shield, Outpost-Do-Location): src/observability/hops.ts.
export type { HopRecorder, RequestHops } from '../observability/index.ts';

import type { RequestHops, TraceScope } from '../observability/index.ts';

export interface WorkerWebSocket {
  /** Bridge the upgraded client connection to the worker's end. */
  attach(socket: import('ws').WebSocket): void;
  /** The upgrade could not happen (not a WebSocket request): the worker's end sees a close. */
  refuse(reason: string): void;
}
