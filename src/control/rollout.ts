/**
 * Driving a deployment through its waves (waves.ts): release a wave, let it bake while the
 * nodes' heartbeats report the new version's health, judge it against the previous version, and
 * release the next — or roll back everywhere when a gate fails. The driver is the `outpost
 * deploy` process; every step is a compare-and-set on the deployment record, so a deploy or
 * rollback made meanwhile by someone else stops it instead of being overwritten. Interrupted,
 * a rollout stays at its last released wave (`outpost deployments status` shows it) until the
 * next deploy or rollback.
 */
import type { Member } from '../network/index.ts';
import { type Deployment, deploymentId, type Split } from './deployment.ts';
import type { NatsControlStore } from './nats-store.ts';
import { type GateOptions, judge } from './waves.ts';

export interface RolloutOptions {
  store: Pick<NatsControlStore, 'deployment' | 'setDeployment' | 'secrets'>;
  /** The nodes present now (a Membership's members()). */
  members: () => Member[];
  worker: string;
  /** What the deployment serves once complete. */
  versions: Split[];
  /** The waves; null: every PoP at once. */
  waves: string[][] | null;
  message?: string;
  sticky?: boolean;
  /** How long each wave serves before it is judged, ms. */
  bakeMs: number;
  /** How long nodes may take to switch to the version, ms. */
  switchTimeoutMs: number;
  gate?: GateOptions;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Record the deployment and take it through its waves; resolves with its final state. */
export async function rollout(o: RolloutOptions): Promise<Deployment> {
  const current = await o.store.deployment(o.worker);
  const previous = current
    ? current.deployment.status === 'rolled_back'
      ? current.deployment.previous
      : current.deployment.versions
    : [];
  const now = new Date().toISOString();
  // The worker's secrets as they are now travel with every deployment (outpost secret put).
  const secrets = (await o.store.secrets(o.worker)).revision;
  // A first deployment has nothing to compare with or fall back to: everywhere at once.
  const waves = previous.length && o.waves?.length ? o.waves : null;
  const d: Deployment = {
    id: deploymentId(),
    worker: o.worker,
    createdAt: now,
    updatedAt: now,
    ...(o.message ? { message: o.message } : {}),
    versions: o.versions,
    previous,
    waves,
    released: waves ? 1 : 0,
    status: waves ? 'rolling' : 'complete',
    sticky: o.sticky ?? false,
    ...(secrets ? { secrets } : {}),
  };
  let revision = await o.store.setDeployment(d, current?.revision ?? 0);
  const save = async () => {
    d.updatedAt = new Date().toISOString();
    revision = await o.store.setDeployment(d, revision);
  };
  if (!waves) return d;
  const target = [...o.versions].sort((a, b) => b.percentage - a.percentage)[0].version;
  const before = [...previous].sort((a, b) => b.percentage - a.percentage)[0]?.version ?? null;
  for (let i = 0; i < waves.length; i++) {
    const released = waves.slice(0, i + 1).flat();
    o.log(`wave ${i + 1}/${waves.length}: ${waves[i].join(', ')}`);
    const start = performance.now();
    for (;;) {
      await sleep(Math.min(200, o.bakeMs || 200));
      const v = judge(o.members(), o.worker, target, before, released, o.gate);
      const waited = performance.now() - start;
      if (v.state === 'fail') {
        d.status = 'rolled_back';
        d.reason = `wave ${i + 1} (${waves[i].join(', ')}) failed its gate: ${v.reason}`;
        await save();
        o.log(`  rolled back: ${v.reason}`);
        return d;
      }
      if (waited < o.bakeMs) continue;
      if (v.state === 'pass') {
        o.log(`  healthy: ${v.reason}`);
        break;
      }
      if (v.pending === 'traffic') {
        o.log(`  passed without a verdict: ${v.reason} in ${o.bakeMs} ms`);
        break;
      }
      if (waited > o.bakeMs + o.switchTimeoutMs) {
        d.status = 'rolled_back';
        d.reason = `wave ${i + 1} (${waves[i].join(', ')}): ${v.reason} after ${o.switchTimeoutMs} ms`;
        await save();
        o.log(`  rolled back: ${d.reason}`);
        return d;
      }
    }
    if (i + 1 < waves.length) {
      d.released = i + 2;
      await save();
    }
  }
  d.status = 'complete';
  await save();
  return d;
}
