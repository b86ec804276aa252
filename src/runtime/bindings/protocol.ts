/**
 * The host↔isolate interface of every binding, declared once. The host's registry
 * (./index.ts) and the isolate's (src/runtime/isolate/bindings/index.ts) both compile against
 * these types (this file is in tsconfig.json and tsconfig.isolate.json, and imports only the
 * storage parts' type-only files), so
 * an operation one side calls and the other does not answer, or answers with another shape,
 * fails to compile.
 *
 * A binding's calls cross as one async syscall, `binding(name, op, ...args)`: the host looks the
 * name up among the bindings of the calling worker and runs that binding's `op`. Arguments are
 * untrusted on the host (tenant code can call the syscall with anything), so host handlers take
 * `unknown[]` and check them; results are plain data copied into the isolate.
 */

// Plain-data shapes the storage parts define (type-only files, compiled by both tsconfigs).
import type { DataPointData } from '../../analytics/types.ts';
import type { D1Meta, D1Result } from '../../d1/types.ts';
import type { R2HexChecksums, R2HttpFields, R2ObjectMeta } from '../../r2/types.ts';

export type { D1Meta, D1Result, DataPointData, R2HttpFields };

/** One message a producer sends: its body as its content type serialized it. */
export interface QueueSendData {
  body: ArrayBuffer;
  contentType: 'json' | 'text' | 'bytes' | 'v8';
  delaySeconds: number;
}

/** An error as it crosses: its class name and message. */
export interface ErrorData {
  name: string;
  message: string;
}

/** A `step.do` config resolved in the isolate (durations in ms); `delayMs` is 0 for a delay function. */
export interface StepConfigData {
  limit: number;
  delayMs: number;
  backoff: 'constant' | 'linear' | 'exponential';
  timeoutMs: number;
}

/** The longest wait a Workflow takes (Cloudflare: a sleep of at most 365 days), ms. */
export const MAX_WORKFLOW_WAIT_MS = 365 * 86_400_000;

/**
 * The delay before the next attempt after `attempts` failed ones (workers-types' WorkflowBackoff),
 * at most a year: computed the same way in the isolate and, for an attempt its run never ended,
 * by the engine.
 */
export function stepBackoffMs(config: StepConfigData, attempts: number): number {
  const ms =
    config.backoff === 'exponential'
      ? config.delayMs * 2 ** (attempts - 1)
      : config.backoff === 'linear'
        ? config.delayMs * attempts
        : config.delayMs;
  return Math.min(ms, MAX_WORKFLOW_WAIT_MS);
}

/** One call of a Workflow run's `step` to the engine (src/background/workflows/engine.ts). */
export type WorkflowStepCall =
  | { op: 'begin'; name: string; count: number; config: StepConfigData }
  | { op: 'end'; name: string; count: number; attempt: number; ok: true; value: unknown }
  | {
      op: 'end';
      name: string;
      count: number;
      attempt: number;
      ok: false;
      error: ErrorData;
      /** No more attempts (a NonRetryableError, or the last one). */
      final: boolean;
      /** The delay before the next attempt, ms (the isolate computed it from the config). */
      delayMs: number;
    }
  | { op: 'sleep'; name: string; count: number; until: number }
  | { op: 'wait'; name: string; count: number; type: string; timeoutMs: number };

/** The engine's answer to a step call. */
export type WorkflowStepReply =
  /** A `do` step that completed before: its output. */
  | { kind: 'output'; value: unknown }
  /** The step failed for good (retries spent, or a wait timed out): throw this. */
  | { kind: 'error'; error: ErrorData }
  /** Run the callback: attempt number `attempt`. */
  | { kind: 'run'; attempt: number }
  /** The step's result was stored. */
  | { kind: 'ok' }
  /** A sleep that is over. */
  | { kind: 'done' }
  /** An event for a waitForEvent. */
  | { kind: 'event'; event: { payload: unknown; timestamp: number; type: string } }
  /** Not due yet (a sleep, a retry delay, an event): the run ends here and is run again later. */
  | { kind: 'wait' }
  /** The instance was paused, terminated or restarted: this run stops here. */
  | { kind: 'stop' };

