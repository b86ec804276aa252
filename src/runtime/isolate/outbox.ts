/**
 * Outcomes of entry calls on their way to the host (src/runtime/calls.ts, `complete`).
 *
 * Every outcome that settles before the flush microtask runs travels in one
 * `complete([id, ok, value, ...])`: a stateless worker's batch of requests answers in one
 * crossing. The task ring (ring.ts) runs each of its items as a task of its own, though, so
 * there each outcome used to flush alone: a hot Durable Object's every event, and each answer
 * its caller's continuation produced, was a crossing to the host's main thread of its own — on
 * one core a thread switch each. Outcomes reported while more ring items wait for their task
 * are therefore held until the batch's last task has run, and sent together then; no more than
 * HOLD_MAX of them, and none past the first task boundary after HOLD_MS (a batch of slow events
 * must not hold a finished one's answer for its whole length). What it costs: one task that
 * runs long holds the answers before it for its whole length, and if it breaks a limit they go
 * with the isolate, as the answers still running do (docs/runtime.md, "Batching").
 *
 * An outcome held past its task must leave as it was when reported: an RPC result or handler
 * value is the tenant's object, which a later task could change. Such a value is copied when it
 * is held (an ExternalCopy, which the host unwraps); a primitive, an error (made into strings
 * here) and the prelude's own tuples (a response, a body chunk: copies already) need none.
 * In a Durable Object's isolate what is held is sent ahead of any crossing (below): there every
 * object outcome is copied when reported, so that sending runs no tenant code.
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
/** The copies made of held results (copyNow), released once the host has its own. */
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

/** `err`'s message as text; never throws (a tenant's error may throw from its getters). */
function messageOf(err: unknown): string {
  try {
    return String((err as Error)?.message);
  } catch {
    return 'an error whose message could not be read';
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
    send(batch, made);
  } finally {
    // The callback copied its arguments: the host holds its own handle on each copy.
    for (let i = 0; i < made.length; i++) made[i].release();
  }
}

/** `v` is one of `made`: a copy made when reported (copyNow). A list, not a WeakSet (ephemerons per outcome). */
function madeNow(v: unknown, made: readonly unknown[]): boolean {
  for (let i = 0; i < made.length; i++) if (made[i] === v) return true;
  return false;
}

function send(batch: unknown[], made: readonly unknown[]) {
  // Checked here, just before the copy: a value made deeper after report() is caught too.
  for (let i = 0; i + 2 < batch.length; i += 3) {
    if (batch[i + 1] !== true) continue;
    const v = batch[i + 2];
    // A copy made when reported was checked then, and cannot change.
    if (v !== null && typeof v === 'object' && madeNow(v, made)) continue;
    try {
      checkDepth(v, 'The value returned');
    } catch (err) {
      batch[i + 1] = false;
      batch[i + 2] = unsent(messageOf(err));
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
        complete([batch[i], false, unsent(messageOf(err))]);
      }
    }
  }
}

function queueFlush(): void {
  flushQueued = true;
  thenIntrinsic(resolvedIntrinsic(), flush);
}

const applyIntrinsic = Reflect.apply;
const isArray = Array.isArray;
const bufferLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')?.get as (
  this: ArrayBuffer,
) => number;

/** What an entry's successful outcome is (index.ts `entry`), which says how it is made ready. */
export const PRELUDE_VALUE = 0;
/** `{ value, waitUntil }` holding a value of the tenant's (an RPC result, a handler's value). */
export const TENANT_VALUE = 1;
/** A response tuple (dispatch.ts serializeResponse), or `{ error, … }` when the handler threw. */
export const RESPONSE = 2;
export type OutcomeKind = typeof PRELUDE_VALUE | typeof TENANT_VALUE | typeof RESPONSE;

/** Set by copyNow when the value could not be copied: the message its call fails with. */
let copyFailed: string | null = null;

/**
 * `v` copied now (an ExternalCopy the host unwraps), or null with `copyFailed` set. The caller
 * lists the copy in `copies` once it is placed: a flush before that would release it unsent.
 */
function copyNow(v: unknown): { release(): void } | null {
  try {
    checkDepth(v, 'The value returned');
    const copy = new host.ivm.ExternalCopy(v, NO_OPTIONS);
    return copy;
  } catch (err) {
    copyFailed = messageOf(err);
    return null;
  }
}

