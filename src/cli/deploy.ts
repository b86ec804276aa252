/**
 * `outpost deploy`, `outpost versions list`, `outpost deployments list|status` and
 * `outpost rollback`, as wrangler's (https://developers.cloudflare.com/workers/configuration/versions-and-deployments/),
 * on a network of nodes that share a NATS server: a deploy bundles once, stores the artifact in
 * JetStream (src/control/), and records a deployment every node follows.
 */
import { loadConfig } from '../config/index.ts';
import {
  DeployError,
  type Deployment,
  deploymentId,
  makeArtifact,
  NatsControlStore,
  type Split,
} from '../control/index.ts';
import { type Member, Membership } from '../network/index.ts';
import { bundleWorker } from '../runtime/index.ts';
import { CliError } from './cache.ts';
import type { CliIo, Command, OptionSpec } from './commands.ts';

const NATS: OptionSpec = {
  name: 'nats',
  type: 'string',
  help: 'NATS server URL of the network (default $OUTPOST_NATS)',
};
const NAME: OptionSpec = { name: 'name', type: 'string', help: 'the worker (default: the project’s name)' };

type Values = Record<string, string | number | boolean | string[] | undefined>;

function natsOf(v: Values): string {
  const url = typeof v.nats === 'string' ? v.nats : process.env.OUTPOST_NATS;
  if (!url) throw new CliError('give --nats URL (or set OUTPOST_NATS): the NATS server of the network');
  return url;
}

/** The worker a command is about: --name, else the name in the project's config. */
function workerOf(positionals: string[], v: Values): string {
  if (typeof v.name === 'string') return v.name;
  return loadConfig(positionals[0] ?? '.', { warn: () => {}, devVars: false }).name;
}

