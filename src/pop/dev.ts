/**
 * `outpost dev` wiring: load the project, bundle it, deploy it on a runtime, serve it, and on
 * every source change rebuild and swap to the new version (requests in flight finish on the
 * old one). A failed rebuild keeps the last good version serving and says why. Further projects
 * (`outpost dev gateway auth`) run beside it, reachable through service bindings by name.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import { AnalyticsEngine, NatsAnalyticsLog } from '../analytics/index.ts';
import type { CronScheduler, SchedulerClock, WorkflowEngine } from '../background/index.ts';
import {
  adminTokenFromEnv,
  bindingsOf,
  type CachePolicyConfig,
  ConfigError,
  type EarlyHintsConfig,
  type EsiConfig,
  type ExperimentConfig,
  parseEarlyHints,
  parseEsi,
  projectDirOf,
  resolveQuotas,
  type SecurityConfig,
  type StorageQuotas,
  type WorkerConfig,
} from '../config/index.ts';
import { D1Databases } from '../d1/index.ts';
import { DurableObjects, type DurableObjectsOptions, ObjectDirectory } from '../durable-objects/index.ts';
import { KvPop, NatsKvStore, SqliteKvStore } from '../kv/index.ts';
import {
  type ClientLocation,
  compileRoutes,
  loadTopology,
  localCf,
  parseLocation,
} from '../network/index.ts';
import {
  EdgeMetrics,
  type Observer,
  RecentTraces,
  RequestStream,
  TailHub,
  Tracer,
  type TracingOptions,
} from '../observability/index.ts';
import { R2Buckets } from '../r2/index.ts';
import {
  calleeChain,
  DEFAULT_ACCOUNT,
  type Limits,
  OutpostError,
  type RequestChain,
  Runtime,
  type RuntimeOptions,
} from '../runtime/index.ts';
import { NatsCounterStore, RateLimiter } from '../security/ratelimit/index.ts';
import { type AdminOptions, newAdminToken, writeAdminFile } from './admin.ts';
import { allOrClose } from './all-or-close.ts';
import { Background } from './background.ts';
import { DevNetwork } from './network.ts';
import { Pages } from './pages.ts';
import { Policies } from './policies.ts';
import { type Deployer, folderProjects, type Project, type ProjectSource } from './project.ts';
import { type PopServer, type PopServerOptions, startPopServer } from './server.ts';
import { Site } from './site.ts';
import { devCertificate, tlsFromFiles } from './tls.ts';

export interface DevOptions {
  dir: string;
  /** `--env NAME`: the config's `[env.NAME]` (src/config/environments.ts). */
  env?: string;
  /** The entry module from the command line (`outpost dev src/index.ts`): wins over `main`. */
  main?: string;
  /** More worker projects, served only through service bindings (`services` in config). */
  services?: string[];
  port?: number;
  host?: string;
  /** Production mode: plain 500s without stacks. */
  production?: boolean;
  watch?: boolean;
  origin?: string;
  /** Largest request body accepted, bytes (default 100 MB). */
  maxBodyBytes?: number;
  observer: Observer;
  runtime?: RuntimeOptions;
  /** Limits that win over the project's config (the CLI's --cpu-ms and friends). */
  limits?: Partial<Limits>;
  /** Before each request (PopServerOptions.beforeRequest). */
  beforeRequest?: () => Promise<void> | null;
  /** Fill the isolate pool before serving (default true). */
  prewarm?: boolean;
  /** Where the workers come from (default: `dir` and `services`, built and watched; a node: its deployments). */
  source?: ProjectSource;
  /** The PoP this process serves (default the local one, `DEV`, with request.cf of localCf). */
  pop?: { id: string; cf: (req: IncomingMessage) => Record<string, unknown> };
  /**
   * Admin token for /__outpost/, at least 16 characters (default: OUTPOST_ADMIN_TOKEN, else a
   * random one per run; the CLI passes `[admin] token` from outpost.toml when the variable is not set).
   */
  adminToken?: string;
  /**
   * A network of PoPs instead of the one local PoP: a built-in topology name (`world`) or a
   * topology file (src/network/topology/). `local` (the default) is the single PoP.
   */
  topology?: string;
  /** Where clients are when a request does not say (a city, PoP code, country or "lat,long"). */
  from?: string;
  /** Make responses wait the modelled client ↔ PoP round trip. */
  simulateLatency?: boolean;
  /** Health-check interval of a network's PoPs, ms (default 1000). */
  healthIntervalMs?: number;
  /**
   * The one folder builds read files from (src/runtime/bundle-confine.ts): by default each
   * project's own folder; a monorepo's root when projects import shared packages or a hoisted
   * node_modules from above their folders. It must hold every project served.
   */
  buildRoot?: string;
  /**
   * What workers' fetch() may reach beyond the public internet (`[egress] allow` in outpost.toml,
   * `--egress-allow`; src/config/egress.ts). The single local PoP allows loopback besides, so
   * a worker can call an API on the developer's machine; a network (a topology) does not,
   * as a deployed PoP would not.
   */
  egressAllow?: string[];
  /** A network's PoPs fill misses through regional shields (default true). */
  tieredCache?: boolean;
  /** HTTPS with HTTP/2: `true` for a development certificate, or certificate and key files. */
  tls?: true | { cert: string; key: string };
  /** Also speak HTTP/2 in the clear (h2c, prior knowledge) on this port (0: a free one). */
  h2cPort?: number;
  /** Also listen on a port of this process alone (PopServerOptions.ownPort; 0: a free one). */
  ownPort?: number;
  /** Connections are handed over by the node's primary process (PopServerOptions.handed). */
  handed?: { slot: number; of: number };
  /**
   * The header a proxy you run in front sets to the client's address (e.g. `X-Forwarded-For`);
   * workers then see that address in CF-Connecting-IP. Default: the socket's peer.
   */
  trustedProxyHeader?: string;
  /** `[security]` of the project's outpost.toml: policies run before the worker (src/pop/policies.ts). */
  security?: SecurityConfig;
  /**
   * The site the workers serve (outpost.toml `origin`, `zone`, `[cache]`; src/pop/site.ts): with
   * the workers' `routes`, requests no route matches go through the cache to its origin; a
   * worker's fetch() to the site's hosts reaches the origin under the site's cache policies.
   */
  site?: {
    origin?: string;
    zone?: string;
    policies?: CachePolicyConfig[];
    experiments?: ExperimentConfig[];
    /** `[esi]` (default: responses that ask for it are assembled). */
    esi?: EsiConfig;
    /** `[early_hints]` (default: on, remembered Link values only). */
    earlyHints?: EarlyHintsConfig;
  };
  /**
   * KV storage: by default `.outpost/kv/kv.sqlite` beside the project's config; with `nats`,
   * JetStream KV buckets on that NATS server (src/kv/nats-store.ts).
   */
  /**
   * Storage quotas per tenant (src/config/quotas.ts; the CLI's --cache-api-tenant-mb and
   * friends): the operator's. A worker's config cannot set or raise them.
   */
  quotas?: Partial<StorageQuotas>;
  /** Tracing: export each request's trace over OTLP/HTTP (src/observability/tracer.ts); none: off. */
  tracing?: TracingOptions;
  /** A node of a network: its deployments and rollback, for the dashboard (src/control/status.ts). */
  deployments?: AdminOptions['deployments'];
  /** A node of a network: the admin purge (the dashboard's) reaches every node. */
  networkPurge?: AdminOptions['networkPurge'];
  /** `GET /__scheduled?cron=…` runs the worker's scheduled() (wrangler dev --test-scheduled). */
  testScheduled?: boolean;
  /** The cron scheduler's clock (tests, the jitter bench); default the real one. */
  cronClock?: SchedulerClock;
  /** Where Workflow state is kept (default `.outpost/workflows/workflows.sqlite`; ':memory:' none). */
  workflowsFile?: string;
  /** With --nats: how long a dead leader's Workflow instances wait for another process, ms (default 5000). */
  workflowLeaseMs?: number;
  /** Durable Objects: where their databases go (default `.outpost/do`; null: in memory) and when an idle one is evicted. */
  durableObjects?: {
    dir?: string | null;
    idleMs?: number;
    /** A node of a network: objects owned across nodes, storage replicated (src/durable-objects/across-nodes.ts). */
    cluster?: DurableObjectsOptions['cluster'];
  };
  /** Requests another node of the network sends (PopServerOptions.peer). */
  peer?: PopServerOptions['peer'];
  kv?: {
    file?: string;
    cacheTtl?: number;
    nats?: string;
    /** JetStream replicas of what `nats` makes here: KV buckets, queue, Workflow, cron and Analytics streams (default 1). */
    replicas?: number;
    /** How long a write made elsewhere (another PoP, the CLI) takes to reach this PoP, ms (default 0). */
    propagationMs?: number;
    jitterMs?: number;
    seed?: number;
  };
}

