/**
 * `outpost node` wiring: one PoP of a topology served from one process, its workers coming from
 * the deployments in NATS (src/control/) instead of folders: no bundling on start, each version
 * pre-warmed before it takes traffic. KV, crons, queues, Workflows and Analytics Engine go
 * through the same NATS (as `outpost dev --nats`); the node registers and heartbeats in the
 * membership bucket (src/network/membership.ts) so routers find it. Several nodes may serve the
 * same PoP. Durable Objects, D1 and R2 are kept on the node's own disk (per node, not shared).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { NodePurges, PURGE_EVERYTHING, type PurgeSelector, publishPurge } from '../cache/index.ts';
import type { SecurityConfig } from '../config/index.ts';
import {
  DeployAgent,
  deploymentsView,
  HealthBook,
  NatsControlStore,
  rollbackWorker,
  type Served,
} from '../control/index.ts';
import { AUTO_MOVE_DEFAULTS, ObjectCluster, type PeerNode } from '../durable-objects/index.ts';
import {
  distanceKm,
  HINT_PLACES,
  loadTopology,
  type Member,
  Membership,
  MIN_SECRET_LENGTH,
  nodeCf,
  objectPeers,
  popById,
  popNodes,
  READY_MESSAGE,
  reachesSlot,
  servePeerObject,
  shieldTier,
} from '../network/index.ts';
import type { Observer } from '../observability/index.ts';
import {
  type Limits,
  OutpostError,
  prepareIsolates,
  type RuntimeOptions,
  type Tier,
} from '../runtime/index.ts';
import { allOrClose } from './all-or-close.ts';
import { type DevServer, startDev } from './dev.ts';
import type { Project, ProjectSource } from './project.ts';

export interface NodeOptions {
  /** NATS server(s), comma-separated. */
  nats: string;
  /** The PoP served (an id of the topology). */
  pop: string;
  /** Built-in topology name or topology file (default `world`). */
  topology?: string;
  /** Where the node keeps artifacts, Durable Objects, D1 and R2 (default `.outpost-node/<pop>`). */
  dir?: string;
  host?: string;
  port?: number;
  /** The address routers reach this node at (default http://<host>:<port>). */
  advertise?: string;
  observer: Observer;
  /** Membership: how long without a heartbeat before routers drop this node, ms (default 3000). */
  leaveMs?: number;
  /** JetStream replicas of every bucket and stream the node makes (3 on a three-server NATS cluster). */
  replicas?: number;
  adminToken?: string;
  trustedProxyHeader?: string;
  /**
   * Platform policies run before every worker served (WAF, rate limits, JWT); exact rate-limit
   * counters live in NATS, shared by every node and process (src/security/ratelimit/nats-store.ts).
   */
  security?: SecurityConfig;
  runtime?: RuntimeOptions;
  limits?: Partial<Limits>;
  /** What workers' fetch() may reach beyond the public internet (src/config/egress.ts entries). */
  egressAllow?: string[];
  /**
   * The network's shared secret: with it, cache misses fill through a shield node of the PoP's
   * region (src/network/shield.ts) when one is live, and Durable Objects are one per id across
   * the nodes, their storage replicated through JetStream; without, cache misses go straight to
   * the origin and each node keeps Durable Objects of its own.
   */
  secret?: string;
  /** Durable Object leases across nodes, ms (default 10 000): how long a dead owner holds its objects. */
  objectLeaseMs?: number;
  /** Durable Object journal records between snapshots (default 1000; 0: never). */
  objectSnapshotEvery?: number;
  /**
   * Move a Durable Object to the PoP that sent most of this many of its calls within a minute
   * (src/durable-objects/auto-move.ts; default 0: never). Needs `secret`.
   */
  objectAutoMove?: number;
  /**
   * This process is one of several serving the node on one port (`outpost node --processes N`,
   * Node's cluster): its index (1..N), and for a node without the network secret the secret its
   * processes share Durable Objects with (made by the primary). Each process then also listens
   * on a port of its own (other processes and nodes send calls for the objects it owns there),
   * and keeps its copies of objects in a folder of its own. `of`: how many processes there are;
   * `slot`: the primary hands this process the connections of the hosts in that slot
   * (network/affinity.ts) rather than Node's cluster spreading them round-robin, and it keeps
   * warm only the workers such hosts reach.
   */
  processes?: { index: number; of?: number; secret?: string; slot?: number };
  /**
   * With `processes`: the own port of process 1 (process i listens on peerPort + i - 1), for a
   * firewall to open; 0 or unset: a free port each.
   */
  peerPort?: number;
}

