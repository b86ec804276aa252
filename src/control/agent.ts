/**
 * A node's side of deploys: follow every worker's deployment, work out which version this PoP
 * serves under it (deployment.ts servedAt), fetch that artifact once (kept on disk, so a
 * restart needs no download), and hand it to the PoP to pre-warm and switch. Changes are
 * applied one at a time in the order NATS delivers them; a version that fails to load is
 * recorded (and reported in the node's heartbeat) while the previous one keeps serving.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerConfig } from '../config/index.ts';
import type { Bundle } from '../runtime/index.ts';
import { type Artifact, decodeArtifact, materialize } from './artifact.ts';
import { type Deployment, servedAt } from './deployment.ts';
import type { NatsControlStore } from './nats-store.ts';

/** A version unpacked and ready to deploy. */
export interface Unpacked {
  version: string;
  bundle: Bundle;
  config: WorkerConfig;
  /** The revision of the worker's secrets merged into `config.vars` (0: none). */
  secretsRevision?: number;
}

/**
 * What the PoP does with a deployment: pre-warm `primary` and make it current (Runtime.stage),
 * and with a gradual deployment pre-warm `split` for its share (Runtime.stageSplit), or end one.
 */
export type Switch = (
  worker: string,
  primary: Unpacked,
  split: (Unpacked & { percentage: number; sticky: boolean }) | null,
) => Promise<void>;

export interface Served {
  worker: string;
  /** The version serving now (the larger share of a split), or null before the first succeeded. */
  version: string | null;
  /** A gradual deployment's second version and its share. */
  split?: { version: string; percentage: number };
  deployment: string;
  sticky?: boolean;
  /** The last version that failed to load here, and why. */
  failed?: { version: string; error: string };
  /** The secrets revision serving (outpost secret put). */
  secrets?: number;
}

export interface AgentOptions {
  store: Pick<NatsControlStore, 'artifactBytes' | 'workers' | 'deployment' | 'watch' | 'secrets'>;
  pop: string;
  /** Where artifacts and their unpacked assets are kept. */
  dir: string;
  switchTo: Switch;
  /** After a worker's served version changed (or failed). */
  onChange?: (s: Served) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** How often deployments are also read directly, besides the watch, ms (default 5000). */
  reconcileMs?: number;
}

export class DeployAgent {
  readonly #o: AgentOptions;
  readonly #served = new Map<string, Served>();
  /** Unpacked versions: id → what the runtime deploys. */
  readonly #unpacked = new Map<string, Unpacked>();
  #stop: (() => void) | null = null;
  #queue: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;

  constructor(o: AgentOptions) {
    this.#o = o;
    mkdirSync(o.dir, { recursive: true });
  }

