/**
 * Background work of an `outpost dev` session, for the whole network (not per PoP): the cron
 * scheduler, the queue store with one consumer loop per consumed queue, and the Workflows
 * engine. Each fires its events at one runtime (the first PoP's), so a cron fires once per
 * tick, a message is with one consumer invocation at a time, and an instance has one run.
 * With `--nats`, queues are JetStream streams; workflow state is SQLite beside the project.
 */
import { join } from 'node:path';
import {
  type BatchOutcome,
  CronScheduler,
  deliveredBatch,
  NatsCronClaims,
  NatsQueueStore,
  NatsWorkflows,
  QueueConsumerLoop,
  type QueueStore,
  type SchedulerClock,
  SqliteQueueStore,
  WorkflowEngine,
  WorkflowStore,
} from '../background/index.ts';
import { bindingsOf, type WorkerConfig } from '../config/index.ts';
import type { Observer } from '../observability/index.ts';
import type { WorkflowRunOutcome } from '../runtime/bindings/protocol.ts';
import type { WorkflowHost } from '../runtime/bindings/types.ts';
import { DEFAULT_ACCOUNT, OutpostError, type QueueSink, queueId, type Runtime } from '../runtime/index.ts';
import { allOrClose } from './all-or-close.ts';

/** A served project as background work sees it. */
export interface BackgroundProject {
  tenant: string;
  readonly config: WorkerConfig;
}

export interface BackgroundOptions {
  rootDir: string;
  /** JetStream for queues (`--nats`). */
  nats?: string;
  /** JetStream replicas of the queue stream, cron claims and Workflow journal and lease (default 1). */
  natsReplicas?: number;
  observer: Observer;
  cronClock?: SchedulerClock;
  /** With --nats: how long a dead leader's instances wait before another process takes over, ms. */
  workflowLeaseMs?: number;
  /** Where workflow state lives (default `.outpost/workflows/workflows.sqlite`; ':memory:' none). */
  workflowsFile?: string;
}

const accountOf = (p: BackgroundProject) => p.config.accountId ?? DEFAULT_ACCOUNT;

export class Background {
  readonly scheduler: CronScheduler;
  readonly queueSink: QueueSink;
  readonly workflows: WorkflowEngine;
  readonly #queues: QueueStore;
  readonly #workflowStore: WorkflowStore;
  readonly #consumers = new Map<string, QueueConsumerLoop>();
  readonly #observer: Observer;
  #runtime: Runtime | null = null;
  #consumerKey = '';