/** What the engine hands a Workflow run (the `workflow` handler event). */
export interface WorkflowRunArgs {
  className: string;
  /** The defining worker's binding of this Workflow: its step calls go through it. */
  binding: string;
  /** This run's token: the engine answers step calls only of the run it is. */
  token: string;
  instanceId: string;
  workflowName: string;
  payload: unknown;
  /** When the instance was created, ms. */
  timestamp: number;
  /** Steps one run may take. */
  steps: number;
}

/** How a run ended: returned, threw, or stopped at a step that is not due. */
export type WorkflowRunOutcome =
  | { kind: 'complete'; value: unknown }
  | { kind: 'errored'; error: ErrorData }
  | { kind: 'suspended' };

/** An instance's status as `instance.status()` answers it. */
export interface WorkflowStatusData {
  status: string;
  error?: ErrorData;
  output?: unknown;
}

/** A response as it crosses into the isolate: small bodies inline, others a host stream id. */
export interface CrossingResponse {
  status: number;
  statusText: string;
  headers: string[];
  url: string;
  redirected: boolean;
  body: number | ArrayBuffer | null;
  /** A WebSocket the callee answered with (a socket id the caller hands on). */
  webSocket?: string;
}

/** A request as the isolate sends it: method, URL, flat headers, whole body. */
export type CrossingRequest = [method: string, url: string, headers: string[], body: ArrayBuffer | null];

export interface KvValue {
  value: ArrayBuffer;
  metadata: string | null;
}

/**
 * A single-key read: the value (null: none) and what lets the isolate keep it — until when the
 * PoP's entry holds, the key's expiration, and the key's slot with the value it had (src/kv/pop.ts).
 */
export type KvRead = [
  value: KvValue | null,
  until: number,
  expiration: number | null,
  slots: SharedArrayBuffer | null,
  slot: number,
  epoch: number,
];

/** One statement as it crosses: SQL, bound values, how rows come back. */
export type D1Statement = [sql: string, params: unknown[], rows: 'objects' | 'raw' | 'raw+columns'];

/**
 * R2 (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/): objects as plain
 * data (dates as ms since the epoch, digests as hex); the isolate builds R2Object from them.
 */
/** Digests as lower-case hex; an object's metadata as src/r2/ answers it (one declaration). */
export type R2Checksums = R2HexChecksums;
export type R2ObjectData = R2ObjectMeta;

/** onlyIf as it crosses: the R2Conditional object (dates as ms), or the four conditional headers. */
export type R2OnlyIf =
  | {
      etagMatches?: string;
      etagDoesNotMatch?: string;
      uploadedBefore?: number;
      uploadedAfter?: number;
      secondsGranularity?: boolean;
    }
  | {
      headers: {
        'if-match'?: string;
        'if-none-match'?: string;
        'if-modified-since'?: string;
        'if-unmodified-since'?: string;
      };
    };

/** A range: offset and/or length, a suffix, or a Range header's value. */
export type R2RangeData = { offset?: number; length?: number; suffix?: number } | { header: string };

export interface R2PutData {
  onlyIf?: R2OnlyIf;
  httpMetadata?: R2HttpFields;
  customMetadata?: Record<string, string>;
  /** At most one. */
  checksums?: R2Checksums;
  storageClass?: string;
}

export interface R2ListData {
  prefix?: string;
  delimiter?: string;
  cursor?: string;
  startAfter?: string;
  limit?: number;
  include?: string[];
}

/**
 * A get()'s answer: the object, and its body inline (small), as a host stream id (larger), or
 * null when onlyIf did not hold (R2 then answers the object without a body).
 */
export interface R2GetData {
  object: R2ObjectData;
  body: number | ArrayBuffer | null;
}

