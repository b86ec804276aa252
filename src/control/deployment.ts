/**
 * Versions and deployments as data: what `outpost deploy` writes and what every node reads to
 * decide which version of a worker it serves. A deployment names the versions it serves when
 * complete (one, or two with a traffic split) and what served before; while it rolls out in
 * waves, PoPs of the waves released so far serve the new versions and the rest the previous ones.
 * Rolled back, every PoP serves the previous ones again. Pure functions, no I/O.
 */

export interface VersionInfo {
  /** sha256 hex of the artifact (artifact.ts). */
  id: string;
  worker: string;
  /** ISO time of the first deploy of this content. */
  createdAt: string;
  message?: string;
  /** Size of the stored (compressed) artifact. */
  bytes: number;
  /** sha256 of the code alone. */
  codeHash: string;
}

export interface Split {
  version: string;
  /** Share of requests, 0–100; the splits of a deployment add up to 100. */
  percentage: number;
}

export type DeploymentStatus = 'rolling' | 'complete' | 'rolled_back';

export interface Deployment {
  /** Unique per deployment (time-ordered). */
  id: string;
  worker: string;
  createdAt: string;
  message?: string;
  /** What the deployment serves once complete. */
  versions: Split[];
  /** What served before it (empty for a worker's first deployment). */
  previous: Split[];
  /** The rollout plan: waves of PoP ids, canaries first; null: every PoP at once. */
  waves: string[][] | null;
  /** How many waves are released (their PoPs serve `versions`). */
  released: number;
  status: DeploymentStatus;
  /** Why it was rolled back, or what the last gate measured. */
  reason?: string;
  /** A client keeps the version it was given first (by its address), when there are two. */
  sticky: boolean;
  /** When the status last changed. */
  updatedAt: string;
  /**
   * The worker's secrets revision this deployment was made with (outpost secret put): a change
   * makes a new deployment of the same versions, which nodes apply with the new secrets.
   */
  secrets?: number;
}

/** Worker names are stored as KV keys and object names: the characters wrangler allows. */
export const WORKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/;

export class DeployError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The splits a PoP serves now under a deployment. */
export function servedAt(d: Deployment, pop: string): Split[] {
  if (d.status === 'rolled_back') return d.previous;
  if (d.status === 'complete' || d.waves === null) return d.versions;
  const reached = d.waves.slice(0, d.released).some((w) => w.includes(pop));
  return reached || d.previous.length === 0 ? d.versions : d.previous;
}

/** Check a split list: one or two distinct versions, whole percentages adding up to 100. */
export function checkSplits(splits: Split[]): Split[] {
  if (splits.length < 1 || splits.length > 2)
    throw new DeployError(
      'INVALID_SPLIT',
      `a deployment serves one or two versions, received ${splits.length}`,
    );
  if (splits.length === 2 && splits[0].version === splits[1].version)
    throw new DeployError('INVALID_SPLIT', 'the two versions of a split must differ');
  let total = 0;
  for (const s of splits) {
    if (!Number.isInteger(s.percentage) || s.percentage < 0 || s.percentage > 100)
      throw new DeployError(
        'INVALID_SPLIT',
        `a version's percentage must be a whole number from 0 to 100, received ${s.percentage}`,
      );
    total += s.percentage;
  }
  if (total !== 100)
    throw new DeployError(
      'INVALID_SPLIT',
      `the percentages of a deployment add up to 100, received ${total}`,
    );
  return splits;
}

/**
 * Which of two splits a request takes: sticky ones by a hash of the client's key, others at
 * random. `roll` is a number in [0, 100).
 */
export function pickSplit(splits: Split[], roll: number): string {
  let acc = 0;
  for (const s of splits) {
    acc += s.percentage;
    if (roll < acc) return s.version;
  }
  return splits[splits.length - 1].version;
}

/** A stable roll in [0, 100) for a sticky key (the runtime's, src/runtime/split.ts). */
export { stickyRoll } from '../runtime/index.ts';

/** A time-ordered unique id: ms since epoch in base 36, then randomness. */
export function deploymentId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${Math.random().toString(36).slice(2, 8)}`;
}