/** tail() calls one Tail Worker may have running at once; past it, events for it are skipped. */
const MAX_TAIL_IN_FLIGHT = 64;

export interface DevServer {
  url: string;
  port: number;
  runtime: Runtime;
  /** The session's metrics (/__outpost/metrics). */
  metrics: EdgeMetrics;
  /** Where finished invocations go: `outpost tail` sessions, the dashboard, Tail Workers. */
  tail: TailHub;
  /** The Cron Triggers of every project, fired once per network. */
  scheduler: CronScheduler;
  /** The Workflows engine of the session. */
  workflows: WorkflowEngine;
  /** The PoPs, when a topology other than `local` runs. */
  network: DevNetwork | null;
  config: WorkerConfig;
  /** Bearer token of the admin endpoints (also written to .outpost/admin.json). */
  adminToken: string;
  /** HTTP/2 in the clear, when h2cPort was given. */
  h2cUrl?: string;
  /** The port of this process alone, when ownPort was given. */
  ownPort?: number;
  /** The tracer: it exports when tracing is on, and keeps recent traces for the dashboard. */
  tracer: Tracer;
  /** Rebuild and redeploy now; resolves with the error if the rebuild failed. */
  reload(): Promise<Error | null>;
  close(): Promise<void>;
}

/** The egress allow-list of a dev session's runtimes: `local`, the single PoP, adds loopback. */
function egressOf(options: DevOptions, local: boolean): { allow: string[] } {
  return {
    allow: [
      ...(local ? ['loopback'] : []),
      ...(options.runtime?.egress?.allow ?? []),
      ...(options.egressAllow ?? []),
    ],
  };
}