/** What each binding type gives the isolate to build `env[name]`, and the calls it answers. */
export interface BindingProtocol {
  service: {
    descriptor: { service: string; entrypoint?: string };
    ops: {
      fetch(...request: CrossingRequest): CrossingResponse;
      rpc(method: string, args: unknown[]): unknown;
    };
  };
  kv: {
    descriptor: Record<never, never>;
    ops: {
      get(key: string, cacheTtl: number | undefined): KvRead;
      getMany(keys: string[], cacheTtl: number | undefined): [string, KvValue | null][];
      put(
        key: string,
        value: ArrayBuffer,
        options: { expiration?: number; expirationTtl?: number; metadata?: string },
      ): void;
      delete(key: string): void;
      list(options: { prefix?: string; cursor?: string; limit?: number }): {
        keys: unknown[];
        list_complete: boolean;
        cursor?: string;
      };
    };
  };
  do: {
    descriptor: Record<never, never>;
    ops: {
      fetch(
        id: string,
        name: string | null,
        hint: string | null,
        ...request: CrossingRequest
      ): CrossingResponse;
      rpc(id: string, name: string | null, hint: string | null, method: string, args: unknown[]): unknown;
    };
  };
  unsafe_eval: { descriptor: Record<never, never>; ops: Record<string, never> };
  d1: {
    descriptor: Record<never, never>;
    ops: {
      /** Statements in one transaction (batch), or one statement. */
      query(statements: D1Statement[]): D1Result[];
      /** Semicolon-separated SQL without parameters: `{ count, duration }`. */
      exec(sql: string): { count: number; duration: number };
      dump(): ArrayBuffer;
    };
  };
  assets: {
    descriptor: Record<never, never>;
    ops: { fetch(...request: CrossingRequest): CrossingResponse };
  };
  r2: {
    descriptor: Record<never, never>;
    ops: {
      head(key: string): R2ObjectData | null;
      get(key: string, options: { onlyIf?: R2OnlyIf; range?: R2RangeData }): R2GetData | null;
      /** The isolate reads the whole body first: it crosses as one ArrayBuffer. */
      put(key: string, value: ArrayBuffer, options: R2PutData): R2ObjectData | null;
      delete(keys: string | string[]): void;
      list(options: R2ListData): {
        objects: R2ObjectData[];
        delimitedPrefixes: string[];
        truncated: boolean;
        cursor?: string;
      };
      createMultipartUpload(
        key: string,
        options: {
          httpMetadata?: R2HttpFields;
          customMetadata?: Record<string, string>;
          storageClass?: string;
        },
      ): string;
      uploadPart(
        key: string,
        uploadId: string,
        partNumber: number,
        value: ArrayBuffer,
      ): { partNumber: number; etag: string };
      completeMultipartUpload(
        key: string,
        uploadId: string,
        parts: { partNumber: number; etag: string }[],
      ): R2ObjectData;
      abortMultipartUpload(key: string, uploadId: string): void;
    };
  };
  analytics_engine: {
    descriptor: Record<never, never>;
    ops: {
      /** The data points one invocation wrote in one turn (writeDataPoint() is fire-and-forget). */
      write(points: DataPointData[]): void;
    };
  };
  ratelimit: {
    descriptor: Record<never, never>;
    ops: {
      /** One `limit({ key })`: counted (when allowed) and decided on the host. */
      limit(key: string): { success: boolean };
    };
  };
  queue: {
    descriptor: Record<never, never>;
    ops: {
      /** One send() or sendBatch(): bodies serialized in the isolate, checked again on the host. */
      send(messages: QueueSendData[]): void;
    };
  };
  workflow: {
    descriptor: Record<never, never>;
    ops: {
      /** New instances ({ id?, params? } each): their ids, and why each one that failed did. */
      create(instances: { id?: string; params?: unknown }[]): {
        ids: (string | null)[];
        errors: { index: number; id?: string; message: string }[];
      };
      /** Throws `instance.not_found` unless the instance exists. */
      get(id: string): void;
      status(id: string): WorkflowStatusData;
      control(id: string, action: 'pause' | 'resume' | 'terminate' | 'restart'): void;
      sendEvent(id: string, type: string, payload: unknown): void;
      /** A running instance's step (the token names its run). */
      step(token: string, call: WorkflowStepCall): WorkflowStepReply;
    };
  };
  unsupported: { descriptor: { key: string; what: string }; ops: Record<string, never> };
}

export type BindingKind = keyof BindingProtocol;
export type OpsOf<T extends BindingKind> = BindingProtocol[T]['ops'];
export type DescriptorOf<T extends BindingKind> = { type: T } & BindingProtocol[T]['descriptor'];
/** What the host hands the prelude per binding name. */
export type AnyDescriptor = { [T in BindingKind]: DescriptorOf<T> }[BindingKind];
