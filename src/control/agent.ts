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

/** What the PoP does with a version: pre-warm it and make it current (Runtime.stage). */
export type Switch = (worker: string, bundle: Bundle, config: WorkerConfig, version: string) => Promise<void>;

export interface Served {
  worker: string;
  /** The version serving now, or null before the first succeeded. */
  version: string | null;
  deployment: string;
  /** The last version that failed to load here, and why. */
  failed?: { version: string; error: string };
}

export interface AgentOptions {
  store: Pick<NatsControlStore, 'artifactBytes' | 'workers' | 'deployment' | 'watch'>;
  pop: string;
  /** Where artifacts and their unpacked assets are kept. */
  dir: string;
  switchTo: Switch;
  /** After a worker's served version changed (or failed). */
  onChange?: (s: Served) => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class DeployAgent {
  readonly #o: AgentOptions;
  readonly #served = new Map<string, Served>();
  /** Unpacked versions: id → what the runtime deploys. */
  readonly #unpacked = new Map<string, { bundle: Bundle; config: WorkerConfig }>();
  #stop: (() => void) | null = null;
  #queue: Promise<void> = Promise.resolve();

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
  }

  served(): Served[] {
    return [...this.#served.values()];
  }

  /** Serve what `d` says this PoP serves, unless it already does. */
  async apply(d: Deployment): Promise<void> {
    const splits = servedAt(d, this.#o.pop);
    const now = this.#served.get(d.worker);
    if (splits.length === 0) return;
    // Two versions at once (a gradual deployment) are served by the version with the larger share
    // until traffic splitting lands on nodes; say so rather than pretend.
    const target = [...splits].sort((a, b) => b.percentage - a.percentage)[0].version;
    if (splits.length > 1)
      this.#o.log?.(
        'warn',
        `"${d.worker}": deployment ${d.id} splits traffic between versions; this node serves ${target.slice(0, 12)} only`,
      );
    if (now?.version === target) {
      now.deployment = d.id;
      return;
    }
    if (now?.failed?.version === target) return;
    const served: Served = { worker: d.worker, version: now?.version ?? null, deployment: d.id };
    try {
      const { bundle, config } = await this.#unpack(target);
      await this.#o.switchTo(d.worker, bundle, config, target);
      served.version = target;
      this.#o.log?.('info', `"${d.worker}" now serves version ${target.slice(0, 12)} (deployment ${d.id})`);
    } catch (err) {
      served.failed = { version: target, error: (err as Error).message };
      this.#o.log?.(
        'error',
        `"${d.worker}": version ${target.slice(0, 12)} failed to load here; ${served.version ? `still serving ${served.version.slice(0, 12)}` : 'nothing served'}: ${(err as Error).message}`,
      );
    }
    this.#served.set(d.worker, served);
    this.#o.onChange?.(served);
  }

  async #unpack(id: string): Promise<{ bundle: Bundle; config: WorkerConfig }> {
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
    const out = materialize(id, artifact, this.#o.dir);
    this.#unpacked.set(id, out);
    return out;
  }

  stop(): void {
    this.#stop?.();
    this.#stop = null;
  }
}