/** The id of the one PoP `outpost dev` runs today (the network work adds more). */
export const LOCAL_POP = 'DEV';

/** request.cf for the single local PoP (src/network/cf.ts). */
export { localCf as devCf } from '../network/index.ts';

/** A build manifest of `[[early_hints.manifest]]`, read once at start. */
function readManifest(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new OutpostError(
      'INVALID_OPTION',
      `early_hints.manifest: cannot read ${file} (${(err as Error).message}); run the build first`,
    );
  }
}

/**
 * The site's routes from every project's `routes`. The first project (the one served) without
 * routes of its own serves whatever no other project's route matches, as `outpost dev` always
 * has; with routes, what none matches goes to the site's origin. At start a bad set of routes
 * is an error; on a rebuild it is logged and the last good routes stay.
 */
function siteRoutes(site: Site, projects: Project[], observer: Observer, fatal: boolean): void {
  const inputs = projects.flatMap((p) =>
    p.config.routes.map((r) => ({
      pattern: r.pattern,
      worker: p.tenant,
      ...(r.zoneName ? { zoneName: r.zoneName } : {}),
      customDomain: r.customDomain,
      enabled: r.enabled,
    })),
  );
  try {
    // A node may start before anything is deployed to it: no projects, nothing to fall back to.
    site.setRoutes(inputs.length ? compileRoutes(inputs) : null, projects[0]?.config.routes.length === 0);
  } catch (err) {
    if (fatal) throw new OutpostError('INVALID_ROUTES', `routes: ${(err as Error).message}`);
    observer.log({
      level: 'error',
      source: 'outpost',
      message: `routes: ${(err as Error).message}; the previous routes stay in force`,
    });
  }
}

/** Analytics Engine's datasets of a project (`outpost analytics query` reads the same file). */
export function analyticsFile(rootDir: string): string {
  return join(rootDir, '.outpost', 'analytics', 'analytics.sqlite');
}

/** The embedded KV store of a dev network: one SQLite file beside the project. */
export function kvFile(rootDir: string): string {
  return join(rootDir, '.outpost', 'kv', 'kv.sqlite');
}

