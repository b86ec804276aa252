/**
 * Host → isolate calls, and their completions, batched like an I/O ring.
 *
 * Completion through a callback, not the apply's promise: isolated-vm ends every task by
 * throwing the first promise rejection still unhandled (IsolateEnvironment::TaskEpilogue), so
 * with `result: { promise: true }` one stray `Promise.reject()` in a handler failed the whole
 * request and lost its response. Workers logs "Uncaught (in promise)" and carries on; entry
 * functions therefore report `complete([id, ok, value, ...])` and the apply's own outcome is
 * only a signal (a stray rejection to log, or a dead isolate).
 *
 * Batching: each crossing costs ~10–25 µs of CPU on each side (measured), more than the rest of
 * a hello-world request. Two kinds, both flushed from setImmediate (later in the same loop
 * iteration), so what arrives in one turn of the event loop crosses in one apply:
 *  - `queue`: calls that may share a task (a stateless worker's requests): the isolate runs
 *    the batch in one task.
 *  - the task ring (`call`, `deliver`, `send`): calls that must each be a task of their own (a
 *    Durable Object's events, answers to the isolate's host calls, WebSocket events). The
 *    isolate schedules one task on itself per item (src/runtime/isolate/ring.ts), in order.
 * The isolate sends completions that settle together back in one callback. Under load this
 * divides the crossing cost by the batch size; alone, a call waits for no one.
 */
import ivm from 'isolated-vm';
import { IdTable } from './id-table.ts';
import { RING_ENTRIES, type RingEntry } from './ring-entries.ts';

const RESOLVED = Promise.resolve();
const COPY = { arguments: { copy: true } } as const;

/**
 * `ref.apply(undefined, args)`, made from a promise job that calls the bound apply itself, so
 * no JavaScript frame is on the stack. isolated-vm captures the caller's stack (10 frames) on
 * every async apply, and describing an optimized frame makes V8 decode its deoptimization data
 * (TranslatedState): from deep in host code that cost more than the rest of the crossing, and
 * from one small frame still ~2% of a hot Durable Object's main thread (perf). Copy failures
 * reject the returned promise, as they do the apply's.
 */
function applySoon(ref: ivm.Reference, args: unknown[], options: object = COPY): Promise<unknown> {
  return RESOLVED.then(ref.apply.bind(ref, undefined, args, options));
}

const uncopyable = (err: unknown) => /could not be cloned/.test(String((err as Error)?.message));

/** Arguments already copied (`copied`): handed over as they are. */
const TRANSFER = {} as const;

