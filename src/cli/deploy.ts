/**
 * `outpost deploy`, `outpost versions list`, `outpost deployments list|status` and
 * `outpost rollback`, as wrangler's (https://developers.cloudflare.com/workers/configuration/versions-and-deployments/),
 * on a network of nodes that share a NATS server: a deploy bundles once, stores the artifact in
 * JetStream (src/control/), and takes a deployment every node follows through its waves, each
 * gated on the new version's health (src/control/waves.ts), rolling back when a gate fails.
 */
import { loadConfig } from '../config/index.ts';
import {
  checkSplits,
  DEFAULT_WAVES,
  DeployError,
  makeArtifact,
  NatsControlStore,
  planWaves,
  rollout,
  type Split,
} from '../control/index.ts';
import { loadTopology, type Member, Membership, popById, popNodes } from '../network/index.ts';
import { bundleWorker } from '../runtime/index.ts';
import { CliError } from './cache.ts';
import type { CliIo, Command, OptionSpec } from './commands.ts';
import { NATS_OPTION as NATS, natsOf } from './nats.ts';

export const REPLICAS: OptionSpec = {
  name: 'replicas',
  type: 'number',
  default: 1,
  help: 'JetStream replicas of the buckets this makes if they are missing (3 on a NATS cluster)',
};
export const NAME: OptionSpec = {
  name: 'name',
  type: 'string',
  help: 'the worker (default: the project’s name)',
};

export type Values = Record<string, string | number | boolean | string[] | undefined>;

/** The worker a command is about: --name, else the name in the project's config. */
export function workerOf(positionals: string[], v: Values): string {
  if (typeof v.name === 'string') return v.name;
  return loadConfig(positionals[0] ?? '.', { warn: () => {}, devVars: false }).name;
}

