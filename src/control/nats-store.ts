/**
 * Where versions and deployments live on a network: JetStream, the engine Outpost already uses
 * for KV, so a deploy needs nothing else to replicate.
 * - `outpost_artifacts` (object store): artifacts by id (content address; artifact.ts).
 * - `outpost_versions` (KV): `<worker>.<id>` → VersionInfo.
 * - `outpost_deployments` (KV, history 64): `<worker>` → the current Deployment; the key's
 *   history is `outpost deployments list`. Every change is a compare-and-set on the revision
 *   read, so two deploys of one worker at once cannot overwrite each other unseen.
 * Nodes watch `outpost_deployments`; a watch restarts by itself after NATS comes back.
 */

import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetStreamSetup, natsServers, streamExists } from '../config/index.ts';
import { type Artifact, decodeArtifact, encodeArtifact } from './artifact.ts';
import { DeployError, type Deployment, type VersionInfo, WORKER_NAME } from './deployment.ts';

const ARTIFACTS = 'outpost_artifacts';
const VERSIONS = 'outpost_versions';
const DEPLOYMENTS = 'outpost_deployments';
const HISTORY = 64;
const SECRETS = 'outpost_secrets';

/** Secret names as wrangler takes them: an identifier. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** The largest secret value, bytes (Cloudflare's limit is 5 KiB). */
export const MAX_SECRET_BYTES = 5 * 1024;