/** `value` copied out of the host's heap, ready to go into an isolate, or why it could not be. */
function copied(value: unknown): ivm.Copy<unknown> | Error {
  try {
    return new ivm.ExternalCopy(value).copyInto({ release: true });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

type Pending = { resolve(v: unknown): void; reject(e: unknown): void };

/** What a ring item stands for if it cannot be copied: its call's id, another item, or nothing. */
type Instead = number | unknown[] | null;

export class IsolateCalls {
  /** Calls awaiting their outcome, by id: not a Map (id-table.ts). */
  #pending = new IdTable<Pending>();
  #next = 1;
  #failed: Error | null = null;
  #queue = new Map<ivm.Reference, unknown[]>();
  #flushScheduled = false;
  /** The ring's next batch: flat [code, item, ...], and each item's fallback. */
  #tasks: unknown[] = [];
  #instead: Instead[] = [];
  #ring: ivm.Reference | null = null;
  #codes = new Map<ivm.Reference, number>();

  constructor(
    /** Called with an apply's error: a stray rejection to log, or a dead isolate. */
    private readonly onApplyError: (err: Error) => void,
  ) {
    // Made here, not as a field: under tsx a field's arrow is named by a call that gives it a
    // property dictionary of its own (syscalls.ts, IsolateHost), ~300 bytes per isolate.
    this.#applyFailed = (err: Error): void => this.onApplyError(err);
  }

  /** The callback the prelude calls with settled entry calls: a flat [id, ok, value, ...]. */
  readonly complete = new ivm.Callback(
    (list: unknown) => {
      if (!Array.isArray(list)) return;
      this.outcomeBatches++;
      this.outcomes += Math.floor(list.length / 3);
      for (let i = 0; i + 2 < list.length; i += 3) {
        const id = list[i];
        const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
        let value = list[i + 2];
        // An outcome that waited for the rest of its ring batch, copied when it was reported
        // (isolate/outbox.ts): taken out here, and the copy freed either way.
        if (value instanceof ivm.ExternalCopy) {
          const held = value;
          try {
            value = p ? held.copy() : undefined;
          } catch (err) {
            value = err;
            list[i + 1] = false;
          } finally {
            held.release();
          }
        }
        if (!p) continue;
        this.#pending.delete(id as number);
        if (list[i + 1] === true) p.resolve(value);
        else p.reject(value);
      }
    },
    { ignored: true },
  );

  /** The callback the ring calls with the stack of a rejection one of its tasks left unhandled. */
  readonly stray = new ivm.Callback(
    (stack: unknown) => {
      const text = String(stack);
      this.onApplyError(Object.assign(new Error(text), { stack: text }));
    },
    { ignored: true },
  );

  /**
   * Start the ring: `ring` is the isolate's ring entry, `entries` its entries by name. Until
   * then (while the pool makes the isolate) each call is an apply of its own.
   */
  startRing(ring: ivm.Reference, entries: Record<RingEntry, ivm.Reference>): void {
    this.#ring = ring;
    this.#codes = new Map(RING_ENTRIES.map((name, code) => [entries[name], code]));
  }

  readonly #applyFailed: (err: Error) => void;

  /**
   * Call an entry function alone: a task of its own in the isolate (through the ring), in
   * order with every other ring item.
   */
  call(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    const code = this.#codes.get(ref);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (code !== undefined) this.#push(code, [id, ...args], id);
      else applySoon(ref, [[[id, ...args]]]).catch(this.#applyFailed);
    });
  }

  /** An entry call that answers nothing (cancel a stream, forget a request), through the ring. */
  send(ref: ivm.Reference, args: unknown[]): void {
    if (this.#failed) return;
    const code = this.#codes.get(ref);
    if (code !== undefined) this.#push(code, args, null);
    else applySoon(ref, args).catch(() => {});
  }

  /**
   * An outcome the isolate will report without an entry call: the caller hands `id` to the
   * isolate by other means (loading a module bundle: src/runtime/load.ts). It fails like
   * any other call if the isolate goes first.
   */
  expect(): { id: number; outcome: Promise<unknown> } {
    const id = this.#next++;
    if (this.#failed) return { id, outcome: Promise.reject(this.#failed) };
    const outcome = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    return { id, outcome };
  }

  /**
   * Queue a call to a batch entry function (one taking [[id, ...args], ...]); the queue is
   * flushed into the isolate in one apply later in this turn of the event loop.
   */
  queue(ref: ivm.Reference, args: unknown[]): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      let q = this.#queue.get(ref);
      if (!q) this.#queue.set(ref, (q = []));
      q.push([id, ...args]);
      this.#schedule();
    });
  }

  /**
   * Answer one of the isolate's own host calls (bridge/syscalls.ts) through `ref`, an entry
   * taking a list of answers, in a task of its own (the ring): the continuation of one I/O must
   * run with its microtasks to the end before the next starts (a Durable Object's input gate
   * relies on it, and Workers, Node and browsers run microtasks between timer callbacks). If
   * `item` cannot be copied the call is answered with `instead`, not left hanging.
   */
  deliver(ref: ivm.Reference, item: unknown[], instead?: unknown[]): void {
    if (this.#failed) return;
    const code = this.#codes.get(ref);
    if (code !== undefined) {
      this.#push(code, item, instead ?? null);
      return;
    }
    applySoon(ref, [[item]]).catch((err: Error) => {
      if (instead && !this.#failed && uncopyable(err)) this.deliver(ref, instead);
      else this.onApplyError(err);
    });
  }

  #push(code: number, item: unknown[], instead: Instead): void {
    this.#tasks.push(code, item);
    this.#instead.push(instead);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Batches sent and calls in them, for the queue and the ring (for stats and the bench). */
  batches = 0;
  batched = 0;
  ringBatches = 0;
  ringItems = 0;
  /** Crossings back with outcomes, and the outcomes in them (isolate/outbox.ts). */
  outcomeBatches = 0;
  outcomes = 0;
  /** Crossings with the isolate's own host calls, and the calls in them (bridge/posted.ts). */
  postBatches = 0;
  posted = 0;

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#tasks.length > 0 && this.#ring) {
      this.ringBatches++;
      this.ringItems += this.#instead.length;
      this.#sendRing(this.#ring, this.#tasks, this.#instead);
      this.#tasks = [];
      this.#instead = [];
    }
    const queued = this.#queue;
    this.#queue = new Map();
    for (const [ref, batch] of queued) {
      this.batches++;
      this.batched += batch.length;
      // Its promise reports a stray rejection from the batch's task (logged as "Uncaught (in
      // promise)") or a dead isolate: once per batch, not per request.
      applySoon(ref, [batch]).catch(this.#applyFailed);
    }
  }

  /**
   * One apply for the ring's batch. The batch is copied here, synchronously, so a copy that
   * fails (a value no structured clone takes, a throwing getter, a stack overflow) is known
   * to have sent nothing: then each item is sent alone, in order, and one that cannot be copied
   * fails only its own call (or is answered with its `instead`). What fails later is the
   * isolate's: a stray rejection to log, or its death.
   */
  #sendRing(ring: ivm.Reference, tasks: unknown[], instead: Instead[]): void {
    const batch = copied(tasks);
    if (!(batch instanceof Error)) {
      applySoon(ring, [batch], TRANSFER).catch(this.#applyFailed);
      return;
    }
    for (let i = 0; i < instead.length; i++) {
      const code = tasks[2 * i];
      const one = copied([code, tasks[2 * i + 1]]);
      if (!(one instanceof Error)) {
        applySoon(ring, [one], TRANSFER).catch(this.#applyFailed);
        continue;
      }
      const alt = instead[i];
      if (typeof alt === 'number') {
        const p = this.#pending.get(alt);
        this.#pending.delete(alt);
        p?.reject(one);
        continue;
      }
      const answer = alt ? copied([code, alt]) : null;
      if (answer && !(answer instanceof Error)) applySoon(ring, [answer], TRANSFER).catch(this.#applyFailed);
    }
  }

  /** The isolate is gone: every call still waiting fails with `err`. */
  failAll(err: Error): void {
    this.#failed = err;
    // In the order the calls were made (the table keeps none: id-table.ts).
    for (const id of this.#pending.keys().sort((a, b) => a - b)) this.#pending.get(id)?.reject(err);
    this.#pending.clear();
    this.#queue.clear();
    this.#tasks = [];
    this.#instead = [];
  }

  get pending(): number {
    return this.#pending.size;
  }
}