export async function withStore<T>(v: Values, fn: (s: NatsControlStore) => Promise<T>): Promise<T> {
  let store: NatsControlStore;
  try {
    store = await NatsControlStore.connect({
      servers: natsOf(v),
      name: 'outpost-cli',
      replicas: Number(v.replicas ?? 1),
    });
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
async function nodesPresent(nats: string, replicas: number): Promise<Member[]> {
  const m = await Membership.connect({ servers: nats, replicas });
  try {
    await m.watch();
    return popNodes(m.members());
  } finally {
    await m.close();
  }
}

type Worker = Member['workers'][number];

/**
 * Wait until every node present serves `version` of `worker` (or reports it failed), up to
 * `timeoutMs`; print who does and who does not. With `split` (a gradual deployment), a node
 * counts once it serves that split too: before, it still served `version` alone (or an earlier
 * split), and the wait ended before any node had switched.
 */
async function awaitRollout(
  io: CliIo,
  m: Membership,
  worker: string,
  version: string,
  timeoutMs: number,
  split?: { version: string; percentage: number; sticky: boolean },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const serving = (w: Worker | undefined) =>
    w?.version === version &&
    (!split ||
      (w.split?.version === split.version &&
        w.split.percentage === split.percentage &&
        !!w.sticky === split.sticky));
  const failing = (w: Worker | undefined) =>
    w?.failed?.version === version || (!!split && w?.failed?.version === split.version);
  for (;;) {
    const nodes = popNodes(m.members());
    const state = (n: Member) => n.workers.find((w) => w.worker === worker);
    const done = nodes.filter((n) => serving(state(n)));
    const failed = nodes.filter((n) => !serving(state(n)) && failing(state(n)));
    if (done.length + failed.length === nodes.length || Date.now() > deadline) {
      const what = split ? ` and ${short(split.version)} for ${split.percentage}%` : '';
      io.out(`  ${done.length} of ${nodes.length} node(s) serve ${short(version)}${what}\n`);
      for (const n of failed) io.out(`  ${n.id} (${n.pop}) failed to load it: ${state(n)?.failed?.error}\n`);
      for (const n of nodes.filter((x) => !done.includes(x) && !failed.includes(x)))
        io.out(`  ${n.id} (${n.pop}) has not switched within ${timeoutMs} ms\n`);
      return failed.length === 0 && done.length === nodes.length;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WAIT: OptionSpec = {
  name: 'wait',
  type: 'number',
  default: 30_000,
  help: 'ms to wait for every node to switch (0: do not wait)',
};

/** Take a deployment of `versions` through its waves, printing each step; 0 when it completed. */
async function deployVersions(
  io: CliIo,
  store: NatsControlStore,
  v: Values,
  worker: string,
  versions: Split[],
  waves: string | null,
): Promise<number> {
  const nats = natsOf(v);
  const members = await Membership.connect({ servers: nats, replicas: Number(v.replicas ?? 1) });
  try {
    await members.watch();
    const topology = loadTopology(String(v.topology ?? 'world'));
    const pops = [...new Set(popNodes(members.members()).map((m) => m.pop))].sort();
    const plan =
      waves === null || waves === 'all'
        ? null
        : planWaves(
            waves,
            pops,
            (id) => !!popById(topology, id),
            typeof v.canary === 'string' ? v.canary : undefined,
          );
    const d = await rollout({
      store,
      members: () => popNodes(members.members()),
      worker,
      versions,
      waves: plan,
      ...(typeof v.message === 'string' ? { message: v.message } : {}),
      sticky: v.sticky === true,
      bakeMs: Number(v['bake-ms'] ?? 0),
      switchTimeoutMs: Number(v.wait) || 30_000,
      gate: {
        ...(v['min-requests'] !== undefined ? { minRequests: Number(v['min-requests']) } : {}),
        ...(v['max-error-rate'] !== undefined ? { maxErrorRate: Number(v['max-error-rate']) } : {}),
      },
      log: (line) => io.out(`  ${line}\n`),
    });
    io.out(
      `Deployment ${d.id}: ${d.status}, serving ${splitText(d.status === 'rolled_back' ? d.previous : d.versions)}\n`,
    );
    if (d.status === 'rolled_back') return 1;
    if (!v.wait) return 0;
    if (popNodes(members.members()).length === 0)
      io.out('  no node is running: nodes serve the deployment as they start (outpost node)\n');
    const [target, second] = [...versions].sort((a, b) => b.percentage - a.percentage);
    const split = second ? { ...second, sticky: v.sticky === true } : undefined;
    return (await awaitRollout(io, members, worker, target.version, Number(v.wait), split)) ? 0 : 1;
  } finally {
    await members.close();
  }
}

export const deployCommand: Command = {
  name: 'deploy',
  args: '[dir]',
  summary: 'Bundle a worker once, store it as a version in the network and deploy it in waves',
  options: [
    NATS,
    REPLICAS,
    { name: 'env', type: 'string', help: 'the config’s [env.NAME] to deploy' },
    { name: 'message', type: 'string', help: 'a note kept with the version and the deployment' },
    {
      name: 'waves',
      type: 'string',
      default: DEFAULT_WAVES,
      help: 'the plan: ";"-separated steps, each "canary", "N%", "*" or PoP ids ("FRA,LHR"); "all": every PoP at once',
    },
    { name: 'canary', type: 'string', help: 'the canary PoP (default: the first PoP with a live node)' },
    {
      name: 'bake-ms',
      type: 'number',
      default: 30_000,
      help: 'how long each wave serves before it is judged',
    },
    {
      name: 'min-requests',
      type: 'number',
      default: 20,
      help: 'requests a wave needs before its gate can judge it',
    },
    {
      name: 'max-error-rate',
      type: 'number',
      default: 0.02,
      help: 'error rate (0–1) allowed when the previous version gives no baseline',
    },
    {
      name: 'percentage',
      type: 'number',
      help: 'a gradual deployment: the new version takes this share of requests, the current one the rest',
    },
    {
      name: 'sticky',
      type: 'boolean',
      default: false,
      help: 'with --percentage: a client keeps its version',
    },
    { name: 'topology', type: 'string', default: 'world', help: 'the network’s topology (to check PoP ids)' },
    WAIT,
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
      io.out(
        `Stored "${config.name}" version ${short(info.id)}${created ? '' : ' (already stored)'} in ${(performance.now() - started).toFixed(0)} ms\n`,
      );
      let versions: Split[] = [{ version: info.id, percentage: 100 }];
      let waves: string | null = String(v.waves);
      if (v.percentage !== undefined) {
        const current = await store.deployment(config.name);
        // The split is with what serves most now (a new split replaces an earlier one).
        const primary = [...(current?.deployment.versions ?? [])]
          .filter((s) => s.version !== info.id)
          .sort((a, b) => b.percentage - a.percentage)[0]?.version;
        if (!primary)
          throw new CliError(`--percentage needs a deployed version of "${config.name}" to split with`);
        const pct = Number(v.percentage);
        versions = checkSplits([
          { version: info.id, percentage: pct },
          { version: primary, percentage: 100 - pct },
        ]);
        waves = null; // a split is itself the gradual step
      }
      return deployVersions(io, store, v, config.name, versions, waves);
    });
  },
};

export const versionCommands: Command[] = [
  {
    name: 'versions list',
    args: '[dir]',
    summary: 'The stored versions of a worker, newest first',
    options: [NATS, REPLICAS, NAME],
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
    options: [NATS, REPLICAS, NAME],
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
    options: [NATS, REPLICAS, NAME],
    async run(positionals, v, io) {
      const worker = workerOf(positionals, v);
      return withStore(v, async (store) => {
        const current = await store.deployment(worker);
        if (!current) throw new CliError(`"${worker}" has never been deployed`);
        const d = current.deployment;
        io.out(`Deployment ${d.id} (${d.status}), ${d.createdAt}: ${splitText(d.versions)}\n`);
        if (d.reason) io.out(`  ${d.reason}\n`);
        for (const n of await nodesPresent(natsOf(v), Number(v.replicas ?? 1))) {
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
      REPLICAS,
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
        io.out(`Rolling "${worker}" back to version ${short(target)}\n`);
        return deployVersions(
          io,
          store,
          { ...v, message: v.message ?? 'rollback' },
          worker,
          [{ version: target, percentage: 100 }],
          null,
        );
      });
    },
  },
];