export interface NodeServer {
  id: string;
  pop: string;
  url: string;
  port: number;
  dev: DevServer;
  /** What this node serves now, per worker. */
  served(): Served[];
  close(): Promise<void>;
}

export const OUTPOST_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Workers without routes first (the first of them gets what no route matches), then by name. */
function order(a: Project, b: Project): number {
  const ra = a.config.routes.length > 0 ? 1 : 0;
  const rb = b.config.routes.length > 0 ? 1 : 0;
  return ra - rb || a.tenant.localeCompare(b.tenant);
}

/**
 * The node's identity on this machine, kept in its folder (made on first start): what the
 * processes of a node without the network secret share objects under, so a restarted node
 * finds them again whatever its host is called now, and two nodes never share by accident.
 */
function nodeIdentity(dir: string): string {
  const file = join(dir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
    throw new OutpostError(
      'INVALID_OPTION',
      `${file} is not a node id written by Outpost (delete it to make a new one)`,
    );
  }
  const id = randomBytes(16).toString('hex');
  // Written whole, then linked into place: of processes starting together, one's id wins and
  // the others read it (never a half-written file).
  const tmp = `${file}.${process.pid}.${id}`;
  writeFileSync(tmp, `${id}\n`);
  try {
    linkSync(tmp, file);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return nodeIdentity(dir);
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * The folder where process `index` keeps its copies of the objects it owns: emptied at start
 * (a copy outlives no process; the journal is what counts), so stale copies do not pile up.
 */
function processFolder(dir: string, index: number): string {
  const folder = join(dir, 'do', `process-${index}`);
  rmSync(folder, { recursive: true, force: true });
  return folder;
}

/**
 * A node without the network secret keeps Durable Objects on local SQLite when it is one process
 * (`<dir>/do`), and in NATS when it is several (`<dir>/do/process-N` are copies): switching
 * between the two does not carry objects over. Say so at start rather than serve empty objects
 * silently.
 */
function warnOfObjectsElsewhere(
  dir: string,
  processes: boolean,
  networkSecret: boolean,
  log: (level: 'warn', message: string) => void,
): void {
  if (networkSecret) return;
  const doDir = join(dir, 'do');
  const entries = existsSync(doDir) ? readdirSync(doDir) : [];
  const local = entries.some((e) => e === 'index.sqlite');
  const shared = entries.some((e) => e.startsWith('process-'));
  if (processes && local)
    log(
      'warn',
      `Durable Objects in ${doDir} were stored by this node as one process: a node of several processes shares its objects through NATS and does not serve those (start it with --processes 1 to serve them)`,
    );
  else if (!processes && shared)
    log(
      'warn',
      `Durable Objects of this node were kept in NATS while it ran as several processes: as one process it keeps objects in ${doDir} and does not serve those (start it with --processes N again to serve them)`,
    );
}

export async function startNode(o: NodeOptions): Promise<NodeServer> {
  const topology = loadTopology(o.topology ?? 'world');
  const pop = popById(topology, o.pop);
  if (!pop)
    throw new OutpostError(
      'INVALID_OPTION',
      `--pop: no PoP "${o.pop}" in topology ${topology.name} (it has ${topology.pops.map((p) => p.id).join(', ')})`,
    );
  if (o.processes && o.secret === undefined && !o.processes.secret)
    throw new OutpostError(
      'INVALID_OPTION',
      'the processes of a node without the network secret need a secret of their own to share Durable Objects',
    );
  const dir = resolve(o.dir ?? join('.outpost-node', pop.id));
  mkdirSync(dir, { recursive: true });
  const id = `${pop.id}-${hostname()}-${process.pid}-${Date.now().toString(36)}`;
  const log = (level: 'info' | 'warn' | 'error', message: string) =>
    o.observer.log({ level, source: 'outpost', message });
  if (o.secret !== undefined && o.secret.length < MIN_SECRET_LENGTH)
    throw new OutpostError(
      'INVALID_OPTION',
      `the network secret must be at least ${MIN_SECRET_LENGTH} characters`,
    );
  // Durable Objects across nodes: calls between nodes carry the network secret, so only with one.
  // The processes of one node without it share theirs the same way, among themselves only: one
  // live instance per id, whichever process a request reached. Their scope is the node's data
  // folder on this machine, so a restarted node finds its objects again.
  const objectSecret = o.secret ?? o.processes?.secret;
  const objectScope = o.secret === undefined && o.processes ? `node:${nodeIdentity(dir)}` : '';
  warnOfObjectsElsewhere(dir, objectScope !== '', o.secret !== undefined, log);
  const peers = objectSecret !== undefined ? objectPeers({ secret: objectSecret }) : null;
  // Purges are followed from before the node serves anything it could cache. One that arrives
  // while the runtime is being made (its caches may already be filling: the server listens
  // before startDev returns) is answered for what existed, and everything is purged once the
  // runtime is there.
  let devRef: DevServer | null = null;
  let missedPurge = false;
  const purgeBus = {
    purge: (sel: PurgeSelector) => {
      if (devRef) return devRef.runtime.purges.purge(sel);
      missedPurge = true;
      return Promise.resolve({ purged: 0, caches: 0, byCache: [] });
    },
  };
  // Every part's NATS connection is set up at once rather than one after another (measured with
  // NATS 2 ms away: 385 → 341 ms from spawn to a first response; on loopback, where the connects
  // are CPU-bound, the same), and the isolates' host-side set-up runs in between.
  const connecting = allOrClose([
    NatsControlStore.connect({
      servers: o.nats,
      ...(o.replicas ? { replicas: o.replicas } : {}),
      name: `outpost-node-${pop.id}`,
    }),
    Membership.connect({
      servers: o.nats,
      ...(o.leaveMs ? { leaveMs: o.leaveMs } : {}),
      ...(o.replicas ? { replicas: o.replicas } : {}),
    }),
    peers
      ? ObjectCluster.connect({
          servers: o.nats,
          ...(o.replicas ? { replicas: o.replicas } : {}),
          node: id,
          pop: pop.id,
          scope: objectScope,
          ...(o.objectLeaseMs !== undefined ? { leaseMs: o.objectLeaseMs } : {}),
          ...(o.objectSnapshotEvery !== undefined ? { snapshotEvery: o.objectSnapshotEvery } : {}),
          log,
        })
      : null,
    // A node starts with empty caches: only purges from now on concern it.
    NodePurges.connect({
      servers: o.nats,
      node: id,
      pop: pop.id,
      bus: purgeBus,
      ...(o.replicas ? { replicas: o.replicas } : {}),
      log: (m) => log('info', m),
    }),
  ]);
  // Handled below, after the set-up: a failure meanwhile must not count as unhandled.
  connecting.catch(() => {});
  await prepareIsolates().catch(() => {}); // a failure here is met again, and reported, by the runtime
  let store: NatsControlStore;
  let membership: Membership;
  let objectCluster: ObjectCluster | null;
  let purges: NodePurges;
  try {
    [store, membership, objectCluster, purges] = await connecting;
  } catch (err) {
    await peers?.close();
    throw err;
  }
  const closeConnections = async () => {
    await purges.close();
    await objectCluster?.close();
    await peers?.close();
    await membership.close();
    await store.close();
  };
  let agent: DeployAgent | null = null;
  let membershipRef: Membership | null = null;
  const projects: Project[] = [];
  /** The version each worker's primary is now. */
  const live = new Map<string, string>();
  const source: ProjectSource = {
    async open(deployer, changed) {
      const stage = deployer.stage;
      if (!stage) throw new OutpostError('INVALID_OPTION', 'a node serves one PoP from one runtime');
      agent = new DeployAgent({
        store,
        pop: pop.id,
        dir: join(dir, 'versions'),
        log,
        onChange: () => void membershipRef?.beat(),
        switchTo: async (worker, primary, split) => {
          const { bundle, config } = primary;
          // The primary is staged again only when it changed (a split may come and go around it).
          const key = `${primary.version}#${primary.secretsRevision ?? 0}`;
          if (live.get(worker) !== key) {
            // Every process checks that a version loads; only those whose slot its hosts are in
            // keep it warm (the others' first request for it would be a cold start).
            const { slot, of } = o.processes ?? {};
            const keep = slot === undefined || of === undefined || reachesSlot(config.routes, slot, of);
            await stage.call(deployer, worker, bundle, config, o.limits, { keep });
            live.set(worker, key);
          }
          if (split) {
            if (!deployer.stageSplit)
              throw new OutpostError('INVALID_OPTION', 'this PoP cannot split traffic');
            await deployer.stageSplit(worker, split.bundle, split.config, split, o.limits);
          } else deployer.clearSplit?.(worker);
          const project: Project = {
            tenant: worker,
            config,
            buildError: null,
            reload: async () => null,
            close: () => {},
          };
          const i = projects.findIndex((p) => p.tenant === worker);
          if (i >= 0) projects[i] = project;
          else projects.push(project);
          projects.sort(order);
          changed();
        },
      });
      await agent.start();
      return projects;
    },
  };
  let dev: DevServer;
  // Tiered caching between nodes: the node follows the table to find its region's shields.
  let tier: Tier | undefined;
  if (o.secret !== undefined) {
    try {
      await membership.watch();
    } catch (err) {
      await closeConnections();
      throw err;
    }
    tier = shieldTier({
      pop,
      secret: o.secret,
      members: () => membership.members(),
      suspectMs: membership.leaveMs,
      // The runtime's egress policy, once the runtime exists (fills come only after it does).
      egress: () => devRef?.runtime.egress ?? null,
      log,
    });
  }
  // The other nodes, for the dashboard's deployments (watched already when the node has a secret).
  let watching: Promise<void> | null = o.secret !== undefined ? Promise.resolve() : null;
  const watched = () => {
    watching ??= membership.watch();
    return watching;
  };
  const secret = objectSecret ?? '';
  /**
   * Where an object nobody holds goes (src/durable-objects/across-nodes.ts): the PoP it lived in, else the PoP
   * nearest its locationHint among those with a live node (as Cloudflare places by hint); null:
   * here. The node is any live one of that PoP.
   */
  const placeAt = (at: string | null, hint: string | null, tenant: string): PeerNode | null => {
    // The objects of one node's processes stay in that node (where the first call came in).
    if (objectScope) return null;
    // Nodes that serve the object's worker (one still loading a deploy would refuse the call).
    const nodes = popNodes(membership.members()).filter(
      (m) => m.id !== id && m.workers.some((w) => w.worker === tenant),
    );
    let target = at;
    const place = hint ? HINT_PLACES[hint] : undefined;
    if (!target && place) {
      const pops = new Set([pop.id, ...nodes.map((m) => m.pop)]);
      let best = Number.POSITIVE_INFINITY;
      for (const p of pops) {
        const where = popById(topology, p);
        const km = where ? distanceKm(where, place) : Number.POSITIVE_INFINITY;
        if (km < best) {
          best = km;
          target = p;
        }
      }
    }
    if (!target || target === pop.id) return null;
    const m = nodes.find((n) => n.pop === target);
    return m ? { node: m.id, pop: m.pop, url: m.peer ?? m.url } : null;
  };
  try {
    dev = await startDev({
      dir,
      source,
      pop: { id: pop.id, cf: nodeCf(topology, pop) },
      kv: { nats: o.nats, ...(o.replicas ? { replicas: o.replicas } : {}) },
      watch: false,
      production: true,
      observer: o.observer,
      ...(o.security ? { security: o.security } : {}),
      host: o.host ?? '127.0.0.1',
      port: o.port ?? 8787,
      ...(o.processes ? { ownPort: o.peerPort ? o.peerPort + o.processes.index - 1 : 0 } : {}),
      ...(o.processes?.slot !== undefined
        ? { handed: { slot: o.processes.slot, of: o.processes.of ?? 1 } }
        : {}),
      durableObjects: {
        // The copies a process keeps of the objects it owns are its own (another process taking
        // an object restores it from the journal into its own folder).
        dir: o.processes ? processFolder(dir, o.processes.index) : join(dir, 'do'),
        ...(objectCluster && peers
          ? {
              cluster: {
                objects: objectCluster,
                peers,
                placeAt: (at, hint, tenant) => placeAt(at, hint, tenant),
                ...(o.objectAutoMove ? { autoMove: { ...AUTO_MOVE_DEFAULTS, calls: o.objectAutoMove } } : {}),
              },
            }
          : {}),
      },
      ...(objectCluster
        ? {
            peer: (req, res, upgrade) =>
              servePeerObject(
                req,
                res,
                { secret, pop: pop.id, objects: () => devRef?.runtime.objects ?? null },
                upgrade,
              ),
          }
        : {}),
      prewarm: false,
      deployments: {
        list: async () => {
          await watched();
          return deploymentsView(store, () => popNodes(membership.members()));
        },
        rollback: (worker, version) =>
          rollbackWorker(store, () => popNodes(membership.members()), worker, version),
      },
      // The dashboard's purge reaches every node, as `outpost cache purge --nats` does.
      networkPurge: async (sel) => {
        await watched();
        const expected = () =>
          membership
            .members()
            .map((m) => ({ node: m.id, pop: m.role === 'shield' ? `shield:${m.pop}` : m.pop }));
        const r = await publishPurge(o.nats, sel, expected, 5000, o.replicas ?? 1);
        return {
          purged: r.acks.reduce((n, a) => n + a.purged, 0),
          caches: r.acks.length,
          byCache: r.acks.map((a) =>
            a.pop.startsWith('shield:')
              ? { tier: 'shield' as const, id: a.pop.slice(7), node: a.node, purged: a.purged }
              : { tier: 'pop' as const, id: a.pop, node: a.node, purged: a.purged },
          ),
          missing: r.missing,
        };
      },
      beforeRequest: () => purges.checkAway(),
      ...(o.adminToken ? { adminToken: o.adminToken } : {}),
      ...(o.trustedProxyHeader ? { trustedProxyHeader: o.trustedProxyHeader } : {}),
      ...(o.runtime || tier ? { runtime: { ...o.runtime, ...(tier ? { tier } : {}) } } : {}),
      ...(o.egressAllow ? { egressAllow: o.egressAllow } : {}),
    });
  } catch (err) {
    (agent as DeployAgent | null)?.stop();
    await closeConnections();
    throw err;
  }
  devRef = dev;
  if (missedPurge) await dev.runtime.purges.purge(PURGE_EVERYTHING);
  const url = o.advertise ?? dev.url;
  // Where other processes reach this one alone: its own port (plain HTTP), at the advertised host
  // when other nodes call too (the network secret), else at the address it listens on.
  let peerUrl: string | undefined;
  if (dev.ownPort !== undefined) {
    const host = o.host ?? '127.0.0.1';
    const local =
      host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    peerUrl = `http://${o.secret !== undefined ? new URL(url).hostname : local}:${dev.ownPort}`;
  }
  objectCluster?.serve(peerUrl ?? url);
  const startedAt = new Date().toISOString();
  // Health per version for deploy gates: what each request and limit breach did, by the version serving.
  const health = new HealthBook(
    (worker) => (agent as DeployAgent | null)?.served().find((w) => w.worker === worker)?.version ?? null,
  );
  dev.metrics.onRequest = (r) => health.request(r.worker, r.status, r.seconds);
  dev.metrics.onLimit = (worker, limit) => health.limit(worker, limit);
  const describe = (): Member => {
    const st = dev.runtime.stats();
    return {
      id,
      pop: pop.id,
      url,
      ...(peerUrl ? { peer: peerUrl } : {}),
      ...(o.processes?.slot !== undefined && o.processes.of ? { processes: o.processes.of } : {}),
      outpost: OUTPOST_VERSION,
      workers: (agent as DeployAgent | null)?.served() ?? [],
      load: { inflight: st.busy, isolates: st.isolates },
      health: health.snapshot(),
      startedAt,
    };
  };
  await membership.join(describe);
  membershipRef = membership;
  // Connections for this process's hosts may come now (they waited in the primary meanwhile).
  if (o.processes?.slot !== undefined) process.send?.(READY_MESSAGE);
  // The warm pool fills now that the deployed versions serve (their isolates came first).
  void dev.runtime.prewarm().catch(() => {});
  return {
    id,
    pop: pop.id,
    url,
    port: dev.port,
    dev,
    served: () => (agent as DeployAgent | null)?.served() ?? [],
    close: async () => {
      await membership.close();
      await purges.close();
      (agent as DeployAgent | null)?.stop();
      await dev.close();
      await objectCluster?.close();
      await peers?.close();
      await store.close();
    },
  };
}