export async function startDev(options: DevOptions): Promise<DevServer> {
  const { observer } = options;
  // Checked before anything starts: an empty or short token is refused, never "no admin endpoints".
  if (options.adminToken !== undefined && options.adminToken.length < 16)
    throw new OutpostError(
      'INVALID_OPTION',
      `adminToken must be at least 16 characters, received ${options.adminToken.length}`,
    );
  const adminToken = options.adminToken ?? adminTokenFromEnv() ?? newAdminToken();
  // The PoP this process is: the local one of `outpost dev`, or a node's (src/pop/node.ts).
  const popId = options.pop?.id ?? LOCAL_POP;
  const popCf = options.pop?.cf ?? localCf;
  // Outpost's state lives in the project's folder, also when a deploy redirect points at a
  // built config under dist/ (which a rebuild replaces).
  const rootDir = options.main ? resolve(options.dir) : projectDirOf(options.dir);
  // The site: its routes are the projects' own, compiled once they have loaded (and again
  // when a rebuild changes them).
  const site = new Site({
    origin: options.origin ?? options.site?.origin,
    policies: options.site?.policies ?? [],
    ...(options.site?.zone ? { zone: options.site.zone } : {}),
    experiments: options.site?.experiments ?? [],
    routes: null,
  });
  // Page features; a build manifest that cannot be read stops the start here, before anything runs.
  const pages = new Pages({
    esi: options.site?.esi ?? parseEsi(undefined, 'outpost.toml'),
    earlyHints: options.site?.earlyHints ?? parseEarlyHints(undefined, 'outpost.toml', rootDir),
    observer,
    readManifest,
  });
  // One primary per D1 database for the whole network (docs/d1.md).
  const d1 = new D1Databases(join(rootDir, '.outpost', 'd1'));
  // R2 buckets: one folder for the whole network, bodies as files beside an SQLite index (docs/r2.md).
  const r2 = new R2Buckets(join(rootDir, '.outpost', 'r2'));
  // Analytics Engine: every dataset in one SQLite file, written in batches (docs/analytics-engine.md).
  const analytics = new AnalyticsEngine({
    file: analyticsFile(rootDir),
    onError: (err) => observer.log({ level: 'warn', source: 'outpost', message: err.message }),
  });
  const quotas = resolveQuotas(options.quotas, 'quotas');
  // With --nats, KV, the analytics log and the background work's stores each connect to NATS,
  // all at once (one after another they were a noticeable part of a node's start).
  const [kvStore, analyticsLog, opened] = await allOrClose([
    options.kv?.nats
      ? NatsKvStore.connect({
          servers: options.kv.nats,
          pop: popId,
          namespaceQuotaBytes: quotas.kvNamespaceBytes,
          ...(options.kv.replicas ? { replicas: options.kv.replicas } : {}),
        })
      : new SqliteKvStore({
          namespaceQuotaBytes: quotas.kvNamespaceBytes,
          file: options.kv?.file ?? kvFile(rootDir),
          // A network of PoPs shows Cloudflare's ~60 s propagation unless told otherwise.
          propagationMs:
            options.kv?.propagationMs ?? (options.topology && options.topology !== 'local' ? 60_000 : 0),
          jitterMs: options.kv?.jitterMs,
          seed: options.kv?.seed,
        }),
    // With --nats, data points go through a JetStream stream every machine applies to its file.
    options.kv?.nats
      ? NatsAnalyticsLog.connect({
          servers: options.kv.nats,
          engine: analytics,
          ...(options.kv.replicas ? { replicas: options.kv.replicas } : {}),
          onError: (err) => observer.log({ level: 'warn', source: 'outpost', message: err.message }),
        })
      : null,
    // Crons, queues and Workflows: once for the whole network (src/pop/background.ts); if
    // another part fails, stopped (its Workflows connections) and closed.
    Background.open({
      rootDir,
      ...(options.kv?.nats ? { nats: options.kv.nats } : {}),
      ...(options.kv?.replicas ? { natsReplicas: options.kv.replicas } : {}),
      observer,
      ...(options.cronClock ? { cronClock: options.cronClock } : {}),
      ...(options.workflowsFile !== undefined ? { workflowsFile: options.workflowsFile } : {}),
      ...(options.workflowLeaseMs !== undefined ? { workflowLeaseMs: options.workflowLeaseMs } : {}),
    }).then((bg) => ({
      bg,
      close: async () => {
        await bg.stop();
        await bg.close();
      },
    })),
  ]);
  const background = opened.bg;
  const topology = options.topology && options.topology !== 'local' ? loadTopology(options.topology) : null;
  let network: DevNetwork | null = null;
  let runtime: Runtime | undefined;
  // One Durable Object per id in the whole network, placed and reached through its PoPs.
  const doDir = options.durableObjects?.dir;
  const objects = new DurableObjects({
    directory: new ObjectDirectory(doDir === null ? null : (doDir ?? join(rootDir, '.outpost', 'do')), {
      objectMaxBytes: quotas.durableObjectBytes,
    }),
    observer,
    idleMs: options.durableObjects?.idleMs,
    ...(options.durableObjects?.cluster ? { cluster: options.durableObjects.cluster } : {}),
    runtimeFor: (pop) => (network ? network.node(pop).runtime : (runtime as Runtime)),
    placement: {
      place: (from, hint) => network?.placement.place(from, hint) ?? from,
      trip: (from, to) => network?.placement.trip(from, to) ?? { ms: 0, wait: false },
    },
  });
  // One registry for the session: every PoP's requests, labelled by PoP (/__outpost/metrics).
  const metrics = new EdgeMetrics(
    () => {
      const runtimes = network
        ? network.nodes.map((n) => [n.pop.id, n.runtime] as const)
        : [[popId, runtime as Runtime] as const];
      return runtimes.map(([pop, r]) => {
        const st = r.stats();
        return { pop, isolates: st.isolates, busy: st.busy, pooled: st.pooled, evictions: st.evictions };
      });
    },
    {
      liveObjects: () => objects.liveCount,
      ...(options.kv?.nats
        ? {
            nats: () => [
              { role: 'kv', connected: (kvStore as NatsKvStore).connected },
              ...(analyticsLog ? [{ role: 'analytics', connected: analyticsLog.connected }] : []),
            ],
          }
        : {}),
    },
  );
  // Live tail and Tail Workers: every runtime reports finished invocations here.
  const tail = new TailHub();
  let deployer: Deployer;
  if (topology) {
    const from: ClientLocation | undefined = options.from
      ? parseLocation(options.from, topology, '--from')
      : undefined;
    network = new DevNetwork({
      topology,
      kvStore,
      observer,
      runtime: {
        ...options.runtime,
        quotas,
        egress: egressOf(options, false),
        d1,
        r2,
        analytics,
        tail,
        site,
        queues: background.queueSink,
        workflows: background.workflowHost,
      },
      metrics,
      from,
      simulateLatency: options.simulateLatency,
      kvCacheTtl: options.kv?.cacheTtl,
      healthIntervalMs: options.healthIntervalMs,
      tieredCache: options.tieredCache,
      objects,
    });
    const net = network;
    const first = net.node(net.router.route(net.from)?.id ?? topology.pops[0].id).runtime;
    runtime = first;
    deployer = {
      deploy: (tenant, bundle, config, limits) => net.deploy(tenant, bundle, config, limits),
      warm: (tenant) => first.warm(tenant),
      has: (tenant) => first.has(tenant),
    };
  } else {
    const kv = new KvPop(popId, kvStore, { cacheTtl: options.kv?.cacheTtl });
    runtime = new Runtime({
      observer,
      kv,
      ...options.runtime,
      quotas,
      // A node (options.pop) is a machine of a real network: loopback only where it is allowed.
      egress: egressOf(options, !options.pop),
      objects,
      popId,
      d1,
      r2,
      analytics,
      tail,
      site,
      queues: background.queueSink,
      workflows: background.workflowHost,
      metrics: metrics.forPop(popId),
    });
    deployer = runtime;
  }
  const rt = runtime as Runtime;
  // A node fills its warm pool once it is serving: its start is on the clock (src/pop/node.ts).
  if (options.prewarm !== false) await rt.prewarm();
  background.attach(rt);
  const scheduler = background.scheduler;
  let started = false;
  // A rebuild (or a deploy to a node) may change a project's routes, crons, queue consumers or Workflows.
  const routesChanged = () => {
    if (!started) return;
    siteRoutes(site, projects, observer, false);
    void background.configure(projects, false);
  };
  const source = options.source ?? folderProjects(options);
  // The first is the one requests no route matches go to; a node's list grows with deploys.
  const projects = await source.open(deployer, routesChanged);
  // What the projects declare is checked once they have loaded: names, routes, crons. A problem
  // stops the start, after closing what was started.
  const abandon = async (err: Error): Promise<never> => {
    for (const p of projects) p.close();
    await objects.close();
    await (network ? network.close() : rt.close());
    await kvStore.close();
    await background.stop();
    await background.close();
    await analyticsLog?.close();
    analytics.close();
    throw err;
  };
  const names = new Set<string>();
  for (const o of projects) {
    if (names.has(o.tenant))
      await abandon(
        new ConfigError(
          o.config.configPath,
          'name',
          'a name no other worker in this dev session uses',
          o.tenant,
        ),
      );
    names.add(o.tenant);
  }
  // With --nats, exact rate-limit counters are kept in NATS, shared by every process of the
  // network (src/security/ratelimit/nats-store.ts); `local` ones stay here, per PoP.
  let sharedCounters: NatsCounterStore | null = null;
  try {
    siteRoutes(site, projects, observer, true);
    await background.configure(projects, true);
    if (
      options.kv?.nats &&
      options.security?.rateLimit.some((r) => (r as { mode?: unknown }).mode !== 'local')
    )
      sharedCounters = await NatsCounterStore.connect(options.kv.nats, options.kv.replicas ?? 1);
  } catch (err) {
    await abandon(err as Error);
  }
  started = true;
  background.start();
  // Tail Workers: a project's tail_consumers that are served in this session get its events.
  const accountOf = (p: { config: WorkerConfig }) => p.config.accountId ?? DEFAULT_ACCOUNT;
  for (const p of projects)
    for (const consumer of p.config.tailConsumers) {
      // As bindings, a Tail Worker is reached only within the producer's account.
      const target = projects.find((o) => o.tenant === consumer);
      if (!target || accountOf(target) !== accountOf(p)) {
        observer.log({
          level: 'warn',
          source: 'outpost',
          message: `"${p.tenant}": its tail consumer "${consumer}" is not served in this session and account (give its folder to outpost dev after the first); its events go to outpost tail only`,
        });
        continue;
      }
      let inFlight = 0;
      let warned = false;
      const skip = (why: string) => {
        if (warned) return;
        warned = true;
        observer.log({
          level: 'warn',
          source: 'outpost',
          message: `tail consumer "${consumer}" of "${p.tenant}": events are being skipped (${why}); warned once`,
        });
      };
      tail.consume(p.tenant, (events, chain) => {
        // A tail() that calls back into its producer is a chain like any other: the loop limits stop it.
        let next: RequestChain;
        try {
          next = calleeChain(chain as RequestChain, `the Tail Worker "${consumer}"`, true);
        } catch (err) {
          return skip((err as Error).message);
        }
        if (inFlight >= MAX_TAIL_IN_FLIGHT)
          return skip(`${MAX_TAIL_IN_FLIGHT} tail() calls are already running`);
        inFlight++;
        rt.event(consumer, 'tail', [events], next)
          .catch((err) =>
            observer.log({
              level: 'error',
              source: 'outpost',
              message: `tail consumer "${consumer}" of "${p.tenant}" failed: ${(err as Error).message}`,
            }),
          )
          .finally(() => inFlight--);
      });
    }

  const tls = options.tls
    ? options.tls === true
      ? await devCertificate(rootDir)
      : tlsFromFiles(options.tls.cert, options.tls.key)
    : undefined;
  // Always a tracer: without --trace-endpoint it traces only while the dashboard's Requests
  // view looks, for its waterfalls (src/observability/recent-traces.ts).
  const tracer = new Tracer(options.tracing ?? null, observer, new RecentTraces());
  tracer.onCount = (what, n) => metrics.traceSpans(what, n);
  const kvNamespace = (name: string) => {
    const all = projects.flatMap((p) => bindingsOf(p.config.bindings, 'kv'));
    return all.find((k) => k.binding === name)?.id ?? all.find((k) => k.id === name)?.id;
  };
  let policies: Policies | null = null;
  try {
    policies = options.security
      ? new Policies(options.security, {
          kvNamespace,
          metrics,
          observer,
          // The dev address stands in for the zone, as for worker routes (docs/sites.md).
          hostOf: (u) => (site.zone && site.isSelf(u.host) ? site.zone : u.hostname),
          ...(sharedCounters ? { limiter: new RateLimiter({ shared: sharedCounters }) } : {}),
          ...(network ? { placement: network.placement } : {}),
        })
      : null;
  } catch (err) {
    await sharedCounters?.close();
    await tracer.close();
    throw err;
  }
  const server: PopServer = await startPopServer({
    runtime: rt,
    metrics,
    // A browser on the developer's machine opens the dashboard without the token; a node never.
    dashboardLoopback: !options.pop,
    ...(policies ? { policies } : {}),
    tracer,
    tail,
    requests: new RequestStream(),
    ...(options.deployments ? { deployments: options.deployments } : {}),
    ...(options.networkPurge ? { networkPurge: options.networkPurge } : {}),
    ...(network
      ? {
          select: (req: IncomingMessage) => (network as DevNetwork).select(req),
          admin: {
            purges: network.purges,
            kvPops: () => (network as DevNetwork).nodes.map((n) => n.kv),
            network: network as DevNetwork,
            workers: () => (network as DevNetwork).deployed(),
          },
        }
      : {}),
    route: () =>
      projects[0]?.buildError ??
      projects[0]?.tenant ??
      new OutpostError('NO_DEPLOYMENT', 'No worker is deployed here yet (outpost deploy)'),
    site,
    ...(options.testScheduled ? { testScheduled: true } : {}),
    ...(options.beforeRequest ? { beforeRequest: options.beforeRequest } : {}),
    ...(options.peer ? { peer: options.peer } : {}),
    scheduled: {
      list: () => scheduler.list(),
      // `outpost trigger scheduled`: a worker's crons now (or the one named; none: cron "").
      run: async (worker, cron) => {
        const name = worker ?? projects[0]?.tenant;
        const project = projects.find((p) => p.tenant === name);
        if (!project) throw new OutpostError('NO_SUCH_WORKER', `No worker "${name}" in this dev session`);
        const crons = cron !== undefined ? [cron] : project.config.crons.length ? project.config.crons : [''];
        for (const c of crons) await rt.event(name, 'scheduled', [{ scheduledTime: Date.now(), cron: c }]);
        return crons.map((c) => ({ worker: name, cron: c }));
      },
    },
    workflows: background.workflows,
    pages,
    ...(tls ? { tls } : {}),
    ...(options.h2cPort !== undefined ? { h2cPort: options.h2cPort } : {}),
    ...(options.ownPort !== undefined ? { ownPort: options.ownPort } : {}),
    ...(options.handed ? { handed: options.handed } : {}),
    ...(options.trustedProxyHeader ? { trustedProxyHeader: options.trustedProxyHeader } : {}),
    popId,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8787,
    dev: !options.production,
    cf: popCf,
    origin: site.origin?.href ?? options.origin,
    maxBodyBytes: options.maxBodyBytes,
    adminToken,
    kvNamespace,
    observer,
  });
  // The dev server's addresses stand in for the zone (src/pop/site.ts).
  site.addSelf(options.host ?? '127.0.0.1', [
    server.port,
    ...(server.h2cUrl ? [Number(new URL(server.h2cUrl).port)] : []),
    ...(server.ownPort !== undefined ? [server.ownPort] : []),
  ]);
  writeAdminFile(rootDir, server.url, adminToken);
  // Alarms set before a restart fire now that their workers are deployed.
  objects.startAlarms();

  return {
    url: server.url,
    port: server.port,
    ...(server.h2cUrl ? { h2cUrl: server.h2cUrl } : {}),
    ...(server.ownPort !== undefined ? { ownPort: server.ownPort } : {}),
    runtime: rt,
    metrics,
    tail,
    scheduler,
    workflows: background.workflows,
    network,
    adminToken,
    tracer,
    get config() {
      const first = projects[0];
      if (!first) throw new OutpostError('NO_DEPLOYMENT', 'No worker is deployed here yet');
      return first.config;
    },
    reload: () => projects[0]?.reload() ?? Promise.resolve(null),
    close: async () => {
      for (const o of projects) o.close();
      tail.close();
      await background.stop();
      await server.close();
      await site.close();
      await tracer.close();
      await sharedCounters?.close();
      await objects.close();
      await (network ? network.close() : rt.close());
      await kvStore.close();
      await background.close();
      d1.close();
      r2.close();
      await analytics.settle();
      await analyticsLog?.close();
      analytics.close();
    },
  };
}
