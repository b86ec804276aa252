/**
 * The Workflows engine (https://developers.cloudflare.com/workflows/): instances of every
 * Workflow of a network, their runs, and the durable record of their steps.
 *
 * Design. A run of an instance is one `workflow` handler event of the worker that defines it:
 * its WorkflowEntrypoint's `run(event, step)` from the top. Every `step` call comes here
 * (through the defining worker's binding, with the run's token) before it does anything:
 *
 * - a `do` step that completed in an earlier run answers its stored output without running
 *   again, and one that failed for good throws its stored error — so a run replays completed
 *   steps for free and a step acknowledged as done never runs twice, even after kill -9;
 * - a step that is not due (a sleep, a retry's delay, a wait for an event) answers `wait`: the
 *   isolate parks it, and once no callback is running the run ends ("suspended"). The engine
 *   keeps the earliest wake time and runs the instance again then, or when its event arrives;
 * - an attempt the engine saw start and never saw end (its run died: kill -9, a limit, a crashed
 *   isolate) counts as a failed attempt, and is retried as the step's config says.
 *
 * One run per instance at a time; at most `concurrency` runs at once (the rest wait, oldest
 * first). A pause takes effect at the instance's next step call (the step running finishes);
 * terminate and restart invalidate the run's token, so whatever the old run still does is
 * refused. Everything the engine decides is written to the store (store.ts) before it answers.
 */
import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import {
  type ErrorData,
  stepBackoffMs,
  type WorkflowRunArgs,
  type WorkflowRunOutcome,
  type WorkflowStatusData,
  type WorkflowStepCall,
  type WorkflowStepReply,
} from '../../runtime/bindings/protocol.ts';
import type { InstanceRef, InstanceRow, InstanceStatus, StepRow, WorkflowStore } from './store.ts';

/** Params, step outputs, event payloads and a run's output: at most 1 MiB each, as Cloudflare. */
export const MAX_VALUE_BYTES = 1_048_576;
/** Instance ids and event types as Cloudflare allows them. */
const ID = /^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,99}$/;
/** Runs in a row that fail before a step decides anything, after which the instance errors. */
const MAX_RUN_FAILURES = 5;
/** Instances of one Workflow created per second (Cloudflare's creation rate limit). */
const CREATES_PER_SECOND = 100;
/** Events sent to an instance and not yet taken by a waitForEvent. */
const MAX_PENDING_EVENTS = 1000;
/** Longest single timer (setTimeout's limit is ~24.8 days): later wakes re-arm. */
const MAX_TIMER_MS = 86_400_000;
const FINISHED = new Set<InstanceStatus>(['complete', 'errored', 'terminated']);

/** The worker that defines a Workflow: its exported class and its binding of it. */
export interface WorkflowDefinition {
  tenant: string;
  className: string;
  binding: string;
  steps: number;
}

export interface WorkflowEngineOptions {
  store: WorkflowStore;
  /** Run the `workflow` event on `tenant`. Throws when the invocation itself failed. */
  run(tenant: string, args: WorkflowRunArgs): Promise<WorkflowRunOutcome>;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Runs at once in the whole engine (default 100). */
  concurrency?: number;
  /** Runs at once of one account's instances (default a quarter of `concurrency`): one account cannot hold every slot. */
  perAccount?: number;
  now?: () => number;
}

/** An error the Workflow binding rethrows in the worker, with this message and class name. */
export class WorkflowError extends Error {
  constructor(message: string, name = 'Error') {
    super(message);
    this.name = name;
  }
}

const keyOf = (r: InstanceRef) => `${r.account}\u0000${r.workflow}\u0000${r.id}`;
const refOf = (key: string): InstanceRef => {
  const [account, workflow, id] = key.split('\u0000');
  return { account, workflow, id };
};