async function withStore<T>(v: Values, fn: (s: NatsControlStore) => Promise<T>): Promise<T> {
  let store: NatsControlStore;
  try {
    store = await NatsControlStore.connect({ servers: natsOf(v), name: 'outpost-cli' });
  } catch (err) {
    throw new CliError(`--nats: ${(err as Error).message}`);
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof DeployError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

const short = (id: string) => id.slice(0, 12);
const splitText = (s: Split[]) =>
  s.map((x) => `${short(x.version)} (${x.percentage}%)`).join(', ') || 'nothing';

/** The nodes present (each says which version of every worker it serves). */
async function nodesPresent(nats: string): Promise<Member[]> {
  const m = await Membership.connect({ servers: nats });
  try {
    await m.watch();
    return m.members();
  } finally {
    await m.close();
  }
}

/**
 * Wait until every node present serves `version` of `worker` (or reports it failed), up to
 * `timeoutMs`; print who does and who does not.
 */
async function awaitRollout(
  io: CliIo,
  nats: string,
  worker: string,
  version: string,
  timeoutMs: number,
): Promise<boolean> {
  const m = await Membership.connect({ servers: nats });
  try {
    await m.watch();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nodes = m.members();
      const state = (n: Member) => n.workers.find((w) => w.worker === worker);
      const done = nodes.filter((n) => state(n)?.version === version);
      const failed = nodes.filter((n) => state(n)?.failed?.version === version);
      if (done.length + failed.length === nodes.length || Date.now() > deadline) {
        io.out(`  ${done.length} of ${nodes.length} node(s) serve ${short(version)}\n`);
        for (const n of failed)
          io.out(`  ${n.id} (${n.pop}) failed to load it: ${state(n)?.failed?.error}\n`);
        for (const n of nodes.filter((x) => !done.includes(x) && !failed.includes(x)))
          io.out(`  ${n.id} (${n.pop}) has not switched within ${timeoutMs} ms\n`);
        return failed.length === 0 && done.length === nodes.length;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await m.close();
  }
}

/** Write a deployment of `versions` for `worker`, replacing the current one (compare-and-set). */
async function record(
  store: NatsControlStore,
  worker: string,
  versions: Split[],
  message: string | undefined,
): Promise<Deployment> {
  const current = await store.deployment(worker);
  const now = new Date().toISOString();
  const d: Deployment = {
    id: deploymentId(),
    worker,
    createdAt: now,
    updatedAt: now,
    ...(message ? { message } : {}),
    versions,
    previous: current
      ? current.deployment.status === 'rolled_back'
        ? current.deployment.previous
        : current.deployment.versions
      : [],
    waves: null,
    released: 0,
    status: 'complete',
    sticky: false,
  };
  await store.setDeployment(d, current?.revision ?? 0);
  return d;
}

export const deployCommand: Command = {
  name: 'deploy',
  args: '[dir]',
  summary: 'Bundle a worker once, store it as a version in the network and deploy it to every node',
  options: [
    NATS,
    { name: 'env', type: 'string', help: 'the config’s [env.NAME] to deploy' },
    { name: 'message', type: 'string', help: 'a note kept with the version and the deployment' },
    {
      name: 'wait',
      type: 'number',
      default: 30_000,
      help: 'ms to wait for every node to switch (0: do not wait)',
    },
  ],
  async run(positionals, v, io) {
    const dir = positionals[0] ?? '.';
    const config = loadConfig(dir, {
      warn: (m) => io.err(`warning: ${m}\n`),
      devVars: false,
      ...(typeof v.env === 'string' ? { env: v.env } : {}),
    });
    const started = performance.now();
    const bundle = await bundleWorker(config);
    const { artifact } = makeArtifact(config, bundle);
    const message = typeof v.message === 'string' ? v.message : undefined;
    return withStore(v, async (store) => {
      const { info, created } = await store.putVersion(artifact, message);
      const d = await record(store, config.name, [{ version: info.id, percentage: 100 }], message);
      io.out(
        `Deployed "${config.name}" version ${short(info.id)}${created ? '' : ' (already stored)'} as deployment ${d.id} in ${(performance.now() - started).toFixed(0)} ms\n`,
      );
      if (!v.wait) return 0;
      return (await awaitRollout(io, natsOf(v), config.name, info.id, Number(v.wait))) ? 0 : 1;
    });
  },
};

export const versionCommands: Command[] = [
  {
    name: 'versions list',
    args: '[dir]',
    summary: 'The stored versions of a worker, newest first',
    options: [NATS, NAME],
    async run(positionals, v, io) {
      const worker = workerOf(positionals, v);
      return withStore(v, async (store) => {
        const current = await store.deployment(worker);
        const live = new Set(current?.deployment.versions.map((s) => s.version));
        for (const x of await store.versions(worker))
          io.out(
            `${short(x.id)}  ${x.createdAt}  ${String(x.bytes).padStart(9)} B${live.has(x.id) ? '  (deployed)' : ''}${x.message ? `  ${x.message}` : ''}\n`,
          );
        return 0;
      });
    },
  },
  {
    name: 'deployments list',
    args: '[dir]',
    summary: 'The deployments of a worker, newest first',
    options: [NATS, NAME],
    async run(positionals, v, io) {
      const worker = workerOf(positionals, v);
      return withStore(v, async (store) => {
        for (const d of await store.deployments(worker))
          io.out(
            `${d.id}  ${d.createdAt}  ${d.status.padEnd(11)}  ${splitText(d.versions)}${d.message ? `  ${d.message}` : ''}\n`,
          );
        return 0;
      });
    },
  },
  {
    name: 'deployments status',
    args: '[dir]',
    summary: 'The current deployment of a worker and the version each node serves',
    options: [NATS, NAME],
    async run(positionals, v, io) {
      const worker = workerOf(positionals, v);
      return withStore(v, async (store) => {
        const current = await store.deployment(worker);
        if (!current) throw new CliError(`"${worker}" has never been deployed`);
        const d = current.deployment;
        io.out(`Deployment ${d.id} (${d.status}), ${d.createdAt}: ${splitText(d.versions)}\n`);
        if (d.reason) io.out(`  ${d.reason}\n`);
        for (const n of await nodesPresent(natsOf(v))) {
          const w = n.workers.find((x) => x.worker === worker);
          io.out(
            `  ${n.pop.padEnd(5)} ${n.id}  ${w?.version ? short(w.version) : '-'}${w?.failed ? `  (failed: ${short(w.failed.version)} ${w.failed.error})` : ''}\n`,
          );
        }
        return 0;
      });
    },
  },
  {
    name: 'rollback',
    args: '[version]',
    summary: 'Serve an earlier version again (default: the one before the current deployment)',
    options: [
      NATS,
      NAME,
      { name: 'project', type: 'string', default: '.', help: 'the Workers project folder (for its name)' },
      { name: 'message', type: 'string', help: 'why (kept with the deployment)' },
      {
        name: 'wait',
        type: 'number',
        default: 30_000,
        help: 'ms to wait for every node to switch (0: do not wait)',
      },
    ],
    async run(positionals, v, io) {
      const worker = workerOf([String(v.project)], v);
      return withStore(v, async (store) => {
        const current = await store.deployment(worker);
        if (!current) throw new CliError(`"${worker}" has never been deployed`);
        let target: string;
        if (positionals[0]) target = (await store.version(worker, positionals[0])).id;
        else {
          const before = current.deployment.previous;
          if (before.length === 0)
            throw new CliError(`"${worker}" has no earlier deployment to roll back to`);
          target = [...before].sort((a, b) => b.percentage - a.percentage)[0].version;
        }
        const message = typeof v.message === 'string' ? v.message : 'rollback';
        const d = await record(store, worker, [{ version: target, percentage: 100 }], message);
        io.out(`Rolled "${worker}" back to version ${short(target)} (deployment ${d.id})\n`);
        if (!v.wait) return 0;
        return (await awaitRollout(io, natsOf(v), worker, target, Number(v.wait))) ? 0 : 1;
      });
    },
  },
];
