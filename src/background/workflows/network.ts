/**
 * Workflows for a network of processes on NATS (`--nats`): one process leads (lease.ts) — its
 * engine runs every instance and journals each write (journal.ts) before answering — and every
 * process can use the Workflow bindings: calls made where the lead is not are sent to the leader
 * over NATS (request/reply on outpost.workflows.rpc) and answered there. When the leader goes
 * away (stops, is killed, is cut off), the lease runs out, another process takes it, catches up
 * with the journal and resumes every instance where the journal left it.
 *
 * Reads for the admin API (counts, lists, steps) come from the local replica, which follows
 * the journal a few milliseconds behind.
 */

import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { natsServers } from '../../config/index.ts';
import type { WorkflowHost } from '../../runtime/bindings/types.ts';
import { type WorkflowEngine, WorkflowError } from './engine.ts';
import { JournalConflict, NatsWorkflowJournal } from './journal.ts';
import { NatsLease } from './lease.ts';
import type { WorkflowStore } from './store.ts';

const RPC = 'outpost.workflows.rpc';
const METHODS = new Set(['create', 'get', 'status', 'pause', 'resume', 'terminate', 'restart', 'sendEvent']);
type Method = 'create' | 'get' | 'status' | 'pause' | 'resume' | 'terminate' | 'restart' | 'sendEvent';

export interface NatsWorkflowsOptions {
  servers: string;
  /** JetStream replicas of what this makes (3 on a three-server NATS cluster; default 1). Existing streams keep theirs. */
  replicas?: number;
  engine: WorkflowEngine;
  store: WorkflowStore;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Lease length, ms (default 5000): how long instances wait after their leader dies. */
  leaseMs?: number;
}

export class NatsWorkflows {
  readonly id = randomUUID();
  readonly #o: NatsWorkflowsOptions;
  readonly #nc: NatsConnection;
  readonly #journal: NatsWorkflowJournal;
  #lease: NatsLease | null = null;
  #rpc: Subscription | null = null;
  /** Role changes, one at a time. */
  #changing: Promise<void> = Promise.resolve();
  #leading = false;
  #closed = false;

  private constructor(o: NatsWorkflowsOptions, nc: NatsConnection, journal: NatsWorkflowJournal) {
    this.#o = o;
    this.#nc = nc;
    this.#journal = journal;
  }

