/**
 * A network's deployments as the dashboard shows them (`GET /__outpost/deployments` on a node):
 * each worker's current deployment — its versions, waves and how many are released, its status
 * and the last gate's verdict — with the version each node serves; and a rollback made from the
 * dashboard (`POST /__outpost/deployments/<worker>/rollback`), as `outpost rollback` makes it:
 * the version that served before the current deployment, everywhere at once.
 */
import type { Member } from '../network/index.ts';
import { DeployError, type Deployment, WORKER_NAME } from './deployment.ts';
import type { NatsControlStore } from './nats-store.ts';
import { rollout } from './rollout.ts';

type Store = Pick<NatsControlStore, 'workers' | 'deployment' | 'setDeployment' | 'secrets' | 'version'>;

export interface WorkerDeployments {
  worker: string;
  /** Its current deployment; null: never deployed. */
  deployment: Deployment | null;
  /** Each node present, with the version of this worker it serves (null: none yet). */
  nodes: {
    pop: string;
    id: string;
    version: string | null;
    failed: { version: string; error: string } | null;
  }[];
}

export async function deploymentsView(store: Store, members: () => Member[]): Promise<WorkerDeployments[]> {
  const out: WorkerDeployments[] = [];
  for (const worker of (await store.workers()).sort()) {
    const current = await store.deployment(worker);
    out.push({
      worker,
      deployment: current?.deployment ?? null,
      nodes: members()
        .map((n) => {
          const w = n.workers.find((x) => x.worker === worker);
          return { pop: n.pop, id: n.id, version: w?.version ?? null, failed: w?.failed ?? null };
        })
        .sort((a, b) => (a.pop < b.pop ? -1 : a.pop > b.pop ? 1 : 0)),
    });
  }
  return out;
}

/**
 * Serve `version` (a stored version's id or its hex prefix) of `worker` again, or by default the
 * version that served most before its current deployment; resolves with the new deployment.
 */
export async function rollbackWorker(
  store: Store,
  members: () => Member[],
  worker: string,
  version: string | undefined,
  message = 'rollback (dashboard)',
): Promise<Deployment> {
  if (!WORKER_NAME.test(worker))
    throw new DeployError('BAD_NAME', `"${worker.slice(0, 80)}" is not a worker name`);
  const current = await store.deployment(worker);
  if (!current) throw new DeployError('NOT_DEPLOYED', `"${worker}" has never been deployed`);
  let target: string;
  if (version) target = (await store.version(worker, version)).id;
  else {
    const before = current.deployment.previous;
    if (before.length === 0)
      throw new DeployError('NOTHING_BEFORE', `"${worker}" has no earlier deployment to roll back to`);
    target = [...before].sort((a, b) => b.percentage - a.percentage)[0].version;
  }
  return rollout({
    store,
    members,
    worker,
    versions: [{ version: target, percentage: 100 }],
    waves: null,
    message,
    bakeMs: 0,
    switchTimeoutMs: 0,
    log: () => {},
  });
}
