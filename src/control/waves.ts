/**
 * Deploying in waves (the seed's fix for its third incident: a global deploy cold-started every
 * isolate at once): a plan of PoP waves, canaries first, and the gate each wave must pass before
 * the next is released — the new version's health on the PoPs that have it against the previous
 * version's, from the nodes' heartbeats (health.ts). Pure functions; rollout.ts drives them.
 */
import type { Member } from '../network/index.ts';
import { DeployError } from './deployment.ts';
import type { VersionHealth } from './health.ts';

/** The default plan: one canary PoP, then a quarter of the PoPs, then the rest. */
export const DEFAULT_WAVES = 'canary;25%;*';

/**
 * Waves from a plan: `;`-separated steps, each `canary` (one PoP: `canary`, else the first of
 * `pops`), `N%` (PoPs until N% of them are released), `*` (every PoP left) or a comma list of
 * PoP ids. `pops` are the PoPs with live nodes, in the order they are taken; empty waves are
 * dropped. PoPs a plan never names get the version when the rollout completes.
 */
export function planWaves(
  spec: string,
  pops: string[],
  known: (id: string) => boolean,
  canary?: string,
): string[][] {
  const left = [...pops];
  const released: string[] = [];
  const waves: string[][] = [];
  const take = (ids: string[]) => {
    const wave = ids.filter((id) => !released.includes(id));
    for (const id of wave) {
      released.push(id);
      const i = left.indexOf(id);
      if (i >= 0) left.splice(i, 1);
    }
    if (wave.length) waves.push(wave);
  };
  for (const raw of spec.split(';')) {
    const step = raw.trim();
    if (step === '') throw new DeployError('INVALID_WAVES', `--waves "${spec}": an empty step`);
    if (step === 'canary') {
      const c = canary ?? left[0];
      if (c && !known(c)) throw new DeployError('INVALID_WAVES', `--canary ${c}: not a PoP of the topology`);
      if (c) take([c.toUpperCase()]);
    } else if (step === '*') take([...left]);
    else if (/^\d{1,3}%$/.test(step)) {
      const pct = Number(step.slice(0, -1));
      if (pct < 1 || pct > 100)
        throw new DeployError('INVALID_WAVES', `--waves: "${step}" is not 1% to 100%`);
      const target = Math.ceil((pops.length * pct) / 100);
      take(left.slice(0, Math.max(0, target - released.filter((r) => pops.includes(r)).length)));
    } else {
      const ids = step.split(',').map((s) => s.trim().toUpperCase());
      for (const id of ids)
        if (!known(id))
          throw new DeployError('INVALID_WAVES', `--waves: "${id}" is not a PoP of the topology`);
      take(ids);
    }
  }
  return waves;
}

export interface GateOptions {
  /** Error rate (5xx) allowed when there is no baseline to compare with (default 0.02). */
  maxErrorRate?: number;
  /** Requests the new version needs before it is judged (default 20). */
  minRequests?: number;
  /** p99 allowed: baseline × factor + slack (defaults 1.5 and 50 ms). */
  p99Factor?: number;
  p99SlackMs?: number;
}

export interface Verdict {
  state: 'waiting' | 'pass' | 'fail';
  /** While waiting: for nodes to switch, or for enough requests to judge. */
  pending?: 'switch' | 'traffic';
  reason: string;
}

function sum(list: (VersionHealth | undefined)[]): VersionHealth {
  const out = { requests: 0, errors: 0, cpuKills: 0, p99Ms: 0 };
  for (const h of list) {
    if (!h) continue;
    out.requests += h.requests;
    out.errors += h.errors;
    out.cpuKills += h.cpuKills;
    if (h.requests > 0) out.p99Ms = Math.max(out.p99Ms, h.p99Ms);
  }
  return out;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * How the new version does on the released PoPs: `fail` when a node could not load it or its
 * error rate, p99 or CPU-limit kills are worse than the previous version's (or than the
 * absolute limits when there is none); `waiting` while nodes have not switched or it has served
 * too few requests; else `pass`.
 */
export function judge(
  members: Member[],
  worker: string,
  version: string,
  previous: string | null,
  released: string[],
  o: GateOptions = {},
): Verdict {
  const minRequests = o.minRequests ?? 20;
  const on = members.filter((m) => released.includes(m.pop));
  for (const m of on) {
    const w = m.workers.find((x) => x.worker === worker);
    if (w?.failed?.version === version)
      return { state: 'fail', reason: `node ${m.id} (${m.pop}) could not load it: ${w.failed.error}` };
  }
  const behind = on.filter((m) => m.workers.find((x) => x.worker === worker)?.version !== version);
  if (behind.length)
    return { state: 'waiting', pending: 'switch', reason: `${behind.length} node(s) have not switched yet` };
  const fresh = sum(on.map((m) => m.health?.[`${worker}@${version}`]));
  const base = previous ? sum(members.map((m) => m.health?.[`${worker}@${previous}`])) : sum([]);
  if (fresh.requests < minRequests)
    return {
      state: 'waiting',
      pending: 'traffic',
      reason: `${fresh.requests} request(s) so far, ${minRequests} needed to judge`,
    };
  const rate = fresh.errors / fresh.requests;
  const hasBase = base.requests >= minRequests;
  const baseRate = hasBase ? base.errors / base.requests : 0;
  const allowed = hasBase ? Math.max(baseRate * 2, baseRate + 0.01) : (o.maxErrorRate ?? 0.02);
  const numbers = `${fresh.requests} requests, ${pct(rate)} errors, p99 ${fresh.p99Ms} ms${hasBase ? ` (previous: ${pct(baseRate)}, p99 ${base.p99Ms} ms)` : ''}`;
  if (rate > allowed)
    return { state: 'fail', reason: `error rate ${pct(rate)} over ${pct(allowed)}: ${numbers}` };
  if (hasBase) {
    const p99Allowed = base.p99Ms * (o.p99Factor ?? 1.5) + (o.p99SlackMs ?? 50);
    if (fresh.p99Ms > p99Allowed)
      return { state: 'fail', reason: `p99 ${fresh.p99Ms} ms over ${p99Allowed.toFixed(0)} ms: ${numbers}` };
    const kills = fresh.cpuKills / fresh.requests;
    const baseKills = base.cpuKills / base.requests;
    if (kills > baseKills + 0.01)
      return {
        state: 'fail',
        reason: `CPU-limit kills ${pct(kills)} (previous ${pct(baseKills)}): ${numbers}`,
      };
  }
  return { state: 'pass', reason: numbers };
}