  /** Apply every current deployment (resolves once done), then follow changes. */
  async start(): Promise<void> {
    for (const worker of await this.#o.store.workers()) {
      const d = await this.#o.store.deployment(worker);
      if (d) await this.apply(d.deployment);
    }
    this.#stop = await this.#o.store.watch((d) => {
      this.#queue = this.#queue.then(() => this.apply(d));
      return this.#queue;
    });
    // The watch is a JetStream consumer; after a NATS server dies one may stay broken while plain
    // reads work (measured on a three-server cluster): every few seconds the deployments are
    // also read directly, so a node converges either way.
    const every = this.#o.reconcileMs ?? 5000;
    this.#timer = setInterval(() => {
      this.#queue = this.#queue.then(() => this.#reconcile()).catch(() => {});
    }, every);
    this.#timer.unref();
  }

  async #reconcile(): Promise<void> {
    for (const worker of await this.#o.store.workers()) {
      const d = await this.#o.store.deployment(worker);
      if (d) await this.apply(d.deployment);
    }
  }

  served(): Served[] {
    return [...this.#served.values()];
  }

  /** Serve what `d` says this PoP serves, unless it already does. */
  async apply(d: Deployment): Promise<void> {
    const splits = [...servedAt(d, this.#o.pop)].sort((a, b) => b.percentage - a.percentage);
    if (splits.length === 0) return;
    const [primary, second] = splits;
    const want = servingKey(primary.version, second, d.sticky, d.secrets);
    const now = this.#served.get(d.worker);
    const has = now ? servingKey(now.version, now.split, now.sticky, now.secrets) : '';
    if (has === want) {
      (now as Served).deployment = d.id;
      return;
    }
    if (now?.failed && (now.failed.version === primary.version || now.failed.version === second?.version))
      return;
    const served: Served = {
      worker: d.worker,
      version: now?.version ?? null,
      deployment: d.id,
      ...(now?.split ? { split: now.split } : {}),
    };
    let main: Unpacked;
    let extra: (Unpacked & { percentage: number; sticky: boolean }) | null;
    try {
      // Secrets are not in artifacts: they are read now and merged into each version's vars.
      const secrets = d.secrets ? await this.#o.store.secrets(d.worker) : null;
      main = withSecrets(await this.#unpack(primary.version), secrets);
      extra = second
        ? {
            ...withSecrets(await this.#unpack(second.version), secrets),
            percentage: second.percentage,
            sticky: d.sticky,
          }
        : null;
    } catch (err) {
      // Not the version's fault (NATS unreachable, a stream leader moving): tried again with the
      // next change or reconciliation, not recorded as a failed version.
      this.#o.log?.(
        'warn',
        `"${d.worker}": cannot fetch version ${primary.version.slice(0, 12)} yet: ${(err as Error).message}`,
      );
      return;
    }
    const loading = second?.version ?? primary.version;
    try {
      await this.#o.switchTo(d.worker, main, extra);
      served.version = primary.version;
      if (d.secrets) served.secrets = d.secrets;
      else delete served.secrets;
      if (second) {
        served.split = { version: second.version, percentage: second.percentage };
        served.sticky = d.sticky;
      } else delete served.split;
      this.#o.log?.(
        'info',
        `"${d.worker}" now serves version ${primary.version.slice(0, 12)}${second ? ` and ${second.version.slice(0, 12)} for ${second.percentage}% of requests` : ''} (deployment ${d.id})`,
      );
    } catch (err) {
      served.failed = { version: loading, error: (err as Error).message };
      this.#o.log?.(
        'error',
        `"${d.worker}": version ${loading.slice(0, 12)} failed to load here; ${served.version ? `still serving ${served.version.slice(0, 12)}` : 'nothing served'}: ${(err as Error).message}`,
      );
    }
    this.#served.set(d.worker, served);
    this.#o.onChange?.(served);
  }

  async #unpack(id: string): Promise<Unpacked> {
    const known = this.#unpacked.get(id);
    if (known) return known;
    const file = join(this.#o.dir, `${id}.artifact`);
    let artifact: Artifact | null = null;
    if (existsSync(file)) {
      try {
        artifact = decodeArtifact(id, readFileSync(file));
      } catch {
        // A damaged copy on disk: fetched again below.
      }
    }
    if (!artifact) {
      const bytes = await this.#o.store.artifactBytes(id);
      artifact = decodeArtifact(id, bytes);
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, file);
    }
    const out = { version: id, ...materialize(id, artifact, this.#o.dir) };
    this.#unpacked.set(id, out);
    return out;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#stop?.();
    this.#stop = null;
  }
}

/** A version with the worker's secrets in its env (secrets win over vars, as .dev.vars do). */
function withSecrets(
  u: Unpacked,
  secrets: { values: Record<string, string>; revision: number } | null,
): Unpacked {
  if (!secrets) return u;
  const names = Object.keys(secrets.values);
  return {
    ...u,
    config: {
      ...u.config,
      vars: { ...u.config.vars, ...secrets.values },
      secretNames: [...new Set([...u.config.secretNames, ...names])],
    },
    secretsRevision: secrets.revision,
  };
}

/** What a PoP serves of a worker, as one comparable string: versions, split, stickiness, secrets. */
function servingKey(
  version: string | null,
  split: { version: string; percentage: number } | undefined,
  sticky: boolean | undefined,
  secrets: number | undefined,
): string {
  return `${version} ${split ? `${split.version}@${split.percentage}${sticky ? 's' : ''}` : ''}#${secrets ?? 0}`;
}
