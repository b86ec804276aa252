/**
 * Loop limits, as Workers has them
 * (https://developers.cloudflare.com/workers/observability/errors/#loop-limit, error 1019):
 *
 *  - `CF-EW-Via`: every fetch() subrequest a worker makes carries the number of worker
 *    invocations still allowed down its chain. A request entering a PoP without the header may
 *    invoke 16; each invocation passes on one less; a request that arrives with 0 is refused
 *    (508 Loop Detected) before any worker runs. So a worker fetching itself through the PoP's
 *    public address, or two workers fetching each other, stop after 16 invocations.
 *  - Service bindings (and Durable Object calls) spend the same count: the callee's count is the
 *    caller's minus one. They also share one budget of 32 worker invocations per request
 *    (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/#limits),
 *    so fan-out (A calls B ten times, each B calls C ten times) is bounded too.
 *
 * The count is the platform's: the host sets the header on each subrequest from the invocation
 * that made it, replacing whatever the worker wrote, and a service binding's callee takes its
 * count from its caller, not from the request's headers. A client may send the header itself:
 * it is honoured only downwards (at most 16), so a client can shorten its own request's chain,
 * and fail only that request, but never lengthen one.
 */

import type { TraceScope } from '../observability/index.ts';
import { NamedError } from './bridge/named-error.ts';
import { OutpostError } from './errors.ts';

export const LOOP_HEADER = 'cf-ew-via';
/** Worker invocations a chain of fetch() subrequests may make (Workers: 16). */
export const MAX_LOOP_HOPS = 16;
/** Worker invocations one request may make through service bindings (Workers: 32). */
export const MAX_SERVICE_INVOCATIONS = 32;

/** Where an invocation stands in its request's chain (host-side only, never from the worker). */
export interface RequestChain {
  /** Invocations still allowed down this chain, this one included. */
  hops: number;
  /** Worker invocations of the whole request tree through bindings, shared along it. */
  tree: { invocations: number };
  /** The span a callee's invocation records under (the call's, set by the caller's bridge). */
  trace?: TraceScope;
}

/** A request that hit the loop limit, answered 508 by the PoP. */
export class LoopLimitError extends OutpostError {
  constructor(message: string) {
    super('LOOP_LIMIT', message);
    this.name = 'LoopLimitError';
  }
}

/** The chain of a request entering the platform: from its CF-EW-Via, capped at MAX_LOOP_HOPS. */
export function chainFromHeaders(headers: string[]): RequestChain {
  let hops = MAX_LOOP_HOPS;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== LOOP_HEADER) continue;
    const v = headers[i + 1].trim();
    // Malformed values are ignored, as a proxy on the way may have mangled them.
    if (/^\d{1,6}$/.test(v)) hops = Math.min(hops, Number(v));
  }
  return { hops, tree: { invocations: 1 } };
}

/** Throws when a request arrives with no invocations left. */
export function checkEntry(chain: RequestChain): void {
  if (chain.hops <= 0)
    throw new LoopLimitError(
      `Worker subrequest loop (error 1019): this request arrived through ${MAX_LOOP_HOPS} worker invocations (${LOOP_HEADER}: 0); a worker fetching itself, or workers fetching each other, is stopped here`,
    );
}

/** The value of CF-EW-Via on a fetch() subrequest made by an invocation with `chain`. */
export function outgoingHops(chain: RequestChain): string {
  return String(Math.max(0, chain.hops - 1));
}

/**
 * The chain of a service binding (`invocation`: counted against MAX_SERVICE_INVOCATIONS) or
 * Durable Object call (not counted: an object call is a subrequest, as on Workers) made from
 * `chain`; throws in the caller past a limit.
 */
export function calleeChain(chain: RequestChain, what: string, invocation: boolean): RequestChain {
  if (chain.hops - 1 <= 0)
    throw new NamedError(
      `Worker subrequest loop (error 1019): ${what} would be the ${MAX_LOOP_HOPS + 1}th worker invocation in a chain (limit ${MAX_LOOP_HOPS})`,
      'Error',
    );
  if (invocation && chain.tree.invocations >= MAX_SERVICE_INVOCATIONS)
    throw new NamedError(
      `Too many worker invocations: ${what} would be the ${MAX_SERVICE_INVOCATIONS + 1}th in one request (limit ${MAX_SERVICE_INVOCATIONS}, through service bindings)`,
      'Error',
    );
  if (invocation) chain.tree.invocations++;
  return { hops: chain.hops - 1, tree: chain.tree };
}

/** The chain of an invocation with no request behind it (an alarm, a hibernated WebSocket's event). */
export function freshChain(): RequestChain {
  return { hops: MAX_LOOP_HOPS, tree: { invocations: 1 } };
}
