/**
 * Workflow state on SQLite (better-sqlite3, WAL): every instance of every Workflow of a network
 * in one file, so an instance resumes after a restart or kill -9 exactly where its last
 * acknowledged step left it.
 *
 * - `workflow_instances`: one row per instance: its status, params, output or error, whether a
 *   pause was asked for, and how many runs in a row failed before reaching a step.
 * - `workflow_steps`: one row per step of an instance, keyed `kind:name:count` as the step's
 *   code names it: a `do` step's attempts, state (running, waiting, done, failed), output or
 *   error, retry config; a sleep's wake time; a waitForEvent's deadline, event type and event.
 * - `workflow_events`: events sent to an instance, oldest first; a waitForEvent takes the oldest
 *   untaken one of its type and records which step took it.
 *
 * Values (params, outputs, event payloads) are stored as the host's structured clone
 * (node:v8 serialize), so Dates, Maps and typed arrays come back as they went in.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type InstanceStatus =
  | 'queued'
  | 'running'
  | 'paused'
  | 'errored'
  | 'terminated'
  | 'complete'
  | 'waiting'
  | 'waitingForPause';

export interface InstanceRef {
  account: string;
  workflow: string;
  id: string;
}

export interface InstanceRow extends InstanceRef {
  status: InstanceStatus;
  params: Buffer | null;
  created: number;
  updated: number;
  output: Buffer | null;
  /** JSON { name, message } when errored. */
  error: string | null;
  pause: number;
  failures: number;
}

export interface StepConfigRow {
  limit: number;
  delayMs: number;
  backoff: 'constant' | 'linear' | 'exponential';
  timeoutMs: number;
}

export interface StepRow {
  key: string;
  kind: 'do' | 'sleep' | 'wait';
  state: 'running' | 'waiting' | 'done' | 'failed';
  attempts: number;
  /** Sleeps: when it is over; retries: when the next attempt may start; waits: the deadline. */
  wake: number | null;
  config: StepConfigRow | null;
  output: Buffer | null;
  error: string | null;
  eventType: string | null;
}

interface StepDbRow {
  step: string;
  kind: StepRow['kind'];
  state: StepRow['state'];
  attempts: number;
  wake: number | null;
  config: string | null;
  output: Buffer | null;
  error: string | null;
  event_type: string | null;
}

const ACTIVE = `('queued','running','waiting','waitingForPause')`;

/**
 * One change to the store, as it is written to a journal (journal.ts) and applied by replicas:
 * every write of the engine is one of these, so a replica that applies them in order holds the
 * same state. Byte values are the store's structured-clone buffers.
 */
export type JournalOp =
  | { t: 'create'; ref: InstanceRef; params: Buffer | null; now: number }
  | {
      t: 'update';
      row: Pick<
        InstanceRow,
        'account' | 'workflow' | 'id' | 'status' | 'output' | 'error' | 'pause' | 'failures'
      >;
      now: number;
    }
  | { t: 'step'; ref: InstanceRef; step: StepRow }
  | { t: 'reset'; ref: InstanceRef }
  | { t: 'event'; ref: InstanceRef; seq: number; type: string; payload: Buffer | null; at: number }
  | { t: 'take'; ref: InstanceRef; seq: number; step: StepRow }
  /** A new writer starts (journal.ts): changes nothing here. */
  | { t: 'epoch'; writer: string };

