/**
 * The isolate's asynchronous host calls, host side (the isolate's half: src/runtime/isolate/
 * bridge.ts, callHost). Calls made close together cross together, through one ignored callback,
 * as a flat list `[call id, invocation, which, args, span, ...]`: a crossing per call was a
 * thread switch per call on one core. (A call whose arguments hold an object tenant code could
 * change crosses alone, at once, in a list of its own.) The outcome, `{ v }` or `{ e }`, goes
 * back in a task of its own (IsolateCalls.deliver to the isolate's hostDone), whose stray
 * rejections are logged like a request's. A call never fails to answer: whatever it throws, or
 * a call the host does not know, is an `{ e }` outcome. The arguments: the call's id, the
 * invocation it is made for (src/runtime/isolate/context.ts), which call, its arguments, and
 * the custom span active where the worker made it (0: none).
 */
import ivm from 'isolated-vm';
import type { IsolateCalls } from '../calls.ts';
import { crossingName, isolateError } from './named-error.ts';

/** What of an isolate's host (syscalls.ts, IsolateHost) its posted calls use here. */
export interface PostedHost {
  /** The custom span the call starting now records under (see startPosted). */
  active: { ctx: unknown; span: number } | null;
  slot: { done?: ivm.Reference };
  calls: IsolateCalls;
}

type PostedCall<H> = (h: H, ctx: unknown, ...args: any[]) => unknown;

/** null when the call may start now, else when it may (./output-gate.ts). */
type Gate = (which: number, args: unknown[]) => Promise<void> | null;

/** Calls one list carries at most (isolate/bridge.ts, POST_BATCH). */
const MAX_CALLS = 4096;

export function postedCalls<H extends PostedHost>(
  h: H,
  gate: Gate,
  table: readonly PostedCall<H>[],
): ivm.Callback {
  return new ivm.Callback(
    (list: unknown) => {
      // The prelude sends at most MAX_CALLS calls in one list; a longer one (a tampered prelude:
      // a sparse list's length could be billions) is not walked.
      if (!Array.isArray(list) || list.length > MAX_CALLS * 5) return;
      h.calls.postBatches++;
      h.calls.posted += Math.floor(list.length / 5);
      for (let i = 0; i + 4 < list.length; i += 5)
        startOne(h, gate, table, list[i], list[i + 1], list[i + 2], list[i + 3], list[i + 4]);
    },
    { ignored: true },
  );
}

function startOne<H extends PostedHost>(
  h: H,
  gate: Gate,
  table: readonly PostedCall<H>[],
  id: unknown,
  ctx: unknown,
  which: unknown,
  args: unknown,
  span: unknown,
): void {
  if (typeof id !== 'number') return;
  let out: Promise<unknown>;
  try {
    const fn = typeof which === 'number' ? table[which] : undefined;
    if (!fn) throw isolateError('TypeError: unknown syscall');
    // A copied array keeps its length: a sparse one must not be walked (bridge/lists.ts).
    if (!Array.isArray(args) || args.length > 64) throw isolateError('TypeError: invalid syscall arguments');
    const ready = gate(which as number, args);
    out =
      ready === null
        ? Promise.resolve(startPosted(h, fn, ctx, args, span))
        : ready.then(() => startPosted(h, fn, ctx, args as unknown[], span));
  } catch (err) {
    out = Promise.reject(err);
  }
  out.then(
    (v) => answerPosted(h, id, { v }),
    (err) => answerPosted(h, id, failure(err)),
  );
}

/**
 * How an async syscall's failure travels: `{ e: message }`, with the error's name when it has
 * one the prelude can rebuild. Total: whatever was thrown (even a value with no string form),
 * an outcome comes back, so the call is always answered.
 */
function failure(err: unknown): { e: string; n?: string } {
  try {
    const e = err as Error;
    // The name travels when it is a standard one the prelude can rebuild (DOMException
    // names from WebCrypto, TypeError…); isolateError()s carry theirs in the message.
    const n = crossingName(e);
    return n !== null ? { e: String(e.message), n } : { e: String(e?.message ?? err) };
  } catch {
    return { e: 'internal error' };
  }
}

/** A result that cannot be copied into the isolate is answered with that error instead. */
function answerPosted(h: PostedHost, id: number, outcome: unknown): void {
  if (h.slot.done)
    h.calls.deliver(h.slot.done, [id, outcome], [id, { e: 'the result of the call could not be copied' }]);
}

/**
 * Start a posted call. The custom span the isolate said was active where the call was made
 * (isolate/bridge.ts) is the isolate host's `active` while it starts: what the call records
 * goes under it (Slot.callScope, read by the owner's `hops(ctx)`), as Workers nests platform
 * spans in custom ones. A call that records after an await of its own stays under the
 * worker's span.
 */
function startPosted<H extends PostedHost>(
  h: H,
  fn: PostedCall<H>,
  ctx: unknown,
  args: unknown[],
  span: unknown,
): unknown {
  h.active = typeof span === 'number' && span > 0 ? { ctx, span } : null;
  try {
    return fn(h, ctx, ...args);
  } finally {
    h.active = null;
  }
}