  static async start(o: NatsWorkflowsOptions): Promise<NatsWorkflows> {
    const nc = await connect({ servers: natsServers(o.servers), name: 'outpost-workflows-rpc' });
    let journal: NatsWorkflowJournal | null = null;
    try {
      journal = await NatsWorkflowJournal.connect({
        servers: o.servers,
        ...(o.replicas ? { replicas: o.replicas } : {}),
        store: o.store,
        onError: (err) => o.log('warn', err.message),
      });
      await journal.follow();
      const w = new NatsWorkflows(o, nc, journal);
      w.#lease = await NatsLease.connect({
        servers: o.servers,
        ...(o.replicas ? { replicas: o.replicas } : {}),
        id: w.id,
        ...(o.leaseMs ? { ttlMs: o.leaseMs } : {}),
        onAcquire: () => w.#role(true),
        onLose: () => w.#role(false),
        onError: (err) => o.log('warn', `Workflows lease: ${err.message}`),
      });
      return w;
    } catch (err) {
      await journal?.close().catch(() => {});
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** Compete for the lead (once this process knows its Workflow definitions). */
  begin(): void {
    this.#lease?.start();
  }

  get leading(): boolean {
    return this.#leading;
  }

  #role(lead: boolean): void {
    this.#changing = this.#changing
      .then(() => (lead ? this.#lead() : this.#follow()))
      .catch((err) => this.#o.log('error', `Workflows: changing role failed: ${(err as Error).message}`));
  }

  async #lead(): Promise<void> {
    if (this.#leading || this.#closed) return;
    try {
      await this.#journal.lead(this.id, () => this.#role(false));
    } catch (err) {
      // Could not become the writer (the journal did not answer, or kept moving): give the
      // lease up so another process (or this one, later) takes it, and follow again.
      this.#o.log('warn', `Workflows: could not take the lead: ${(err as Error).message}`);
      await this.#journal.stepDown().catch((e) => this.#o.log('error', `Workflows: ${(e as Error).message}`));
      await this.#lease?.release();
      return;
    }
    if (this.#closed) return;
    this.#leading = true;
    this.#o.engine.start();
    this.#rpc = this.#nc.subscribe(RPC, { callback: (_err, m) => void this.#serve(m) });
    this.#o.log('info', 'Workflows: this process leads (instances run here)');
  }

  async #follow(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.#rpc?.unsubscribe();
    this.#rpc = null;
    await this.#o.engine.close();
    try {
      await this.#journal.stepDown();
    } catch (err) {
      this.#o.log('error', `Workflows: following the journal again failed: ${(err as Error).message}`);
    }
    // The journal refused this process (or failed it): the lease goes too, so another leads.
    await this.#lease?.release();
    if (!this.#closed)
      this.#o.log('warn', 'Workflows: this process no longer leads; another one runs the instances');
  }

  async #serve(m: { data: Uint8Array; respond(data: Uint8Array): boolean }): Promise<void> {
    let reply: { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };
    try {
      const { method, args } = deserialize(Buffer.from(m.data)) as { method: Method; args: unknown[] };
      if (!METHODS.has(method)) throw new WorkflowError('unknown Workflows call', 'TypeError');
      reply = { ok: true, value: await this.#local(method, args) };
    } catch (err) {
      const e = err as Error;
      reply = { ok: false, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? err) } };
    }
    try {
      m.respond(serialize(reply));
    } catch {
      m.respond(
        serialize({ ok: false, error: { name: 'DataCloneError', message: 'the answer cannot be sent' } }),
      );
    }
  }

  /** A call on this process's engine, answered once its writes are in the journal. */
  async #local(method: Method, args: unknown[]): Promise<unknown> {
    if (!this.#leading)
      throw new WorkflowError('Workflows: the lead moved while the call was on its way; try again');
    const e = this.#o.engine as unknown as Record<Method, (...a: unknown[]) => unknown>;
    const value = e[method](...args);
    try {
      await this.#journal.flush();
    } catch (err) {
      if (err instanceof JournalConflict)
        throw new WorkflowError(
          'Workflows: this process lost the lead before the change was saved; try again',
        );
      throw err;
    }
    return value;
  }

  /** A call from a binding here: on this engine when it leads, else sent to the leader. */
  async #call(method: Method, args: unknown[]): Promise<unknown> {
    if (this.#leading) return this.#local(method, args);
    let answer: { ok: boolean; value?: unknown; error?: { name: string; message: string } };
    try {
      const r = await this.#nc.request(RPC, serialize({ method, args }), { timeout: 10_000 });
      answer = deserialize(Buffer.from(r.data)) as typeof answer;
    } catch (err) {
      throw new WorkflowError(
        `Workflows: no process leads them right now (${(err as Error).message}); try again in a few seconds`,
      );
    }
    if (!answer.ok)
      throw new WorkflowError(answer.error?.message ?? 'Workflows call failed', answer.error?.name);
    return answer.value;
  }

  /** What the Workflow bindings of this process use. */
  readonly host: WorkflowHost = {
    create: (account, workflow, id, params) =>
      this.#call('create', [account, workflow, id, params]) as Promise<string>,
    get: (ref) => this.#call('get', [ref]) as Promise<void>,
    status: (ref) => this.#call('status', [ref]) as ReturnType<WorkflowHost['status']>,
    pause: (ref) => this.#call('pause', [ref]) as Promise<void>,
    resume: (ref) => this.#call('resume', [ref]) as Promise<void>,
    terminate: (ref) => this.#call('terminate', [ref]) as Promise<void>,
    restart: (ref) => this.#call('restart', [ref]) as Promise<void>,
    sendEvent: (ref, type, payload) => this.#call('sendEvent', [ref, type, payload]) as Promise<void>,
    // Runs happen only where the lead is: their step calls are local.
    owns: (token, account, workflow) => this.#o.engine.owns(token, account, workflow),
    step: async (token, call) => {
      const reply = this.#o.engine.step(token, call);
      try {
        await this.#journal.flush();
      } catch {
        return { kind: 'stop' };
      }
      return reply;
    },
  };

  get connected(): boolean {
    return !this.#nc.isClosed() && this.#journal.connected;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#changing.catch(() => {});
    if (this.#leading) {
      // Stop running, and let what was written reach the journal, before the lease goes.
      this.#leading = false;
      this.#rpc?.unsubscribe();
      await this.#o.engine.close();
      await this.#journal.flush().catch(() => {});
    }
    await this.#lease?.close();
    await this.#journal.close();
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
