/**
 * The task ring, isolate side (the host side is src/runtime/calls.ts).
 *
 * Some host → isolate work must each run as a task of its own: an object's events (its input
 * gate: an event's microtasks run to the end before the next event starts), answers to host
 * calls (one I/O's continuation before the next's, as Workers, Node and browsers run them), and
 * WebSocket events. The host used to make one apply per such task, ~15 µs of CPU across both
 * threads each. Now it sends all it has for an isolate in one turn of its event loop in one
 * batch, flat `[code, item, ...]`, and the isolate schedules each item as a task on itself: an
 * async apply of a Reference to `runTask`, which isolated-vm queues behind the tasks already
 * queued, ~2.5 µs each (measured), with no thread switch.
 *
 * Order: self-scheduled tasks run after every task queued before them, so anything the host
 * needs kept in order with these goes through the ring too (src/runtime/calls.ts).
 *
 * Each apply is made from a microtask that calls the bound apply itself, so no JavaScript frame
 * is on the stack: isolated-vm captures the caller's stack (10 frames) on every async apply,
 * and describing `ring`'s optimized frame made V8 decode its deoptimization data, ~0.5 µs of
 * the ~2.3 µs a self-scheduled task costs (a loop of them in an isolate; 3% of a hot Durable
 * Object's samples). The microtasks run at the end of the host's apply that brought the batch,
 * before any other task, in the order the items came. The promise such a microtask resolves
 * with the apply's is adopted through `Promise.prototype.then` as it is then (the prelude's
 * own, or tenant code's replacement): a replacement that drops its callbacks loses only the
 * logging of its own isolate's stray rejections; the task runs either way.
 *
 * A task that leaves a rejected promise unhandled: isolated-vm rejects the apply's promise with
 * it (its task epilogue), and `stray` tells the host, which logs "Uncaught (in promise)".
 */
import { resolvedIntrinsic, thenIntrinsic } from './context.ts';

type Entry = (batch: unknown[][]) => void;
type SelfRef = { apply(receiver: undefined, args: unknown[]): Promise<unknown> };

// Intrinsics, captured before tenant code runs: a replaced global must not see the host's batch
// (call ids, arguments, answers) or change it.
const isArray = Array.isArray;
const bindIntrinsic = Function.prototype.bind;
const applyIntrinsic = Reflect.apply;

let entries: readonly Entry[] = [];
/** `self.apply(undefined, [])`, bound: a promise job calls it with no frame of ours on the stack. */
let schedule: (() => Promise<unknown>) | null = null;
let stray: (stack: string) => void = () => {};
/** Called after each task, `last` when no item waits after it (the outcomes held go then). */
let afterTask: (last: boolean) => void = () => {};
// Items waiting for their task: [code, item, ...] from `head` on. No prototype: what a tenant
// puts on Array.prototype (an index setter, a replaced push) never sees or breaks it.
const queue: unknown[] = Object.setPrototypeOf([], null);
let head = 0;
/** Past this many items run, the queue is compacted even if more keep coming (a busy object). */
const COMPACT_AT = 2048;

const ignore = () => {};
function reportStray(err: unknown): void {
  try {
    stray(String((err as Error)?.stack ?? (err as Error)?.message ?? err));
  } catch {
    // A value that cannot be described: nothing to log.
  }
}

function runTask(): void {
  const code = queue[head] as number;
  const item = queue[head + 1] as unknown[];
  queue[head] = queue[head + 1] = undefined;
  head += 2;
  if (head === queue.length) queue.length = head = 0;
  else if (head >= COMPACT_AT && head * 2 >= queue.length) compact();
  const entry = entries[code];
  try {
    if (entry !== undefined) entry([item]);
  } finally {
    // Even when the entry threw (a tenant's stream cancel can): what is held must not wait on.
    afterTask(head === queue.length);
  }
}

/** Items still wait for their task (an outcome reported now may wait for them: outbox.ts). */
export function ringWaiting(): boolean {
  return head < queue.length;
}

/** Drop the items already run from the front, so a queue that never drains stays its live size. */
function compact(): void {
  const live = queue.length - head;
  for (let i = 0; i < live; i++) queue[i] = queue[head + i];
  queue.length = live;
  head = 0;
}

/** Set up once, before tenant code runs. */
export function installRing(
  ReferenceClass: new (fn: () => void) => SelfRef,
  byCode: readonly Entry[],
  onStray: (stack: string) => void,
  onTaskDone: (last: boolean) => void,
): void {
  entries = byCode;
  stray = onStray;
  afterTask = onTaskDone;
  const self = new ReferenceClass(runTask);
  schedule = applyIntrinsic(bindIntrinsic, self.apply, [self, undefined, Object.freeze([])]);
}

/** The host's batch: each item queued, and a task of its own scheduled for it. */
export function ring(list: unknown): void {
  if (schedule === null || !isArray(list)) return;
  const resolved = resolvedIntrinsic();
  for (let i = 0; i + 1 < list.length; i += 2) {
    queue[queue.length] = list[i];
    queue[queue.length] = list[i + 1];
    thenIntrinsic(thenIntrinsic(resolved, schedule), ignore, reportStray);
  }
}
