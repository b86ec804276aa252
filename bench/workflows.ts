/**
 * Workflow steps per second (issue: "workflow steps/s"): `instances` instances of a Workflow
 * that runs `steps` step.do() calls in a row, from create() to every instance complete, through
 * the engine and a worker's isolate (each step: a call to the engine, its record written to
 * SQLite, the callback, its output written). The baseline, same run: the
 * store alone writing the same two step records per step, with no isolate and no engine. Then
 * the same through the engine on a network sharing NATS (`--nats`): the leading process
 * journals every step's records to JetStream before answering (skipped, and said so, without
 * nats-server).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsWorkflows, WorkflowEngine, WorkflowStore } from '../src/background/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { noopObserver } from '../src/observability/index.ts';
import type { WorkflowRunOutcome } from '../src/runtime/bindings/protocol.ts';
import type { WorkflowHost } from '../src/runtime/bindings/types.ts';
import { bundleWorker, DEFAULT_ACCOUNT, Runtime } from '../src/runtime/index.ts';
import { fmt, median } from './util.ts';

const CONFIG = { limit: 5, delayMs: 1000, backoff: 'exponential' as const, timeoutMs: 600_000 };

function storeAlone(file: string, instances: number, steps: number): number {
  const store = new WorkflowStore(file);
  const t = performance.now();
  for (let i = 0; i < instances; i++) {
    const ref = { account: 'a', workflow: 'w', id: `i${i}` };
    store.create(ref, null, Date.now());
    for (let s = 1; s <= steps; s++) {
      const row = {
        key: `do:step:${s}`,
        kind: 'do' as const,
        state: 'running' as const,
        attempts: 1,
        wake: null,
        config: CONFIG,
        output: null,
        error: null,
        eventType: null,
      };
      store.putStep(ref, row);
      store.putStep(ref, { ...row, state: 'done', output: Buffer.from([0xff, 0x0f, 0x49, 0x02]) });
    }
  }
  const rate = (instances * steps) / ((performance.now() - t) / 1000);
  store.close();
  return rate;
}

/** Steps/s through the engine and a worker's isolate: SQLite, or journaled to JetStream at `nats`. */
async function throughEngine(
  file: string,
  bundle: Awaited<ReturnType<typeof bundleWorker>>,
  config: ReturnType<typeof loadConfig>,
  opts: { instances: number; steps: number },
  nats?: string,
): Promise<number> {
  const store = new WorkflowStore(nats ? ':memory:' : file);
  let runtime: Runtime | null = null;
  let finished = 0;
  let done = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const engine = new WorkflowEngine({
    store,
    run: async (tenant, args) => {
      const out = (await (runtime as Runtime).event(tenant, 'workflow', [args])) as WorkflowRunOutcome;
      if (out.kind !== 'suspended' && ++finished === opts.instances) setImmediate(done);
      return out;
    },
    log: () => {},
  });
  const network = nats ? await NatsWorkflows.start({ servers: nats, engine, store, log: () => {} }) : null;
  const host: WorkflowHost = network?.host ?? engine;
  runtime = new Runtime({ observer: noopObserver, poolSize: 1, workflows: host, limits: { cpuMs: 10_000 } });
  runtime.deploy('wf', bundle, config);
  await runtime.warm('wf');
  engine.setDefinitions([
    {
      account: DEFAULT_ACCOUNT,
      name: 'steps',
      def: { tenant: 'wf', className: 'Steps', binding: 'STEPS', steps: 100_000 },
    },
  ]);
  if (network) {
    network.begin();
    for (let i = 0; i < 500 && !network.leading; i++) await new Promise((r) => setTimeout(r, 10));
    if (!network.leading) throw new Error('workflow bench: this process did not take the lead');
  } else engine.start();
  // A NATS server's stream keeps earlier rounds' instances: ids of this round are its own.
  const run = Math.random().toString(36).slice(2, 8);
  const t = performance.now();
  for (let i = 0; i < opts.instances; i++)
    await host.create(DEFAULT_ACCOUNT, 'steps', `r${run}-${i}`, { n: opts.steps });
  await all;
  const rate = (opts.instances * opts.steps) / ((performance.now() - t) / 1000);
  const s = engine.status({ account: DEFAULT_ACCOUNT, workflow: 'steps', id: `r${run}-0` });
  if (s.status !== 'complete' || s.output !== (opts.steps * (opts.steps - 1)) / 2)
    throw new Error(`workflow bench: an instance ended ${JSON.stringify(s)}`);
  await network?.close();
  await engine.close();
  await runtime.close();
  store.close();
  return rate;
}

export async function workflowsBench(opts: { instances: number; steps: number; rounds: number }) {
  const config = loadConfig(join(import.meta.dirname, 'fixtures', 'workflow'), { warn: () => {} });
  const bundle = await bundleWorker(config, { root: join(import.meta.dirname, '..') });
  const bare: number[] = [];
  const engineRates: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-workflow-'));
    try {
      bare.push(storeAlone(join(dir, 'a.sqlite'), opts.instances, opts.steps));
      engineRates.push(await throughEngine(join(dir, 'b.sqlite'), bundle, config, opts));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const table = [
    `Workflows — ${opts.instances} instances × ${opts.steps} step.do() each, ${opts.rounds} rounds (medians)`,
    `  store alone, SQLite (two step records per step)          ${fmt(median(bare), 0)} steps/s`,
    `  engine + isolate, SQLite (create → all complete)         ${fmt(median(engineRates), 0)} steps/s   ratio ${fmt(median(engineRates) / median(bare))}x`,
  ];
  const ratios: Record<string, number> = {
    workflowStepsPerSec: median(engineRates),
    workflowVsStore: median(engineRates) / median(bare),
  };
  let server: Awaited<ReturnType<typeof startNatsServer>> | null = null;
  try {
    server = await startNatsServer();
  } catch (err) {
    table.push(`  on NATS: not measured (${(err as Error).message})`);
  }
  if (server) {
    try {
      const nats: number[] = [];
      for (let round = 0; round < opts.rounds; round++)
        nats.push(await throughEngine('', bundle, config, opts, server.url));
      table.push(
        `  engine + isolate, journaled to JetStream (--nats)       ${fmt(median(nats), 0)} steps/s   ratio to SQLite ${fmt(median(nats) / median(engineRates))}x`,
      );
      ratios.workflowNatsStepsPerSec = median(nats);
    } finally {
      await server.stop();
    }
  }
  return { table, ratios };
}