/** A value stored as the host's structured clone; refused past MAX_VALUE_BYTES. */
export function encodeValue(v: unknown, what: string): Buffer | null {
  if (v === undefined) return null;
  let bytes: Buffer;
  try {
    bytes = serialize(v);
  } catch {
    throw new WorkflowError(`${what} cannot be serialized (structured clone)`, 'DataCloneError');
  }
  if (bytes.byteLength > MAX_VALUE_BYTES)
    throw new WorkflowError(
      `${what} is too large (${bytes.byteLength} bytes, limit ${MAX_VALUE_BYTES})`,
      'RangeError',
    );
  return bytes;
}

export const decodeValue = (b: Buffer | null): unknown => (b === null ? undefined : deserialize(b));

/** The delay before the next attempt after `attempts` failed ones (one definition, in protocol.ts). */
export const backoffMs = stepBackoffMs;

const errorOf = (s: string | null): ErrorData =>
  s ? (JSON.parse(s) as ErrorData) : { name: 'Error', message: 'unknown error' };

export class WorkflowEngine {
  readonly #o: WorkflowEngineOptions;
  readonly #store: WorkflowStore;
  readonly #now: () => number;
  readonly #concurrency: number;
  readonly #perAccount: number;
  /** Runs in flight by account. */
  readonly #byAccount = new Map<string, number>();
  /** Creations in the current second, by account and Workflow. */
  #creates = { second: 0, counts: new Map<string, number>() };
  /** account\0workflow → its definition. */
  #defs = new Map<string, WorkflowDefinition>();
  /** Live runs: token → instance key; an instance's current run's token. */
  readonly #live = new Map<string, string>();
  readonly #running = new Map<string, string>();
  /** Instances due to run, in order, waiting for a free slot. */
  readonly #ready = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Instances whose run ended while something asked for another (an event arrived). */
  readonly #again = new Set<string>();
  readonly #warned = new Set<string>();
  /** Running instances asked to pause (at their next step). */
  readonly #pausing = new Set<string>();
  #started = false;
  #closed = false;

  constructor(options: WorkflowEngineOptions) {
    this.#o = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#concurrency = options.concurrency ?? 100;
    this.#perAccount = options.perAccount ?? Math.max(1, Math.floor(this.#concurrency / 4));
  }

