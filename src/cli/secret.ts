/**
 * `outpost secret put | list | delete`: a worker's secrets for a network of nodes, as
 * `wrangler secret` does for Cloudflare. Secrets live in the JetStream bucket `outpost_secrets`,
 * never in an artifact; each change makes a new deployment of the versions already deployed
 * (src/control/agent.ts merges the secrets into their env), so nodes serve it within seconds
 * without a redeploy. Values are read from stdin or a file, never from the command line (it
 * would land in shell history and `ps`).
 */
import { readFileSync } from 'node:fs';
import { type Deployment, deploymentId, type NatsControlStore } from '../control/index.ts';
import { CliError } from './cache.ts';
import type { CliIo, Command } from './commands.ts';
import { NAME, REPLICAS, type Values, withStore, workerOf } from './deploy.ts';
import { NATS_OPTION as NATS } from './nats.ts';

const VALUE_FILE = {
  name: 'value-file',
  type: 'string' as const,
  help: 'read the value from this file (default: stdin, e.g. echo -n "$TOKEN" | outpost secret put NAME)',
};

async function readValue(v: Values): Promise<string> {
  if (typeof v['value-file'] === 'string') {
    try {
      return readFileSync(v['value-file'], 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new CliError(`--value-file: ${(err as Error).message}`);
    }
  }
  if (process.stdin.isTTY)
    throw new CliError('pipe the value in (echo -n "$VALUE" | outpost secret put NAME) or give --value-file');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Make the change reach the nodes: the current deployment again, with the new secrets revision. */
async function redeploy(io: CliIo, store: NatsControlStore, worker: string, revision: number, why: string) {
  const current = await store.deployment(worker);
  if (!current) {
    io.out(`  "${worker}" is not deployed yet: its first deployment will carry this\n`);
    return;
  }
  const now = new Date().toISOString();
  const d: Deployment = {
    ...current.deployment,
    id: deploymentId(),
    createdAt: now,
    updatedAt: now,
    message: why,
    secrets: revision,
  };
  await store.setDeployment(d, current.revision);
  io.out(`  deployment ${d.id}: the versions deployed now serve with it (nodes switch within seconds)\n`);
}

export const secretCommands: Command[] = [
  {
    name: 'secret put',
    args: '<NAME> [project]',
    summary: "Set a worker's secret on the network (value from stdin or --value-file)",
    options: [NATS, REPLICAS, NAME, VALUE_FILE],
    async run(positionals, v, io) {
      const [name, dir] = positionals;
      if (!name) throw new CliError('give the secret name: outpost secret put NAME');
      const worker = workerOf(dir ? [dir] : [], v);
      const value = await readValue(v);
      return withStore(v, async (store) => {
        const revision = await store.putSecret(worker, name, value);
        io.out(`Secret ${name} of "${worker}" set\n`);
        await redeploy(io, store, worker, revision, `secret ${name} set`);
        return 0;
      });
    },
  },
  {
    name: 'secret list',
    args: '[project]',
    summary: "The names of a worker's secrets (never their values)",
    options: [NATS, REPLICAS, NAME],
    async run(positionals, v, io) {
      const worker = workerOf(positionals, v);
      return withStore(v, async (store) => {
        for (const n of Object.keys((await store.secrets(worker)).values).sort()) io.out(`${n}\n`);
        return 0;
      });
    },
  },
  {
    name: 'secret delete',
    args: '<NAME> [project]',
    summary: "Delete a worker's secret on the network",
    options: [NATS, REPLICAS, NAME],
    async run(positionals, v, io) {
      const [name, dir] = positionals;
      if (!name) throw new CliError('give the secret name: outpost secret delete NAME');
      const worker = workerOf(dir ? [dir] : [], v);
      return withStore(v, async (store) => {
        const revision = await store.deleteSecret(worker, name);
        if (revision === null) throw new CliError(`"${worker}" has no secret ${name}`);
        io.out(`Secret ${name} of "${worker}" deleted\n`);
        await redeploy(io, store, worker, revision, `secret ${name} deleted`);
        return 0;
      });
    },
  },
];
