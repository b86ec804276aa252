/**
 * Outcomes of entry calls on their way to the host (src/runtime/calls.ts, `complete`).
 *
 * Every outcome that settles before the flush microtask runs travels in one
 * `complete([id, ok, value, ...])`: a stateless worker's batch of requests answers in one
 * crossing. The task ring (ring.ts) runs each of its items as a task of its own, though, so
 * there each outcome used to flush alone: a hot Durable Object's every event, and each answer
 * its caller's continuation produced, was a crossing to the host's main thread of its own — on
 * one core a thread switch each. Outcomes reported while more ring items wait for their task
 * are therefore held until the batch's last task has run, and sent together then; never longer
 * than HOLD_MS (a batch of slow events must not hold a finished one's answer for its whole
 * length), nor more than HOLD_MAX of them.
 *
 * An outcome held past its task must leave as it was when reported: an RPC result or handler
 * value is the tenant's object, which a later task could change. Such a value is copied when it
 * is held (an ExternalCopy, which the host unwraps); a primitive, an error (made into strings
 * here) and the prelude's own tuples (a response, a body chunk: copies already) need none.
 */
import { host, onBeforeCrossing, sendPosted } from './bridge.ts';
import { realTime } from './clock.ts';
import { resolvedIntrinsic, thenIntrinsic } from './context.ts';
import { checkDepth } from './depth.ts';
import { ringWaiting } from './ring.ts';

export type Complete = (list: unknown[]) => void;

/** How long an outcome may wait for the rest of its ring batch, ms (the clock moves by whole ms). */
const HOLD_MS = 4;
/** How many outcomes may wait: past this the batch so far is sent. */
const HOLD_MAX = 256;

let complete: Complete = () => {};
// No prototype: a tenant's Array.prototype index setters or replaced push must not see or change
// the outcomes ([id, ok, value, ...]) on their way out.
const setPrototypeOf = Object.setPrototypeOf;
let outbox: unknown[] = setPrototypeOf([], null);
/** The copies made of held results (keepAsIs), released once the host has its own. */
let copies: { release(): void }[] = setPrototypeOf([], null);
let flushQueued = false;
/**
 * In a Durable Object's isolate the isolate's crossings keep the order it made them in: held
 * outcomes leave before any later crossing (bridge.ts `onBeforeCrossing`), and calls made
 * before an outcome leave before it is held. The host's output gate holds an answer for the
 * commits it has seen when the answer arrives (src/durable-objects/output-gate.ts): so a held
 * answer waits for its own event's writes and those before, never for a later event's.
 */
let inOrder = false;
/** When the oldest outcome now held was reported (real time, ms). */
let heldSince = 0;

/** Options with no prototype: isolated-vm must not read a tenant's Object.prototype properties. */
const NO_OPTIONS = Object.freeze({ __proto__: null });

/** A Durable Object's isolate (dispatch.ts): crossings leave in the order they were made. */
export function keepCrossingOrder(): void {
  inOrder = true;
  onBeforeCrossing(sendHeld);
}

/** What is held leaves now, ahead of a crossing about to be made. */
function sendHeld(): void {
  if (outbox.length !== 0) flush();
}

/** Set once, by the isolate's init, before tenant code runs. */
export function setComplete(c: Complete): void {
  complete = c;
}

function errorValue(err: unknown): { name: string; message: string; stack: string } {
  try {
    return err instanceof Error
      ? { name: String(err.name), message: String(err.message), stack: String(err.stack) }
      : { name: 'Error', message: String(err), stack: String(err) };
  } catch {
    return { name: 'Error', message: 'an error whose properties could not be read', stack: '' };
  }
}

/** The intrinsic, captured before tenant code runs: the errors made here must not throw. */
const NativeTypeError = TypeError;
const unsent = (message: string) =>
  errorValue(new NativeTypeError(`The worker's result could not be sent: ${message}`));

function flush() {
  flushQueued = false;
  // Sent already, ahead of a crossing (sendHeld).
  if (outbox.length === 0) return;
  const batch = outbox;
  const made = copies;
  outbox = setPrototypeOf([], null);
  copies = setPrototypeOf([], null);
  try {
    send(batch);
  } finally {
    // The callback copied its arguments: the host holds its own handle on each copy.
    for (let i = 0; i < made.length; i++) made[i].release();
  }
}

function send(batch: unknown[]) {
  // Checked here, just before the copy: a value made deeper after report() is caught too.
  for (let i = 0; i + 2 < batch.length; i += 3) {
    if (batch[i + 1] !== true) continue;
    try {
      checkDepth(batch[i + 2], 'The value returned');
    } catch (err) {
      batch[i + 1] = false;
      batch[i + 2] = unsent((err as Error).message);
    }
  }
  // The calls the isolate made before these outcomes reach the host first (in order, those
  // waiting were all made after them: report() sent the earlier ones).
  if (!inOrder) sendPosted();
  try {
    complete(batch);
  } catch {
    // Some value could not be copied to the host (e.g. tampered internals holding functions):
    // send the outcomes one by one so only the bad one fails.
    for (let i = 0; i < batch.length; i += 3) {
      try {
        complete([batch[i], batch[i + 1], batch[i + 2]]);
      } catch (err) {
        complete([batch[i], false, unsent(String((err as Error)?.message))]);
      }
    }
  }
}

function queueFlush(): void {
  flushQueued = true;
  thenIntrinsic(resolvedIntrinsic(), flush);
}

/**
 * Outcome `at` is held: a tenant value in it (`{ value, … }`, an RPC result or a handler's
 * value) is copied now. One that cannot be copied fails its call now, as it would have at once.
 */
function keepAsIs(at: number): void {
  const r = outbox[at + 2] as { value?: unknown } | null;
  if (r === null || typeof r !== 'object') return;
  const v = r.value;
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return;
  try {
    checkDepth(r, 'The value returned');
    const copy = new host.ivm.ExternalCopy(r, NO_OPTIONS);
    copies[copies.length] = copy;
    outbox[at + 2] = copy;
  } catch (err) {
    outbox[at + 1] = false;
    outbox[at + 2] = unsent(String((err as Error)?.message));
  }
}

/**
 * Report call `id`'s outcome. `tenantValue`: a successful outcome is `{ value, … }` holding a
 * value of the tenant's (copied if it must wait).
 */
export function report(id: unknown, ok: boolean, value: unknown, tenantValue = false): void {
  // In order: the calls made before this outcome leave now, after the outcomes before them.
  if (inOrder) sendPosted();
  const at = outbox.length;
  outbox[at] = id;
  outbox[at + 1] = ok;
  outbox[at + 2] = ok ? value : errorValue(value);
  if (flushQueued) return;
  if (ringWaiting() && at < HOLD_MAX * 3) {
    if (at === 0) heldSince = realTime();
    if (ok && tenantValue) keepAsIs(at);
    return;
  }
  queueFlush();
}

/**
 * After each task of the ring (ring.ts): what is held goes once no item waits (`last`), or
 * once the oldest has waited HOLD_MS.
 */
export function afterRingTask(last: boolean): void {
  if (flushQueued || outbox.length === 0) return;
  // A clock that stepped back ends the wait too.
  const waited = realTime() - heldSince;
  if (last || waited >= HOLD_MS || waited < 0) queueFlush();
}