/** A tenant's value that a crossing would have to copy (an object or function). */
function isObject(v: unknown): boolean {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/**
 * In an object's isolate, outcome `v` (of kind `kind`) made into values only this module
 * holds: what was held is sent inside other crossings (onBeforeCrossing), where no tenant code
 * may run, and tenant code that reached an outcome (a `then` getter sees what the prelude's
 * promises resolve to) must not change it once reported. Reading it may run tenant code: now,
 * at report, where that is harmless. A response tuple is read into a fresh one of primitives,
 * a fresh list of strings and a real ArrayBuffer; `{ value, waitUntil }` into a fresh one,
 * copied when its value is an object; anything else that is an object is copied. Throws (the
 * call fails) when a response's body is not a real ArrayBuffer.
 */
function own(v: unknown, kind: OutcomeKind): { value: unknown; copy: { release(): void } | null } {
  if (!isObject(v)) return { value: v, copy: null };
  if (kind === TENANT_VALUE) {
    const w = v as { value: unknown; waitUntil: unknown };
    const fresh = { value: w.value, waitUntil: Number(w.waitUntil) };
    if (!isObject(fresh.value)) return { value: fresh, copy: null };
    const copy = copyNow(fresh);
    return { value: copy, copy };
  }
  if (kind === RESPONSE && isArray(v)) {
    const t = v as unknown[];
    const list = t[2] as unknown[];
    const n = list.length;
    const fields: string[] = setPrototypeOf([], null);
    for (let i = 0; i < n; i++) {
      const f = list[i];
      fields[i] = typeof f === 'string' ? f : String(f);
    }
    let body = t[4];
    if (isObject(body)) {
      // The intrinsic getter throws unless it is a real (not shared) ArrayBuffer.
      applyIntrinsic(bufferLength, body, []);
    } else if (body !== null && typeof body !== 'string' && typeof body !== 'number') body = null;
    const ws = t[6];
    const notes = t[7];
    const fresh = [
      Number(t[0]),
      String(t[1]),
      fields,
      String(t[3]),
      body,
      Number(t[5]),
      typeof ws === 'number' || typeof ws === 'string' ? ws : null,
      typeof notes === 'string' ? notes : null,
    ];
    return { value: fresh, copy: null };
  }
  const copy = copyNow(v);
  return { value: copy, copy };
}

/**
 * Report call `id`'s outcome, of kind `kind` when it succeeded.
 *
 * Tenant code may run while an outcome is made ready (an error's getters when it is described,
 * a value's while it is copied), and may cross to the host (a call, which in an object's
 * isolate first sends what is held): so the outcome is made ready first and takes its place
 * in the outbox after, whole. Elsewhere a tenant's value is copied only if it is held.
 */
export function report(id: unknown, ok: boolean, value: unknown, kind: OutcomeKind = PRELUDE_VALUE): void {
  let good = ok;
  let v = ok ? value : errorValue(value);
  let copy: { release(): void } | null = null;
  const hold = !flushQueued && ringWaiting() && outbox.length < HOLD_MAX * 3;
  if (good && inOrder) {
    try {
      const made = own(v, kind);
      v = made.value;
      copy = made.copy;
    } catch (err) {
      copyFailed = messageOf(err);
    }
  } else if (good && hold && kind === TENANT_VALUE && isObject((v as { value?: unknown })?.value)) {
    copy = copyNow(v);
    v = copy;
  }
  if (copyFailed !== null) {
    good = false;
    v = unsent(copyFailed);
    copyFailed = null;
    copy = null;
  }
  // In order: the calls made before this outcome leave now, after the outcomes before them.
  if (inOrder) sendPosted();
  if (copy !== null) copies[copies.length] = copy;
  const at = outbox.length;
  outbox[at] = id;
  outbox[at + 1] = good;
  outbox[at + 2] = v;
  if (flushQueued) return;
  // Held only if it was to be held when it was made ready (the tenant code above may have sent
  // what was held, or queued a flush, since).
  if (hold && ringWaiting() && at < HOLD_MAX * 3) {
    if (at === 0) heldSince = realTime();
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