export interface ControlStoreOptions {
  servers: string;
  /** JetStream replicas of the buckets (3 on a three-node NATS cluster; default 1). */
  replicas?: number;
  /** Connection name shown by NATS monitoring. */
  name?: string;
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

function checkWorker(worker: string): string {
  if (!WORKER_NAME.test(worker))
    throw new DeployError(
      'INVALID_WORKER_NAME',
      `worker name must be letters, digits, "-" or "_" (at most 63), received "${worker}"`,
    );
  return worker;
}

export class NatsControlStore {
  readonly #nc: NatsConnection;
  readonly #artifacts: ObjectStore;
  readonly #versions: KV;
  readonly #deployments: KV;
  readonly #secrets: KV;
  readonly #jsm: JetStreamManager;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    artifacts: ObjectStore,
    versions: KV,
    deployments: KV,
    secrets: KV,
  ) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#artifacts = artifacts;
    this.#versions = versions;
    this.#deployments = deployments;
    this.#secrets = secrets;
  }

  static async connect(o: ControlStoreOptions): Promise<NatsControlStore> {
    const nc = await connect({ servers: natsServers(o.servers), name: o.name ?? 'outpost-control' });
    try {
      const js = jetstream(nc, { timeout: 10_000 });
      const replicas = o.replicas ?? 1;
      // Opened as they are when they exist (whoever made them chose their replicas), else made.
      // Existence is asked with a plain stream-info request (see #keys on consumers).
      const jsm = await jetstreamManager(nc);
      const exists = (stream: string) => streamExists(jsm, stream);
      const objm = new Objm(js);
      const kvm = new Kvm(js);
      const bucket = async (name: string, history: number) =>
        (await exists(`KV_${name}`))
          ? kvm.open(name, { bindOnly: true })
          : kvm.create(name, { history, replicas });
      const made = await jetStreamSetup(
        'the deploy store (artifacts, versions, deployments, secrets)',
        async () => ({
          artifacts: (await exists(`OBJ_${ARTIFACTS}`))
            ? await objm.open(ARTIFACTS, false)
            : await objm.create(ARTIFACTS, { replicas }),
          versions: await bucket(VERSIONS, 1),
          deployments: await bucket(DEPLOYMENTS, HISTORY),
          secrets: await bucket(SECRETS, 1),
        }),
      );
      return new NatsControlStore(nc, jsm, made.artifacts, made.versions, made.deployments, made.secrets);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** Store an artifact (once per content) and record it as a version of its worker. */
  async putVersion(artifact: Artifact, message?: string): Promise<{ info: VersionInfo; created: boolean }> {
    checkWorker(artifact.worker);
    const { id, bytes } = encodeArtifact(artifact);
    const key = `${artifact.worker}.${id}`;
    const known = await this.#versions.get(key);
    if (known && known.operation === 'PUT') return { info: dec<VersionInfo>(known.value), created: false };
    const info: VersionInfo = {
      id,
      worker: artifact.worker,
      createdAt: new Date().toISOString(),
      ...(message ? { message } : {}),
      bytes: bytes.byteLength,
      codeHash: artifact.bundle.hash,
    };
    if (!(await this.#artifacts.info(id))) await this.#artifacts.putBlob({ name: id }, bytes);
    await this.#versions.put(key, enc(info));
    return { info, created: true };
  }

  /** An artifact's stored bytes (artifact.ts decodeArtifact checks them against the id). */
  async artifactBytes(id: string): Promise<Uint8Array> {
    const bytes = await this.#artifacts.getBlob(id);
    if (!bytes) throw new DeployError('NO_SUCH_VERSION', `no artifact ${id.slice(0, 12)} is stored`);
    return bytes;
  }

  /** An artifact by version id, checked against its content hash. */
  async artifact(id: string): Promise<Artifact> {
    return decodeArtifact(id, await this.artifactBytes(id));
  }

  /** A worker's versions, newest first. */
  async versions(worker: string): Promise<VersionInfo[]> {
    checkWorker(worker);
    const out: VersionInfo[] = [];
    for (const key of await this.#keys(VERSIONS, `${worker}.>`)) {
      const e = await this.#versions.get(key);
      if (e && e.operation === 'PUT') out.push(dec<VersionInfo>(e.value));
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** A version by id or unambiguous prefix (at least 6 characters). */
  async version(worker: string, idOrPrefix: string): Promise<VersionInfo> {
    if (!/^[0-9a-f]{6,64}$/.test(idOrPrefix))
      throw new DeployError(
        'INVALID_VERSION',
        `a version id is 6 to 64 hex digits, received "${idOrPrefix}"`,
      );
    const all = (await this.versions(worker)).filter((v) => v.id.startsWith(idOrPrefix));
    if (all.length === 0)
      throw new DeployError('NO_SUCH_VERSION', `"${worker}" has no version ${idOrPrefix}`);
    if (all.length > 1)
      throw new DeployError('AMBIGUOUS_VERSION', `${idOrPrefix} names ${all.length} versions of "${worker}"`);
    return all[0];
  }

  /**
   * A bucket's keys from its stream's subject counts: a plain API request, where KV's keys()
   * makes a consumer — which, measured on a three-server cluster that had just lost a server,
   * kept timing out while reads and writes worked. Deleted keys are filtered by the caller's get.
   */
  async #keys(bucket: string, filter: string): Promise<string[]> {
    const prefix = `$KV.${bucket}.`;
    const info = await this.#jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  }

  /** Workers with a deployment. */
  async workers(): Promise<string[]> {
    const out: string[] = [];
    for (const key of await this.#keys(DEPLOYMENTS, '>')) out.push(key);
    return out.sort();
  }

  /** The current deployment of a worker and its revision (for compare-and-set), or null. */
  async deployment(worker: string): Promise<{ deployment: Deployment; revision: number } | null> {
    checkWorker(worker);
    const e = await this.#deployments.get(worker);
    if (!e || e.operation !== 'PUT') return null;
    return { deployment: dec<Deployment>(e.value), revision: e.revision };
  }

  /** Past deployments of a worker (every change of its record), newest first. */
  async deployments(worker: string): Promise<Deployment[]> {
    checkWorker(worker);
    const out: Deployment[] = [];
    for await (const e of await this.#deployments.history({ key: worker }))
      if (e.operation === 'PUT') out.push(dec<Deployment>(e.value));
    return out.reverse();
  }

  /**
   * Write a worker's deployment if its record is still at `revision` (0: there is none yet).
   * Someone else's change in between fails with DEPLOY_CONFLICT; nothing is overwritten.
   */
  async setDeployment(d: Deployment, revision: number): Promise<number> {
    checkWorker(d.worker);
    try {
      return revision === 0
        ? await this.#deployments.create(d.worker, enc(d))
        : await this.#deployments.update(d.worker, enc(d), revision);
    } catch (err) {
      const m = (err as Error).message;
      if (/wrong last sequence|key exists/i.test(m))
        throw new DeployError(
          'DEPLOY_CONFLICT',
          `the deployment of "${d.worker}" changed meanwhile (another deploy or rollback); run it again`,
        );
      throw err;
    }
  }

  /**
   * Every deployment as it is now and as it changes. The callback runs one at a time, in order.
   * Returns a stop function.
   */
  async watch(onChange: (d: Deployment) => Promise<void> | void): Promise<() => void> {
    const watcher = await this.#deployments.watch();
    void (async () => {
      for await (const e of watcher) {
        if (e.operation !== 'PUT') continue;
        try {
          await onChange(dec<Deployment>(e.value));
        } catch {
          // The callback reports its own failures; the watch goes on.
        }
      }
    })();
    return () => watcher.stop();
  }

  /**
   * Set a worker's secret; resolves with the secrets' new revision. Stored as written in the
   * JetStream bucket `outpost_secrets` (encrypt JetStream at rest on the NATS servers).
   */
  async putSecret(worker: string, name: string, value: string): Promise<number> {
    checkWorker(worker);
    checkSecret(name);
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES)
      throw new DeployError(
        'INVALID_SECRET',
        `secret ${name} is ${Buffer.byteLength(value)} bytes; at most ${MAX_SECRET_BYTES} are allowed`,
      );
    return this.#secrets.put(`${worker}.${name}`, enc({ value, updatedAt: new Date().toISOString() }));
  }

  /** Delete a worker's secret; resolves with the new revision, or null when it had none by that name. */
  async deleteSecret(worker: string, name: string): Promise<number | null> {
    checkWorker(worker);
    checkSecret(name);
    const e = await this.#secrets.get(`${worker}.${name}`);
    if (!e || e.operation !== 'PUT') return null;
    await this.#secrets.delete(`${worker}.${name}`);
    return (await this.secrets(worker)).revision;
  }

  /**
   * A worker's secrets and their revision (the latest change to any of them, deletions too: a
   * node re-stages the worker when it moves).
   */
  async secrets(worker: string): Promise<{ values: Record<string, string>; revision: number }> {
    checkWorker(worker);
    const values: Record<string, string> = {};
    let revision = 0;
    // Each key's last message, deletions included (KV's get() hides a deleted key's sequence,
    // and a deletion must move the revision too).
    for (const key of await this.#keys(SECRETS, `${worker}.*`)) {
      const m = await this.#jsm.streams.getMessage(`KV_${SECRETS}`, {
        last_by_subj: `$KV.${SECRETS}.${key}`,
      });
      if (!m) continue;
      revision = Math.max(revision, m.seq);
      const op = m.header?.get('KV-Operation');
      if (!op || op === 'PUT') values[key.slice(worker.length + 1)] = dec<{ value: string }>(m.data).value;
    }
    return { values, revision };
  }

  get connected(): boolean {
    return !this.#nc.isClosed();
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => {});
  }
}

function checkSecret(name: string): void {
  if (!SECRET_NAME.test(name))
    throw new DeployError(
      'INVALID_SECRET',
      `a secret name is a letter or _ then letters, digits or _ (at most 128), received "${name}"`,
    );
}