export class WorkflowStore {
  readonly #db: Database.Database;
  readonly #s: Record<string, Database.Statement>;
  /** Where each write is reported, when the store is replicated (journal.ts); null: nowhere. */
  journal: ((op: JournalOp) => void) | null = null;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    // synchronous=NORMAL: a step's record is in the WAL before the engine answers, so it
    // survives kill -9 of the process; only a power loss can lose the latest records, and the
    // steps they recorded run again (at-least-once, as on Workers). FULL (an fsync per record)
    // halves steps/s (bench/workflows.ts).
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS workflow_instances (
        account TEXT NOT NULL, workflow TEXT NOT NULL, id TEXT NOT NULL,
        status TEXT NOT NULL, params BLOB, created INTEGER NOT NULL, updated INTEGER NOT NULL,
        output BLOB, error TEXT, pause INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, workflow, id)
      );
      CREATE INDEX IF NOT EXISTS workflow_instances_status ON workflow_instances (status);
      CREATE TABLE IF NOT EXISTS workflow_steps (
        account TEXT NOT NULL, workflow TEXT NOT NULL, id TEXT NOT NULL, step TEXT NOT NULL,
        kind TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        wake INTEGER, config TEXT, output BLOB, error TEXT, event_type TEXT,
        PRIMARY KEY (account, workflow, id, step)
      );
      CREATE TABLE IF NOT EXISTS workflow_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL, workflow TEXT NOT NULL, id TEXT NOT NULL,
        type TEXT NOT NULL, payload BLOB, at INTEGER NOT NULL, taken TEXT
      );
      CREATE INDEX IF NOT EXISTS workflow_events_instance ON workflow_events (account, workflow, id, type, taken);
      CREATE TABLE IF NOT EXISTS workflow_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    `);
    const where = 'account = @account AND workflow = @workflow AND id = @id';
    this.#s = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO workflow_instances (account, workflow, id, status, params, created, updated)
         VALUES (@account, @workflow, @id, 'queued', @params, @now, @now)`,
      ),
      instance: db.prepare(`SELECT * FROM workflow_instances WHERE ${where}`),
      update: db.prepare(
        `UPDATE workflow_instances SET status = @status, output = @output, error = @error,
         pause = @pause, failures = @failures, updated = @now WHERE ${where}`,
      ),
      active: db.prepare(`SELECT * FROM workflow_instances WHERE status IN ${ACTIVE} ORDER BY created`),
      list: db.prepare(
        `SELECT account, workflow, id, status, created, updated FROM workflow_instances
         WHERE (@account IS NULL OR account = @account) AND (@workflow IS NULL OR workflow = @workflow)
         ORDER BY created DESC LIMIT @limit`,
      ),
      step: db.prepare(`SELECT * FROM workflow_steps WHERE ${where} AND step = @step`),
      steps: db.prepare(`SELECT * FROM workflow_steps WHERE ${where} ORDER BY rowid`),
      waiting: db.prepare(`SELECT * FROM workflow_steps WHERE ${where} AND state = 'waiting'`),
      putStep: db.prepare(
        `INSERT OR REPLACE INTO workflow_steps
         (account, workflow, id, step, kind, state, attempts, wake, config, output, error, event_type)
         VALUES (@account, @workflow, @id, @step, @kind, @state, @attempts, @wake, @config, @output, @error, @eventType)`,
      ),
      deleteSteps: db.prepare(`DELETE FROM workflow_steps WHERE ${where}`),
      addEvent: db.prepare(
        `INSERT INTO workflow_events (seq, account, workflow, id, type, payload, at)
         VALUES (@seq, @account, @workflow, @id, @type, @payload, @at)`,
      ),
      getMeta: db.prepare('SELECT v FROM workflow_meta WHERE k = ?'),
      setMeta: db.prepare('INSERT OR REPLACE INTO workflow_meta (k, v) VALUES (?, ?)'),
      nextEvent: db.prepare(
        `SELECT seq, payload, at FROM workflow_events
         WHERE ${where} AND type = @type AND taken IS NULL ORDER BY seq LIMIT 1`,
      ),
      takeEvent: db.prepare('UPDATE workflow_events SET taken = @step WHERE seq = @seq'),
      pendingEvents: db.prepare(`SELECT COUNT(*) AS n FROM workflow_events WHERE ${where} AND taken IS NULL`),
      untakeEvents: db.prepare(`UPDATE workflow_events SET taken = NULL WHERE ${where}`),
      counts: db.prepare(
        `SELECT account, workflow, status, COUNT(*) AS n FROM workflow_instances GROUP BY account, workflow, status`,
      ),
    };
  }

  /** A new instance (queued); false when one with this id exists. */
  create(ref: InstanceRef, params: Buffer | null, now: number): boolean {
    const made = this.#s.insert.run({ ...pick(ref), params, now }).changes === 1;
    if (made) this.journal?.({ t: 'create', ref: pick(ref), params, now });
    return made;
  }

  instance(ref: InstanceRef): InstanceRow | undefined {
    return this.#s.instance.get(pick(ref)) as InstanceRow | undefined;
  }

  update(
    row: Pick<
      InstanceRow,
      'account' | 'workflow' | 'id' | 'status' | 'output' | 'error' | 'pause' | 'failures'
    >,
    now: number,
  ): void {
    // Only the fields a row holds (the caller's object may carry more, e.g. a whole InstanceRow).
    const fields = {
      ...pick(row),
      status: row.status,
      output: row.output,
      error: row.error,
      pause: row.pause,
      failures: row.failures,
    };
    this.#s.update.run({ ...fields, now });
    this.journal?.({ t: 'update', row: fields, now });
  }

  /** Instances not finished (queued, running, waiting, waiting for pause), oldest first. */
  active(): InstanceRow[] {
    return this.#s.active.all() as InstanceRow[];
  }

  list(filter: {
    account?: string;
    workflow?: string;
    limit?: number;
  }): Omit<InstanceRow, 'params' | 'output' | 'error' | 'pause' | 'failures'>[] {
    return this.#s.list.all({
      account: filter.account ?? null,
      workflow: filter.workflow ?? null,
      limit: filter.limit ?? 100,
    }) as InstanceRow[];
  }

  /** Instances by account, Workflow and status. */
  counts(): { account: string; workflow: string; status: InstanceStatus; n: number }[] {
    return this.#s.counts.all() as { account: string; workflow: string; status: InstanceStatus; n: number }[];
  }

  step(ref: InstanceRef, key: string): StepRow | undefined {
    const r = this.#s.step.get({ ...pick(ref), step: key }) as StepDbRow | undefined;
    return r && fromDb(r);
  }

  steps(ref: InstanceRef): StepRow[] {
    return (this.#s.steps.all(pick(ref)) as StepDbRow[]).map(fromDb);
  }

  /** Steps waiting: sleeps, retries and waits for events. */
  waiting(ref: InstanceRef): StepRow[] {
    return (this.#s.waiting.all(pick(ref)) as StepDbRow[]).map(fromDb);
  }

  putStep(ref: InstanceRef, s: StepRow): void {
    this.#putStep(ref, s);
    this.journal?.({ t: 'step', ref: pick(ref), step: { ...s } });
  }

  #putStep(ref: InstanceRef, s: StepRow): void {
    this.#s.putStep.run({
      ...pick(ref),
      step: s.key,
      kind: s.kind,
      state: s.state,
      attempts: s.attempts,
      wake: s.wake,
      config: s.config ? JSON.stringify(s.config) : null,
      output: s.output,
      error: s.error,
      eventType: s.eventType,
    });
  }

  /** Forget every step (restart): events already sent may be taken again. */
  reset(ref: InstanceRef): void {
    this.#db.transaction(() => {
      this.#s.deleteSteps.run(pick(ref));
      this.#s.untakeEvents.run(pick(ref));
    })();
    this.journal?.({ t: 'reset', ref: pick(ref) });
  }

  addEvent(
    ref: InstanceRef,
    type: string,
    payload: Buffer | null,
    at: number,
    seq: number | null = null,
  ): void {
    const r = this.#s.addEvent.run({ ...pick(ref), seq, type, payload, at });
    this.journal?.({ t: 'event', ref: pick(ref), seq: Number(r.lastInsertRowid), type, payload, at });
  }

  /** Events sent to this instance that no waitForEvent has taken. */
  pendingEvents(ref: InstanceRef): number {
    return (this.#s.pendingEvents.get(pick(ref)) as { n: number }).n;
  }

  /** Whether an untaken event of `type` is waiting for this instance. */
  hasEvent(ref: InstanceRef, type: string): boolean {
    return this.#s.nextEvent.get({ ...pick(ref), type }) !== undefined;
  }

  /** The oldest untaken event of `type`, marked taken by `step` together with the step's row. */
  takeEvent(
    ref: InstanceRef,
    type: string,
    step: StepRow,
    done: (e: { payload: Buffer | null; at: number }) => StepRow,
  ): StepRow | null {
    return this.#db.transaction(() => {
      const e = this.#s.nextEvent.get({ ...pick(ref), type }) as
        | { seq: number; payload: Buffer | null; at: number }
        | undefined;
      if (!e) return null;
      this.#s.takeEvent.run({ seq: e.seq, step: step.key });
      const s = done(e);
      this.#putStep(ref, s);
      this.journal?.({ t: 'take', ref: pick(ref), seq: e.seq, step: { ...s } });
      return s;
    })();
  }

  /** Forget everything (a replica about to be rebuilt from its journal). */
  wipe(): void {
    this.#db.exec(
      'DELETE FROM workflow_instances; DELETE FROM workflow_steps; DELETE FROM workflow_events; DELETE FROM workflow_meta;',
    );
  }

  /** The journal sequence this store holds changes up to (0: none). */
  get appliedSeq(): number {
    return (this.#s.getMeta.get('journal_seq') as { v: number } | undefined)?.v ?? 0;
  }

  set appliedSeq(seq: number) {
    this.#s.setMeta.run('journal_seq', seq);
  }

  /** The changes of one journal message, in one transaction. */
  applyAll(ops: JournalOp[], seq: number): void {
    this.#db.transaction(() => {
      for (const op of ops) this.apply(op, seq);
      this.appliedSeq = seq;
    })();
  }

  /** A change another process wrote (journal sequence `seq`), applied as it was made there. */
  apply(op: JournalOp, seq: number): void {
    const journal = this.journal;
    this.journal = null;
    try {
      this.#db.transaction(() => {
        switch (op.t) {
          case 'create':
            this.create(op.ref, op.params, op.now);
            break;
          case 'update':
            this.update(op.row, op.now);
            break;
          case 'step':
            this.#putStep(op.ref, op.step);
            break;
          case 'reset':
            this.reset(op.ref);
            break;
          case 'event':
            this.addEvent(op.ref, op.type, op.payload, op.at, op.seq);
            break;
          case 'take':
            this.#s.takeEvent.run({ seq: op.seq, step: op.step.key });
            this.#putStep(op.ref, op.step);
            break;
          default:
            break;
        }
        this.appliedSeq = seq;
      })();
    } finally {
      this.journal = journal;
    }
  }

  close(): void {
    this.#db.close();
  }
}

function pick(ref: InstanceRef): InstanceRef {
  return { account: ref.account, workflow: ref.workflow, id: ref.id };
}

function fromDb(r: StepDbRow): StepRow {
  return {
    key: r.step,
    kind: r.kind,
    state: r.state,
    attempts: r.attempts,
    wake: r.wake,
    config: r.config ? (JSON.parse(r.config) as StepConfigRow) : null,
    output: r.output,
    error: r.error,
    eventType: r.event_type,
  };
}
