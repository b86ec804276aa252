/**
 * An invocation of a worker isolate (a request, an RPC call, an object's event, a scheduled or
 * queue event): what the limits, the request context and the live tail keep about it while it
 * may still do I/O (src/runtime/instance.ts runs them).
 */
import {
  NO_TRACE,
  type OpenSpan,
  type RequestHops,
  SpanKind,
  type TailDraft,
  type TailOutcome,
} from '../observability/index.ts';
import { LimitExceededError } from './errors.ts';
import { freshChain, type RequestChain } from './loops.ts';

export interface Active {
  id: number;
  /** When it began (or its Workflow step began), performance.now() ms: the wall-clock limit runs from here. */
  startedAt: number;
  /** Its share of the isolate's CPU while it was in flight, ns (cpu-meter.ts). */
  cpuUsed: bigint;
  subrequests: number;
  breach: LimitExceededError | null;
  /** True once headers are out: wall-time limit no longer applies. */
  responded: boolean;
  /** Its wall-clock limit when not the version's (a Workflow step's). */
  wallMs?: number;
  /** A Workflow run: the token its step calls must carry (src/runtime/bindings/workflow.ts). */
  runToken?: string;
  /** Id of the incoming body in the registry, cancelled when the request finishes. */
  bodyId: number | null;
  /** What its subrequests and KV operations went through (Server-Timing). */
  hops: RequestHops;
  /** Its span in the request's trace (a no-op with tracing off): its work records under it. */
  span: OpenSpan;
  /** Its live-tail event, collected only when someone tails this worker (src/observability/tail.ts). */
  tail: TailDraft | null;
  /** Reasons it is still live: its response, its waitUntil work, its WebSocket (WorkerInstance's #release). */
  holds: number;
  /** What log lines name it by: the request's cf-ray when it has one, else the invocation id. */
  label: string;
  /** Its place in its request's chain: the loop limits (src/runtime/loops.ts). */
  chain: RequestChain;
}

let nextRequestId = 1;

/** Console levels a tail event keeps as they were called (Workers' TraceLog levels). */
export const TAIL_LEVELS = new Set(['log', 'debug', 'info', 'warn', 'error']);

/** How an invocation that failed ended, in Workers' tail outcomes. */
export function tailOutcome(err: unknown): TailOutcome {
  if (err instanceof LimitExceededError)
    return err.limit === 'cpu'
      ? 'exceededCpu'
      : err.limit === 'memory'
        ? 'exceededMemory'
        : err.limit === 'wall'
          ? 'canceled'
          : 'exception';
  return 'exception';
}

/** The span of an invocation nobody traces. */
export const NO_SPAN = NO_TRACE.start('', SpanKind.INTERNAL);

/** A new invocation record: `label` names it in log lines (default: its id). */
export function newInvocation(
  label?: string,
  chain: RequestChain = freshChain(),
  span: OpenSpan = NO_SPAN,
): Active {
  const a: Active = {
    id: nextRequestId++,
    startedAt: performance.now(),
    cpuUsed: 0n,
    subrequests: 0,
    breach: null,
    responded: false,
    bodyId: null,
    hops: { hops: [], shield: [], objects: [] },
    span,
    tail: null,
    holds: 1,
    label: '',
    chain,
  };
  a.label = label ?? String(a.id);
  return a;
}
