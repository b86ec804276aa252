/**
 * An invocation of a worker isolate (a request, an RPC call, an object's event, a scheduled or
 * queue event): what the limits, the request context and the live tail keep about it while it
 * may still do I/O (src/runtime/instance.ts runs them).
 */
import {
  type Attrs,
  type DeferredSpan,
  epochOf,
  NO_TRACE,
  nowMs,
  type OpenSpan,
  type RequestHops,
  SpanKind,
  type TailDraft,
  type TailOutcome,
  type TraceScope,
} from '../observability/index.ts';
import { LimitExceededError } from './errors.ts';
import { freshChain, type RequestChain } from './loops.ts';

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
const NO_SPAN = NO_TRACE.start('', SpanKind.INTERNAL);

/**
 * An invocation record. Its span is made only when needed (DeferredSpan, src/observability/
 * trace.ts): when its work records under it (a subrequest, a KV call, a custom span), or when its
 * trace is kept — most traced requests are neither, and their worker span is never built.
 */
export class Invocation implements DeferredSpan {
  readonly id = nextRequestId++;
  /** When it began (or its Workflow step began), performance.now() ms: the wall-clock limit runs from here. */
  startedAt = performance.now();
  /** Its share of the isolate's CPU while it was in flight, ns (cpu-meter.ts). */
  cpuUsed = 0n;
  subrequests = 0;
  breach: LimitExceededError | null = null;
  /** True once headers are out: wall-time limit no longer applies. */
  responded = false;
  /** Its wall-clock limit when not the version's (a Workflow step's). */
  wallMs: number | undefined = undefined;
  /** A Workflow run: the token its step calls must carry (src/runtime/bindings/workflow.ts). */
  runToken: string | undefined = undefined;
  /** Id of the incoming body in the registry, cancelled when the request finishes. */
  bodyId: number | null = null;
  /** A request's body on its way to the isolate: whole, or its id in the registry (until answered). */
  body: ArrayBuffer | number | null = null;
  /** What its subrequests and KV operations went through (Server-Timing). */
  hops: RequestHops = { hops: [], shield: [], objects: [] };
  /** Its live-tail event, collected only when someone tails this worker (src/observability/tail.ts). */
  tail: TailDraft | null = null;
  /** Reasons it is still live: its response, its waitUntil work, its WebSocket (WorkerInstance's #release). */
  holds = 1;
  /** What log lines name it by: the request's cf-ray when it has one, else the invocation id. */
  label: string;
  /** The first invocation of its isolate's load (a cold start). */
  cold = false;
  /** Its span once made (NO_SPAN untraced, or until made). */
  #span: OpenSpan = NO_SPAN;
  /** Where its span belongs until it is made; null once made, or untraced. */
  #under: TraceScope | null = null;
  /** When its work ended (epoch ms; 0: still running), how, and its CPU then, for a span made after. */
  #endedAt = 0;
  #error: string | undefined = undefined;
  #cpuMs = 0;

  /**
   * `under`: where its span belongs (none: its request is not traced); `name` and `attrs` (an
   * RPC's method) are the span's, `worker` names the worker in its attributes.
   */
  constructor(
    label: string | undefined,
    /** Its place in its request's chain: the loop limits (src/runtime/loops.ts). */
    readonly chain: RequestChain,
    under: TraceScope | undefined,
    readonly worker: string,
    private readonly spanName: string,
    private readonly spanAttrs: Attrs | undefined,
  ) {
    this.label = label ?? String(this.id);
    if (under?.recording) {
      this.#under = under;
      if (!under.defer(this)) this.materialize();
    }
  }

  /** Its span in the request's trace (a no-op with tracing off), made now if it was waiting. */
  get span(): OpenSpan {
    if (this.#under !== null) this.materialize();
    return this.#span;
  }

  materialize(): void {
    const under = this.#under;
    if (under === null) return;
    this.#under = null;
    under.undefer(this);
    this.#span = under.start(this.spanName, SpanKind.INTERNAL, this.spanAttrs, epochOf(this.startedAt));
    if (this.#endedAt !== 0) this.#close();
  }

  /** Its work is over: its span ends (or will, at this time, if it is ever made). */
  endSpan(error: string | undefined): void {
    if (this.#endedAt !== 0) return;
    this.#endedAt = nowMs();
    this.#error = error;
    // Its CPU so far: waitUntil work or a WebSocket may keep it live (and charged) after.
    this.#cpuMs = Number(this.cpuUsed) / 1e6;
    if (this.#under === null && this.#span !== NO_SPAN) this.#close();
  }

  #close(): void {
    this.#span.end(
      {
        'faas.name': this.worker,
        'faas.coldstart': this.cold,
        'outpost.isolate.cold': this.cold,
        'outpost.worker.cpu_ms': this.#cpuMs,
      },
      this.#error,
      this.#endedAt,
    );
  }
}

/** An invocation record (see Invocation). */
export type Active = Invocation;

/**
 * A new invocation record of `worker`: `label` names it in log lines (default: its id); its span
 * (`name`, `attrs`) goes under `under` when that is traced.
 */
export function newInvocation(
  worker: string,
  label?: string,
  chain: RequestChain = freshChain(),
  under?: TraceScope,
  name = 'outpost.worker',
  attrs?: Attrs,
): Active {
  return new Invocation(label, chain, under, worker, name, attrs);
}