  static async open(options: BackgroundOptions): Promise<Background> {
    // With NATS, the queue store and the cron claims connect at once.
    const [queues, claims] = await allOrClose([
      options.nats
        ? NatsQueueStore.connect({
            servers: options.nats,
            ...(options.natsReplicas ? { replicas: options.natsReplicas } : {}),
          })
        : (new SqliteQueueStore({
            file: join(options.rootDir, '.outpost', 'queues', 'queues.sqlite'),
          }) as QueueStore),
      options.nats ? NatsCronClaims.connect(options.nats, options.natsReplicas ?? 1) : null,
    ]);
    const bg = new Background(options, queues, claims);
    if (options.nats) {
      // Workflow state in a JetStream journal; one process of the network leads and runs them.
      try {
        bg.#nats = await NatsWorkflows.start({
          servers: options.nats,
          ...(options.natsReplicas ? { replicas: options.natsReplicas } : {}),
          engine: bg.workflows,
          store: bg.#workflowStore,
          log: (level, message) => bg.#log(level, message),
          ...(options.workflowLeaseMs ? { leaseMs: options.workflowLeaseMs } : {}),
        });
      } catch (err) {
        await claims?.close();
        await queues.close();
        throw err;
      }
    }
    return bg;
  }

  #nats: NatsWorkflows | null = null;

  /** What Workflow bindings call: the engine here, or with --nats the network's leader. */
  get workflowHost(): WorkflowHost {
    return this.#nats?.host ?? this.workflows;
  }

  readonly #claims: NatsCronClaims | null;

  private constructor(options: BackgroundOptions, queues: QueueStore, claims: NatsCronClaims | null) {
    this.#observer = options.observer;
    this.#queues = queues;
    this.#claims = claims;
    this.queueSink = {
      send: async (queue, messages) => {
        await queues.send(queue, messages);
        this.#consumers.get(queue)?.wake();
      },
    };
    this.scheduler = new CronScheduler({
      run: async (worker, cron, scheduledTime) => {
        // With --nats, other processes may serve this worker: one of them fires each tick.
        const won = await (this.#claims?.claim(worker, cron, scheduledTime, (err) =>
          this.#log(
            'warn',
            `scheduled "${cron}" of "${worker}": could not claim the firing over NATS (${err.message}); it runs here`,
          ),
        ) ?? true);
        if (!won) return;
        const started = performance.now();
        await this.#rt().event(worker, 'scheduled', [{ scheduledTime, cron }]);
        this.#log(
          'info',
          `scheduled "${cron}" of "${worker}" ran in ${(performance.now() - started).toFixed(1)} ms`,
        );
      },
      onError: (worker, cron, err) =>
        this.#log('error', `scheduled "${cron}" of "${worker}" failed: ${err.message}`),
      ...(options.cronClock ? { clock: options.cronClock } : {}),
    });
    // With --nats the file is a replica rebuilt from the journal at start: in memory.
    this.#workflowStore = new WorkflowStore(
      options.nats
        ? ':memory:'
        : (options.workflowsFile ?? join(options.rootDir, '.outpost', 'workflows', 'workflows.sqlite')),
    );
    this.workflows = new WorkflowEngine({
      store: this.#workflowStore,
      run: async (tenant, args) => (await this.#rt().event(tenant, 'workflow', [args])) as WorkflowRunOutcome,
      log: (level, message) => this.#log(level, message),
    });
  }

  /** The runtime background events run at (the first PoP's). */
  attach(runtime: Runtime): void {
    this.#runtime = runtime;
  }

  #rt(): Runtime {
    if (!this.#runtime) throw new Error('background work started before a runtime was attached');
    return this.#runtime;
  }

  #log(level: 'info' | 'warn' | 'error', message: string): void {
    this.#observer.log({ level, source: 'outpost', message });
  }

  /**
   * What the projects declare: crons, queue consumers, Workflow definitions. At start (`fatal`)
   * a problem throws; after a rebuild it is logged and the previous setup stays.
   */
  async configure(projects: BackgroundProject[], fatal: boolean): Promise<void> {
    const steps: [string, () => void | Promise<void>][] = [
      ['crons', () => this.#crons(projects, fatal)],
      ['queues', () => this.#consumersFor(projects)],
      ['workflows', () => this.#definitions(projects)],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        if (fatal) throw err;
        this.#log('error', `${what}: ${(err as Error).message}; the previous ${what} stay in force`);
      }
    }
  }

  start(): void {
    this.scheduler.start();
    // With --nats the engine runs where the lead is (it starts when this process takes it).
    if (this.#nats) this.#nats.begin();
    else this.workflows.start();
  }

  #crons(projects: BackgroundProject[], fatal: boolean): void {
    for (const p of projects) {
      try {
        this.scheduler.set(p.tenant, p.config.crons, `${p.config.configPath}: triggers.crons`);
      } catch (err) {
        if (fatal) throw new OutpostError('INVALID_CRON', (err as Error).message);
        this.#log('error', `${(err as Error).message}; the previous crons of "${p.tenant}" stay in force`);
      }
    }
  }

  /**
   * A consumer loop per `[[queues.consumers]]` of every project (one per queue in the session,
   * as Cloudflare allows one consumer per queue); made again when a rebuild changes them.
   */
  async #consumersFor(projects: BackgroundProject[]): Promise<void> {
    const wanted = projects.flatMap((p) =>
      p.config.queueConsumers.map((c) => ({ p, c, id: queueId(accountOf(p), c.queue) })),
    );
    const owners = new Map<string, string>();
    for (const w of wanted) {
      const other = owners.get(w.id);
      if (other !== undefined)
        throw new OutpostError(
          'INVALID_QUEUES',
          `${w.p.config.configPath}: queues.consumers: queue "${w.c.queue}" already has a consumer ("${other}"); Cloudflare allows one per queue`,
        );
      owners.set(w.id, w.p.tenant);
    }
    const key = JSON.stringify(wanted.map((w) => [w.p.tenant, w.c]));
    if (key === this.#consumerKey) return;
    this.#consumerKey = key;
    const old = [...this.#consumers.values()];
    this.#consumers.clear();
    await Promise.all(old.map((c) => c.close()));
    for (const { p, c, id } of wanted) {
      const loop = new QueueConsumerLoop({
        store: this.#queues,
        queue: id,
        ...(c.deadLetterQueue ? { deadLetterQueue: queueId(accountOf(p), c.deadLetterQueue) } : {}),
        config: c,
        deliver: async (batch) =>
          (await this.#rt().event(p.tenant, 'queue', [deliveredBatch(c.queue, batch)])) as BatchOutcome,
        log: (level, message) => this.#log(level, `"${p.tenant}": ${message}`),
        notify: (queue) => this.#consumers.get(queue)?.wake(),
      });
      this.#consumers.set(id, loop);
      loop.start();
    }
  }

  /** Which worker defines each Workflow: its `[[workflows]]` entry without script_name. */
  #definitions(projects: BackgroundProject[]): void {
    const defs = new Map<
      string,
      { account: string; name: string; tenant: string; className: string; binding: string; steps: number }
    >();
    for (const p of projects)
      for (const b of bindingsOf(p.config.bindings, 'workflow')) {
        if (b.scriptName !== undefined) continue;
        const account = accountOf(p);
        const k = `${account}/${b.name}`;
        const other = defs.get(k);
        if (other && other.tenant !== p.tenant)
          throw new OutpostError(
            'INVALID_WORKFLOWS',
            `${p.config.configPath}: workflows: the Workflow "${b.name}" is already defined by "${other.tenant}"; a Workflow has one defining worker`,
          );
        defs.set(k, {
          account,
          name: b.name,
          tenant: p.tenant,
          className: b.className,
          binding: b.binding,
          steps: b.steps,
        });
      }
    this.workflows.setDefinitions(
      [...defs.values()].map((d) => ({
        account: d.account,
        name: d.name,
        def: { tenant: d.tenant, className: d.className, binding: d.binding, steps: d.steps },
      })),
    );
  }

  /** Stop firing events (before the runtimes close). */
  async stop(): Promise<void> {
    await this.scheduler.close();
    await this.#nats?.close();
    await this.workflows.close();
    await Promise.all([...this.#consumers.values()].map((c) => c.close()));
  }

  /** Close the stores (after the runtimes). */
  async close(): Promise<void> {
    await this.#claims?.close();
    await this.#queues.close();
    this.#workflowStore.close();
  }
}