  /** Which worker defines each Workflow (`[[workflows]]` without script_name), by account. */
  setDefinitions(defs: { account: string; name: string; def: WorkflowDefinition }[]): void {
    this.#defs = new Map(defs.map((d) => [`${d.account}\u0000${d.name}`, d.def]));
    if (this.#started) this.#recover();
  }

  defined(account: string, workflow: string): boolean {
    return this.#defs.has(`${account}\u0000${workflow}`);
  }

  /** Pick up every instance that was not finished when the engine last stopped. */
  start(): void {
    this.#started = true;
    this.#closed = false;
    this.#recover();
  }

  #recover(): void {
    for (const row of this.#store.active()) {
      const key = keyOf(row);
      if (this.#running.has(key) || this.#timers.has(key) || this.#ready.has(key)) continue;
      if (!this.defined(row.account, row.workflow)) continue;
      if (row.status === 'waitingForPause') {
        this.#set(row, { status: 'paused' });
        continue;
      }
      if (row.status === 'waiting') this.#arm(row);
      else this.#kick(key);
    }
  }

  /** Stop running instances (runs in flight finish, their results refused); start() again resumes. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#started = false;
    this.#pausing.clear();
    this.#again.clear();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#ready.clear();
    this.#live.clear();
  }

  // ——— the binding's calls ———

  create(account: string, workflow: string, id: string | undefined, params: unknown): string {
    if (!this.defined(account, workflow))
      throw new WorkflowError(
        `Workflow "${workflow}" is not defined by any worker in this session: the worker that exports its class needs a [[workflows]] entry with name = "${workflow}" and no script_name`,
      );
    const instanceId = id ?? randomUUID();
    if (typeof instanceId !== 'string' || !ID.test(instanceId))
      throw new WorkflowError(
        `Workflow instance id must be 1 to 100 letters, digits, "_" or "-" (not starting with "-"), received ${JSON.stringify(instanceId)}`,
        'TypeError',
      );
    const ref = { account, workflow, id: instanceId };
    const second = Math.floor(this.#now() / 1000);
    if (this.#creates.second !== second) this.#creates = { second, counts: new Map() };
    const made = this.#creates.counts.get(`${account}\u0000${workflow}`) ?? 0;
    if (made >= CREATES_PER_SECOND)
      throw new WorkflowError(
        `Too many instances of "${workflow}" created: at most ${CREATES_PER_SECOND} per second (Cloudflare's rate limit)`,
      );
    const bytes = encodeValue(params, 'The instance params');
    if (!this.#store.create(ref, bytes, this.#now()))
      throw new WorkflowError(`instance.already_exists: an instance "${instanceId}" of "${workflow}" exists`);
    this.#creates.counts.set(`${account}\u0000${workflow}`, made + 1);
    this.#kick(keyOf(ref));
    return instanceId;
  }

  #row(ref: InstanceRef): InstanceRow {
    const row = this.#store.instance(ref);
    if (!row) throw new WorkflowError('instance.not_found');
    return row;
  }

  get(ref: InstanceRef): void {
    this.#row(ref);
  }

  status(ref: InstanceRef): WorkflowStatusData {
    const row = this.#row(ref);
    return {
      status: row.status,
      ...(row.error ? { error: errorOf(row.error) } : {}),
      ...(row.status === 'complete' ? { output: decodeValue(row.output) } : {}),
    };
  }

  /** The steps of an instance as the admin API shows them. */
  steps(
    ref: InstanceRef,
  ): { key: string; kind: string; state: string; attempts: number; error?: ErrorData }[] {
    return this.#store.steps(ref).map((s) => ({
      key: s.key,
      kind: s.kind,
      state: s.state,
      attempts: s.attempts,
      ...(s.error ? { error: errorOf(s.error) } : {}),
    }));
  }

  pause(ref: InstanceRef): void {
    const row = this.#row(ref);
    if (FINISHED.has(row.status))
      throw new WorkflowError(`Cannot pause the instance "${ref.id}": it is ${row.status}`);
    if (row.status === 'paused' || row.status === 'waitingForPause') return;
    const key = keyOf(ref);
    if (this.#running.has(key)) {
      this.#pausing.add(key);
      this.#set(row, { status: 'waitingForPause', pause: 1 });
      return;
    }
    this.#unschedule(key);
    this.#set(row, { status: 'paused', pause: 1 });
  }

  resume(ref: InstanceRef): void {
    const row = this.#row(ref);
    if (FINISHED.has(row.status))
      throw new WorkflowError(`Cannot resume the instance "${ref.id}": it is ${row.status}`);
    if (row.status === 'running' || row.status === 'queued' || row.status === 'waiting')
      throw new WorkflowError(
        `Cannot resume the instance "${ref.id}": it is not paused (it is ${row.status})`,
      );
    const key = keyOf(ref);
    if (row.status === 'waitingForPause' && this.#live.has(this.#running.get(key) ?? '')) {
      this.#pausing.delete(key);
      this.#set(row, { status: 'running', pause: 0 });
      return;
    }
    this.#pausing.delete(key);
    this.#set(row, { status: 'queued', pause: 0 });
    this.#kick(key);
  }

  terminate(ref: InstanceRef): void {
    const row = this.#row(ref);
    if (FINISHED.has(row.status))
      throw new WorkflowError(`Cannot terminate the instance "${ref.id}": it is already ${row.status}`);
    const key = keyOf(ref);
    this.#unschedule(key);
    this.#abandon(key);
    this.#set(row, { status: 'terminated', pause: 0 });
  }

  /** Run again from the beginning: every step forgotten, events sent before taken again. */
  restart(ref: InstanceRef): void {
    const row = this.#row(ref);
    const key = keyOf(ref);
    this.#unschedule(key);
    this.#abandon(key);
    this.#store.reset(ref);
    this.#set(row, { status: 'queued', pause: 0, output: null, error: null, failures: 0 });
    this.#kick(key);
  }

  sendEvent(ref: InstanceRef, type: string, payload: unknown): void {
    if (typeof type !== 'string' || !ID.test(type))
      throw new WorkflowError(
        `An event type must be 1 to 100 letters, digits, "_" or "-", received ${JSON.stringify(type)}`,
        'TypeError',
      );
    const row = this.#row(ref);
    if (FINISHED.has(row.status))
      throw new WorkflowError(`Cannot send an event to the instance "${ref.id}": it is ${row.status}`);
    if (this.#store.pendingEvents(ref) >= MAX_PENDING_EVENTS)
      throw new WorkflowError(
        `Cannot send an event to the instance "${ref.id}": ${MAX_PENDING_EVENTS} events it has not taken are waiting`,
      );
    this.#store.addEvent(ref, type, encodeValue(payload, 'The event payload'), this.#now());
    const key = keyOf(ref);
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    if (
      row.status === 'waiting' &&
      this.#store.waiting(ref).some((s) => s.kind === 'wait' && s.eventType === type)
    )
      this.#kick(key);
  }

  /** Instances, newest first (the admin API). */
  list(filter: { account?: string; workflow?: string; limit?: number } = {}) {
    return this.#store.list(filter);
  }

  counts() {
    return this.#store.counts();
  }

  // ——— a run's step calls ———

  /** Whether `token` is a live run of an instance of this account's Workflow `workflow`. */
  owns(token: string, account: string, workflow: string): boolean {
    const key = this.#live.get(token);
    if (key === undefined) return false;
    const ref = refOf(key);
    return ref.account === account && ref.workflow === workflow;
  }

  step(token: string, call: WorkflowStepCall): WorkflowStepReply {
    const key = this.#live.get(token);
    if (key === undefined) return { kind: 'stop' };
    // A live token is a running instance: terminate and restart revoke it (no store read here).
    const ref = refOf(key);
    if (call.op === 'end') return this.#end(ref, call);
    // A pause takes effect before the next step starts; a resume before the run settles runs
    // it again at once (the refused step left no record to wake it).
    if (this.#pausing.has(key)) {
      this.#again.add(key);
      return { kind: 'stop' };
    }
    if (call.op === 'begin') return this.#begin(ref, call);
    if (call.op === 'sleep') return this.#sleep(ref, call);
    return this.#wait(ref, call);
  }

  #begin(ref: InstanceRef, call: Extract<WorkflowStepCall, { op: 'begin' }>): WorkflowStepReply {
    const key = `do:${call.name}:${call.count}`;
    const s = this.#store.step(ref, key);
    if (!s) {
      this.#store.putStep(ref, {
        key,
        kind: 'do',
        state: 'running',
        attempts: 1,
        wake: null,
        config: call.config,
        output: null,
        error: null,
        eventType: null,
      });
      return { kind: 'run', attempt: 1 };
    }
    if (s.state === 'done') return { kind: 'output', value: decodeValue(s.output) };
    if (s.state === 'failed') return { kind: 'error', error: errorOf(s.error) };
    if (s.state === 'running')
      // Its run died before it ended: that attempt failed.
      return this.#failed(ref, s, {
        error: {
          name: 'WorkflowInternalError',
          message: 'the attempt did not finish: its run was interrupted',
        },
        final: false,
        delayMs: backoffMs(s.config ?? call.config, s.attempts),
      });
    if ((s.wake ?? 0) > this.#now()) return { kind: 'wait' };
    s.attempts++;
    s.state = 'running';
    s.wake = null;
    this.#store.putStep(ref, s);
    return { kind: 'run', attempt: s.attempts };
  }

  #end(ref: InstanceRef, call: Extract<WorkflowStepCall, { op: 'end' }>): WorkflowStepReply {
    const s = this.#store.step(ref, `do:${call.name}:${call.count}`);
    if (!s || s.state !== 'running' || s.attempts !== call.attempt) return { kind: 'stop' };
    if (call.ok) {
      let output: Buffer | null;
      try {
        output = encodeValue(call.value, `The output of step "${call.name}"`);
      } catch (err) {
        return this.#failed(ref, s, {
          error: { name: 'WorkflowFatalError', message: (err as Error).message },
          final: true,
          delayMs: 0,
        });
      }
      s.state = 'done';
      s.output = output;
      this.#store.putStep(ref, s);
      return { kind: 'ok' };
    }
    return this.#failed(ref, s, call);
  }

  /** A failed attempt: retried now, later, or the step fails for good. */
  #failed(
    ref: InstanceRef,
    s: StepRow,
    f: { error: ErrorData; final: boolean; delayMs: number },
  ): WorkflowStepReply {
    const limit = s.config?.limit ?? 0;
    const error = { name: String(f.error?.name ?? 'Error'), message: String(f.error?.message ?? '') };
    if (f.final || s.attempts > limit) {
      s.state = 'failed';
      s.error = JSON.stringify(error);
      this.#store.putStep(ref, s);
      return { kind: 'error', error };
    }
    const delay = Number.isFinite(f.delayMs) && f.delayMs > 0 ? f.delayMs : 0;
    if (delay === 0) {
      s.attempts++;
      this.#store.putStep(ref, s);
      return { kind: 'run', attempt: s.attempts };
    }
    s.state = 'waiting';
    s.wake = this.#now() + delay;
    this.#store.putStep(ref, s);
    return { kind: 'wait' };
  }

  #sleep(ref: InstanceRef, call: Extract<WorkflowStepCall, { op: 'sleep' }>): WorkflowStepReply {
    const key = `sleep:${call.name}:${call.count}`;
    const s = this.#store.step(ref, key) ?? {
      key,
      kind: 'sleep' as const,
      state: 'waiting' as const,
      attempts: 0,
      wake: Number(call.until),
      config: null,
      output: null,
      error: null,
      eventType: null,
    };
    if (s.state === 'done') return { kind: 'done' };
    if ((s.wake ?? 0) <= this.#now()) {
      s.state = 'done';
      this.#store.putStep(ref, s);
      return { kind: 'done' };
    }
    this.#store.putStep(ref, s);
    return { kind: 'wait' };
  }

  #wait(ref: InstanceRef, call: Extract<WorkflowStepCall, { op: 'wait' }>): WorkflowStepReply {
    const key = `wait:${call.name}:${call.count}`;
    let s = this.#store.step(ref, key);
    if (s?.state === 'done') {
      const e = JSON.parse(s.error ?? '{}') as { type: string; timestamp: number };
      return {
        kind: 'event',
        event: { payload: decodeValue(s.output), timestamp: e.timestamp, type: e.type },
      };
    }
    if (s?.state === 'failed') return { kind: 'error', error: errorOf(s.error) };
    if (!s) {
      if (typeof call.type !== 'string' || !ID.test(call.type))
        return {
          kind: 'error',
          error: {
            name: 'TypeError',
            message: `waitForEvent: invalid event type ${JSON.stringify(call.type)}`,
          },
        };
      s = {
        key,
        kind: 'wait',
        state: 'waiting',
        attempts: 0,
        wake: this.#now() + Math.max(0, Number(call.timeoutMs) || 0),
        config: null,
        output: null,
        error: null,
        eventType: call.type,
      };
      this.#store.putStep(ref, s);
    }
    const type = s.eventType ?? call.type;
    const taken = this.#store.takeEvent(ref, type, s, (e) => ({
      ...(s as StepRow),
      state: 'done',
      output: e.payload,
      // The event's type and time ride in `error` (a done wait has no error).
      error: JSON.stringify({ type, timestamp: e.at }),
    }));
    if (taken)
      return {
        kind: 'event',
        event: {
          payload: decodeValue(taken.output),
          timestamp: JSON.parse(taken.error as string).timestamp,
          type,
        },
      };
    if ((s.wake ?? 0) <= this.#now()) {
      const error = {
        name: 'WorkflowTimeoutError',
        message: `waitForEvent "${call.name}" timed out: no "${type}" event arrived`,
      };
      s.state = 'failed';
      s.error = JSON.stringify(error);
      this.#store.putStep(ref, s);
      return { kind: 'error', error };
    }
    return { kind: 'wait' };
  }

  // ——— runs ———

  #set(
    row: InstanceRow,
    change: Partial<Pick<InstanceRow, 'status' | 'output' | 'error' | 'pause' | 'failures'>>,
  ): void {
    Object.assign(row, change);
    this.#store.update(row, this.#now());
  }

  #unschedule(key: string): void {
    const t = this.#timers.get(key);
    if (t) clearTimeout(t);
    this.#timers.delete(key);
    this.#ready.delete(key);
  }

  /** Whatever the current run still does is refused from now on. */
  #abandon(key: string): void {
    const token = this.#running.get(key);
    if (token) this.#live.delete(token);
  }

  /** Due now: run as soon as a slot is free. */
  #kick(key: string): void {
    if (this.#closed) return;
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    this.#unschedule(key);
    this.#ready.add(key);
    this.#drain();
  }

  /** Start ready instances, oldest first, while slots are free and their account has some. */
  #drain(): void {
    for (const key of this.#ready) {
      if (this.#running.size >= this.#concurrency) return;
      if ((this.#byAccount.get(refOf(key).account) ?? 0) >= this.#perAccount) continue;
      this.#ready.delete(key);
      void this.#run(key).catch((err) =>
        this.#o.log('error', `workflow ${refOf(key).workflow}: ${(err as Error).message}`),
      );
    }
  }

  /** Wake a waiting instance at its earliest wake time, or now if its event is here. */
  #arm(row: InstanceRow): void {
    const key = keyOf(row);
    const waits = this.#store.waiting(row);
    if (waits.some((s) => s.kind === 'wait' && s.eventType && this.#store.hasEvent(row, s.eventType))) {
      this.#kick(key);
      return;
    }
    const wake = Math.min(...waits.map((s) => s.wake ?? 0));
    const delay = waits.length === 0 ? 0 : wake - this.#now();
    if (delay <= 0) {
      this.#kick(key);
      return;
    }
    this.#unschedule(key);
    const t = setTimeout(
      () => {
        this.#timers.delete(key);
        const now = this.#store.instance(row);
        if (now?.status === 'waiting') this.#arm(now);
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    t.unref();
    this.#timers.set(key, t);
  }

  async #run(key: string): Promise<void> {
    const ref = refOf(key);
    const row = this.#store.instance(ref);
    if (!row || FINISHED.has(row.status) || row.status === 'paused') return;
    if (row.pause) {
      this.#set(row, { status: 'paused' });
      return;
    }
    const def = this.#defs.get(`${ref.account}\u0000${ref.workflow}`);
    if (!def) {
      if (!this.#warned.has(ref.workflow)) {
        this.#warned.add(ref.workflow);
        this.#o.log(
          'warn',
          `workflow "${ref.workflow}": no worker in this session defines it; its instances wait`,
        );
      }
      return;
    }
    const token = randomUUID();
    this.#live.set(token, key);
    this.#running.set(key, token);
    this.#byAccount.set(ref.account, (this.#byAccount.get(ref.account) ?? 0) + 1);
    this.#again.delete(key);
    this.#set(row, { status: 'running' });
    let outcome: WorkflowRunOutcome | { kind: 'failed'; error: Error };
    try {
      outcome = await this.#o.run(def.tenant, {
        className: def.className,
        binding: def.binding,
        token,
        instanceId: ref.id,
        workflowName: ref.workflow,
        payload: decodeValue(row.params),
        timestamp: row.created,
        steps: def.steps,
      });
    } catch (err) {
      outcome = { kind: 'failed', error: err as Error };
    } finally {
      this.#running.delete(key);
      this.#pausing.delete(key);
      const n = (this.#byAccount.get(ref.account) ?? 1) - 1;
      if (n > 0) this.#byAccount.set(ref.account, n);
      else this.#byAccount.delete(ref.account);
    }
    const valid = this.#live.delete(token);
    this.#drain();
    if (this.#closed) return;
    const now = this.#store.instance(ref);
    if (!now) return;
    if (!valid) {
      // Terminated or restarted while it ran: the outcome is not this instance's any more. A
      // restarted one runs again, unless a pause came meanwhile.
      if (FINISHED.has(now.status) || now.status === 'paused') return;
      if (now.pause) this.#set(now, { status: 'paused' });
      else this.#kick(key);
      return;
    }
    this.#settle(now, outcome);
  }

  #settle(row: InstanceRow, reported: WorkflowRunOutcome | { kind: 'failed'; error: Error }): void {
    const key = keyOf(row);
    // What the isolate reported is tenant-reachable (a run can tamper with the prelude's
    // intrinsics): anything but an outcome is a failed run.
    const kind = (reported as { kind?: unknown } | null | undefined)?.kind;
    const outcome: WorkflowRunOutcome | { kind: 'failed'; error: Error } =
      kind === 'complete' || kind === 'errored' || kind === 'suspended' || kind === 'failed'
        ? reported
        : { kind: 'failed', error: new Error('the run reported no outcome') };
    if (outcome.kind === 'complete') {
      let output: Buffer | null;
      try {
        output = encodeValue(outcome.value, 'The output of run()');
      } catch (err) {
        this.#set(row, {
          status: 'errored',
          error: JSON.stringify({ name: 'WorkflowFatalError', message: (err as Error).message }),
        });
        return;
      }
      this.#set(row, { status: 'complete', output, pause: 0, failures: 0 });
      return;
    }
    if (outcome.kind === 'errored') {
      const error = {
        name: String(outcome.error?.name ?? 'Error').slice(0, 100),
        message: String(outcome.error?.message ?? '').slice(0, 4096),
      };
      this.#o.log(
        'warn',
        `workflow "${row.workflow}" instance "${row.id}" errored: ${error.name}: ${error.message}`,
      );
      this.#set(row, { status: 'errored', error: JSON.stringify(error), pause: 0, failures: 0 });
      return;
    }
    if (outcome.kind === 'failed') {
      const failures = row.failures + 1;
      const message = String(outcome.error?.message ?? outcome.error).slice(0, 4096);
      if (failures >= MAX_RUN_FAILURES) {
        this.#o.log(
          'error',
          `workflow "${row.workflow}" instance "${row.id}": its run failed ${failures} times: ${message}`,
        );
        this.#set(row, {
          status: 'errored',
          error: JSON.stringify({
            name: 'WorkflowInternalError',
            message: `the run failed ${failures} times: ${message}`,
          }),
        });
        return;
      }
      this.#o.log(
        'warn',
        `workflow "${row.workflow}" instance "${row.id}": its run failed (${message}); it runs again`,
      );
      this.#set(row, { status: row.pause ? 'paused' : 'queued', failures });
      if (row.pause) return;
      const t = setTimeout(
        () => {
          this.#timers.delete(key);
          this.#kick(key);
        },
        250 * 2 ** failures,
      );
      t.unref();
      this.#timers.set(key, t);
      return;
    }
    // Suspended: paused, or waiting for its earliest wake.
    if (row.pause) {
      this.#set(row, { status: 'paused', failures: 0 });
      return;
    }
    if (this.#again.delete(key)) {
      this.#set(row, { status: 'waiting', failures: 0 });
      this.#kick(key);
      return;
    }
    if (this.#store.waiting(row).length === 0) {
      // Suspended with nothing to wait for: not a real suspension (a tampered run); counted as a
      // failed run, so it backs off and errors after a few.
      this.#settle(row, { kind: 'failed', error: new Error('the run stopped with no step waiting') });
      return;
    }
    this.#set(row, { status: 'waiting', failures: 0 });
    this.#arm(row);
  }
}
