/**
 * The runtime: many tenants in one process, one isolate per (tenant, version), made on demand
 * from the warm pool and evicted least-recently-used when the isolates' memory passes a budget
 * or their count or their memory mappings pass what one process can hold (capacity.ts).
 */

import { AnalyticsEngine } from '../analytics/index.ts';
import { type AssetResponse, AssetServer } from '../assets/index.ts';
import { ApiCacheStore, HttpCache, MemoryStore, PurgeBus } from '../cache/index.ts';
import { bindingsOf, resolveQuotas, type StorageQuotas, type WorkerConfig } from '../config/index.ts';
import { D1Databases } from '../d1/index.ts';
import {
  DurableObjects,
  type HibernationSet,
  type ObjectClass,
  ObjectDirectory,
  type ObjectEvent,
  type ObjectHost,
  type ObjectInstance,
  type ObjectLoad,
  type SocketFlow,
  type StagedStorage,
} from '../durable-objects/index.ts';
import type { KvPop } from '../kv/index.ts';
import {
  type Hop,
  NO_METRICS,
  noopObserver,
  type Observer,
  type PopMetrics,
  type TailHub,
} from '../observability/index.ts';
import { R2Buckets } from '../r2/index.ts';
import { RateLimiter } from '../security/ratelimit/index.ts';
import { DEFAULT_ACCOUNT, sameAccountTarget } from './accounts.ts';
import { connectBindings } from './bindings/index.ts';
import type { QueueSink, WorkflowHost } from './bindings/types.ts';
import { fromAsyncIterable } from './bridge/bodies.ts';
import type { SiteLink, Tier } from './bridge/fetch.ts';
import { Inflow } from './bridge/inflow.ts';
import { NamedError } from './bridge/named-error.ts';
import type { ServiceLinks } from './bridge/service.ts';
import type { Bundle } from './bundle.ts';
import { capacityOf, mappingsOf } from './capacity.ts';
import { CodeCache } from './code-cache.ts';
import { cpuTimeOf } from './cpu-meter.ts';
import { type EgressOptions, EgressPolicy } from './egress.ts';
import { OutpostError, ScriptLoadError } from './errors.ts';
import { WorkerInstance } from './instance.ts';
import { type Limits, resolveLimits } from './limits.ts';
import type { RequestChain } from './loops.ts';
import { objectClassOf, objectLinks } from './object-links.ts';
import { IsolatePool } from './pool.ts';
import { lineOffset, StackMapper } from './sourcemap.ts';
import { stickyRoll } from './split.ts';
import type { WorkerRequest, WorkerResponse, WorkerVersion } from './types.ts';

export interface RuntimeOptions {
  /** Defaults for every worker; a worker's own config (limits.cpu_ms) overrides cpuMs. */
  limits?: Partial<Limits>;
  /** Isolates kept warm (default 4; 0: no pool, every isolate made when asked for). */
  poolSize?: number;
  /** Most isolates kept warm after bursts of cold starts (default 64; at or below poolSize, no growth: src/runtime/pool-demand.ts). */
  poolMax?: number;
  /** Evict idle isolates LRU when their heaps pass this many MB (default 4096). */
  memoryBudgetMb?: number;
  /** Evict idle isolates LRU past this many (default 5000). */
  maxIsolates?: number;
  observer?: Observer;
  /** Watchdog period, ms (default 5). */
  watchdogMs?: number;
  /** The PoP's Cache API store (default: a new in-memory store). */
  cacheStore?: ApiCacheStore;
  /** The PoP's HTTP cache for fetch() subrequests (default: a new one over a memory store). */
  httpCache?: HttpCache;
  /** Where purges reach every PoP (default: a bus holding this runtime's HTTP cache). */
  purges?: PurgeBus;
  /** The PoP's view of KV (default: none; a worker with KV bindings then gets a clear error). */
  kv?: KvPop;
  /** The cache tiers above this PoP's HTTP cache (a network's regional shield), if any. */
  tier?: Tier;
  /** The site workers serve (outpost.toml `origin`, `[cache]`): fetch() to its hosts reaches its origin. */
  site?: SiteLink;
  /** Durable Objects of the whole network (default: this runtime's own, in memory). */
  objects?: DurableObjects;
  /** This runtime's PoP (for Durable Object placement; default "DEV"). */
  popId?: string;
  /**
   * What workers' fetch() may connect to beyond the public internet (src/runtime/egress.ts).
   * Default: nothing else; `outpost dev` on its single PoP passes `{ allow: ['loopback'] }`.
   */
  egress?: EgressOptions;
  /**
   * Storage quotas per tenant (src/config/quotas.ts): the operator's, never from a worker's
   * config. Used for the stores this runtime makes itself (Cache API, fetch() cache, its own
   * Durable Objects); stores passed in carry their own.
   */
  quotas?: Partial<StorageQuotas>;
  /** Where D1 databases live (default: a temporary folder); `outpost dev` passes `.outpost/d1`. */
  d1?: D1Databases;
  /** Where R2 buckets live (default: a temporary folder); `outpost dev` passes `.outpost/r2`. */
  r2?: R2Buckets;
  /**
   * Where Analytics Engine data points are written (default: in memory, closed with the
   * runtime); `outpost dev` passes `.outpost/analytics`.
   */
  analytics?: AnalyticsEngine;
  /**
   * The counters of Rate Limiting bindings (default: this runtime's own, so in a network each
   * PoP counts alone, as Cloudflare's binding counts per location). Runtimes given one
   * RateLimiter share its counters.
   */
  rateLimiter?: RateLimiter;
  /** Where Queues producers send (the network's queue store); none: sends fail naming the binding. */
  queues?: QueueSink;
  /** The Workflows engine of the network (null: Workflow bindings say there is none). */
  workflows?: WorkflowHost;
  /** Where finished invocations go for `outpost tail` and Tail Workers (none: nobody tails). */
  tail?: TailHub;
  /** What this PoP's parts count (cache lookups, KV operations, cold starts, origin errors). */
  metrics?: PopMetrics;
}

/** Period of the sweep over idle isolates, ms. */
const SWEEP_MS = 100;

/** What of a worker's config a deploy uses. */
export type DeployConfig = Pick<WorkerConfig, 'name' | 'vars' | 'limits' | 'rootDir'> &
  Partial<Pick<WorkerConfig, 'projectDir'>> &
  Partial<
    Pick<
      WorkerConfig,
      | 'compatibilityFlags'
      | 'compatibilityDate'
      | 'bindings'
      | 'durableObjectClasses'
      | 'accountId'
      | 'assets'
      | 'main'
    >
  >;

/** A second version of a tenant and the share of its requests it takes. */
interface Split {
  t: Tenant;
  percentage: number;
  sticky: boolean;
}

/** Whether a request goes to the split's version: by the client's address when sticky. */
function splitTakes(split: Split, request: WorkerRequest): boolean {
  if (!split.sticky) return Math.random() * 100 < split.percentage;
  const h = request.headers;
  let key = '';
  for (let i = 0; i < h.length; i += 2) if (h[i] === 'cf-connecting-ip') key = h[i + 1];
  return stickyRoll(key) < split.percentage;
}

interface Tenant {
  version: WorkerVersion;
  instance: WorkerInstance | null;
  loading: Promise<WorkerInstance> | null;
  loadError: ScriptLoadError | null;
}

export class Runtime implements ObjectHost {
  readonly pool: IsolatePool;
  readonly observer: Observer;
  readonly limits: Limits;
  readonly cacheStore: ApiCacheStore;
  readonly httpCache: HttpCache;
  readonly purges: PurgeBus;
  readonly kv: KvPop | null;
  readonly tier: Tier | null;
  readonly site: SiteLink | null;
  readonly popId: string;
  readonly quotas: StorageQuotas;
  readonly egress: EgressPolicy;
  #objects: DurableObjects | null;
  #d1: D1Databases | null;
  #r2: R2Buckets | null;
  #analytics: AnalyticsEngine | null;
  #rateLimiter: RateLimiter | null;
  readonly queues: QueueSink | null;
  readonly workflows: WorkflowHost | null;
  readonly #tail: TailHub | null;
  /** What this PoP's parts count (src/observability/metrics.ts). */
  readonly metrics: PopMetrics;
  readonly #ownAnalytics: boolean;
  readonly #ownObjects: boolean;
  readonly #tenants = new Map<string, Tenant>();
  /** Versions being pre-warmed by stage(), not yet current. */
  readonly #staged = new Set<Tenant>();
  /** Gradual deployments: a second version taking a share of a tenant's requests. */
  readonly #splits = new Map<string, Split>();
  /** Live instances, least recently used first. */
  readonly #lru = new Map<WorkerInstance, true>();
  /** The isolate #lru has last: using it again leaves the order as it is (#used). */
  #last: WorkerInstance | null = null;
  readonly #busy = new Set<WorkerInstance>();
  readonly #codeCache = new CodeCache();
  readonly #memoryBudget: number;
  readonly #maxIsolates: number;
  /** The memory mappings live isolates may hold (capacity.ts, mappingsOf). */
  readonly #mapBudget: number;
  #watchdog: NodeJS.Timeout;
  #sweeper: NodeJS.Timeout;
  #closed = false;
  #evictions = 0;

  constructor(options: RuntimeOptions = {}) {
    this.observer = options.observer ?? noopObserver;
    this.limits = resolveLimits(options.limits);
    this.quotas = resolveQuotas(options.quotas, 'RuntimeOptions.quotas');
    // Each tenant has a budget of its own in the PoP's shared stores: one never evicts another's.
    this.cacheStore =
      options.cacheStore ?? new ApiCacheStore({ tenantMaxBytes: this.quotas.cacheApiTenantBytes });
    this.httpCache =
      options.httpCache ??
      new HttpCache({
        store: new MemoryStore({ namespaceMaxBytes: this.quotas.fetchCacheTenantBytes }),
        onError: (err) =>
          this.observer.log({ level: 'warn', source: 'outpost', message: `cache: ${err.message}` }),
      });
    this.purges = options.purges ?? new PurgeBus();
    this.kv = options.kv ?? null;
    this.tier = options.tier ?? null;
    this.site = options.site ?? null;
    this.popId = options.popId ?? 'DEV';
    this.egress = new EgressPolicy(options.egress);
    this.#objects = options.objects ?? null;
    this.#d1 = options.d1 ?? null;
    this.#r2 = options.r2 ?? null;
    this.#analytics = options.analytics ?? null;
    this.#rateLimiter = options.rateLimiter ?? null;
    this.queues = options.queues ?? null;
    this.workflows = options.workflows ?? null;
    this.#tail = options.tail ?? null;
    this.metrics = options.metrics ?? NO_METRICS;
    this.#ownAnalytics = !options.analytics;
    this.#ownObjects = !options.objects;
    if (!options.purges) {
      this.purges.join(this.httpCache, { tier: 'pop', id: options.popId ?? '' });
      this.purges.join(this.cacheStore, { tier: 'api', id: options.popId ?? '' });
    }
    const { poolSize, poolMax, memoryBudgetBytes, maxIsolates, mapBudget } = capacityOf(
      options,
      this.observer,
    );
    this.#memoryBudget = memoryBudgetBytes;
    this.#maxIsolates = maxIsolates;
    this.#mapBudget = mapBudget;
    this.pool = new IsolatePool({ size: poolSize, max: poolMax, observer: this.observer });
    this.#watchdog = setInterval(() => this.#check(), options.watchdogMs ?? 5);
    this.#watchdog.unref();
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /** Fill the warm pool now (otherwise it fills after the first request). */
  prewarm(): Promise<void> {
    return this.pool.prefill(this.limits.memoryMb);
  }

  /**
   * Make `bundle` the current version of `tenant`. Requests already running on the previous
   * version finish there; the old isolate goes once idle.
   */
  deploy(
    tenant: string,
    bundle: Bundle,
    config: DeployConfig,
    limitOverrides: Partial<Limits> = {},
    options: { account?: string } = {},
  ): WorkerVersion {
    const version = this.#version(tenant, bundle, config, limitOverrides, options);
    const previous = this.#tenants.get(tenant);
    this.#tenants.set(tenant, { version, instance: null, loading: null, loadError: null });
    previous?.instance?.retire();
    return version;
  }

  /**
   * Pre-warm, then switch: load `bundle` in an isolate and run its top level while the current
   * version keeps serving, and make it current only once it is ready (requests in flight finish
   * on the old one). A version that fails to load never takes traffic: the error is thrown and
   * the previous version stays. A newer deploy or stage of the tenant made meanwhile wins.
   */
  async stage(
    tenant: string,
    bundle: Bundle,
    config: DeployConfig,
    limitOverrides: Partial<Limits> = {},
    options: { account?: string; keep?: boolean } = {},
  ): Promise<WorkerVersion> {
    const version = this.#version(tenant, bundle, config, limitOverrides, options);
    const staged: Tenant = { version, instance: null, loading: null, loadError: null };
    const started = this.#tenants.get(tenant);
    this.#staged.add(staged);
    try {
      staged.loading = this.#load(staged, true);
      await staged.loading;
    } finally {
      this.#staged.delete(staged);
    }
    if (this.#tenants.get(tenant) !== started) {
      staged.instance?.retire();
      return version;
    }
    this.#tenants.set(tenant, staged);
    started?.instance?.retire();
    // Checked, not kept: its first request starts it again (another process of the node serves
    // its hosts, network/affinity.ts). Its code cache, made by this load, stays.
    if (options.keep === false) staged.instance?.retire();
    return version;
  }

  #version(
    tenant: string,
    bundle: Bundle,
    config: DeployConfig,
    limitOverrides: Partial<Limits> = {},
    options: { account?: string } = {},
  ): WorkerVersion {
    // Precedence: explicit overrides (CLI flags), then the worker's config, then runtime defaults.
    const limits = resolveLimits({
      ...this.limits,
      cpuMs: config.limits.cpuMs ?? this.limits.cpuMs,
      ...limitOverrides,
    });
    const version: WorkerVersion = {
      id: `${tenant}@${bundle.hash.slice(0, 12)}`,
      tenant,
      account: options.account ?? config.accountId ?? DEFAULT_ACCOUNT,
      name: config.name,
      bundle,
      vars: config.vars,
      compatibilityFlags: config.compatibilityFlags ?? [],
      compatibilityDate: config.compatibilityDate,
      bindings: config.bindings ?? [],
      durableObjectClasses: config.durableObjectClasses ?? [],
      // Read now: a deploy with a bad assets folder fails here, naming what is wrong.
      assets: config.assets
        ? new AssetServer(
            config.assets,
            config.main !== undefined,
            (message) =>
              this.observer.log({ level: 'warn', source: 'outpost', message: `${config.name}: ${message}` }),
            config.projectDir ?? config.rootDir,
          )
        : null,
      limits,
      mapper: new StackMapper(bundle.map, bundle.filename, lineOffset(bundle.format)),
    };
    return version;
  }

  has(tenant: string): boolean {
    return this.#tenants.has(tenant);
  }

  current(tenant: string): WorkerVersion | undefined {
    return this.#tenants.get(tenant)?.version;
  }

  /** Every tenant's current version. */
  versions(): WorkerVersion[] {
    return [...this.#tenants.values()].map((t) => t.version);
  }

  /** Load the tenant's isolate now (surfaces load errors before the first request). */
  async warm(tenant: string): Promise<void> {
    await this.#instance(tenant, true);
  }

  handle(tenant: string, request: WorkerRequest): Promise<WorkerResponse> {
    let t = this.#tenants.get(tenant);
    const split = this.#splits.size ? this.#splits.get(tenant) : undefined;
    if (split && t && splitTakes(split, request)) t = split.t;
    const assets = t?.version.assets;
    if (assets && t) return this.#assetsFirst(t, assets, request);
    return this.#handle(tenant, t, request);
  }

  /** Static assets the rules serve without the worker (src/assets/), else the worker. */
  async #assetsFirst(t: Tenant, assets: AssetServer, request: WorkerRequest): Promise<WorkerResponse> {
    const h = request.headers;
    const header = (name: string) => {
      for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
      return undefined;
    };
    const started = performance.now();
    const r = await assets.beforeWorker({ method: request.method, url: request.url, header });
    if (!r) return this.#handle(t.version.tenant, t, request);
    return assetResponse(r, { name: 'assets', ms: performance.now() - started, desc: String(r.status) });
  }

  #handle(tenant: string, t: Tenant | undefined, request: WorkerRequest): Promise<WorkerResponse> {
    // Fast path without an extra await: the tenant's isolate is loaded and serving.
    const ready = t?.instance;
    if (ready && ready.state === 'ready' && !ready.iso.isolate.isDisposed) return this.#run(ready, request);
    return (t ? this.#instanceOf(t) : this.#instance(tenant)).then((instance) =>
      this.#run(instance, request),
    );
  }

  /**
   * A gradual deployment: a second version of `tenant` takes `percentage` of its requests (by
   * the client's address when sticky, else at random), pre-warmed before it takes any. The
   * tenant's current version keeps the rest, and every other kind of event (crons, queues,
   * alarms). Replaces an earlier split of the tenant.
   */
  async stageSplit(
    tenant: string,
    bundle: Bundle,
    config: DeployConfig,
    split: { percentage: number; sticky: boolean },
    limitOverrides: Partial<Limits> = {},
  ): Promise<void> {
    if (!Number.isFinite(split.percentage) || split.percentage < 0 || split.percentage > 100)
      throw new OutpostError(
        'INVALID_OPTION',
        `a split's percentage is 0 to 100, received ${split.percentage}`,
      );
    const t: Tenant = {
      version: this.#version(tenant, bundle, config, limitOverrides),
      instance: null,
      loading: null,
      loadError: null,
    };
    this.#staged.add(t);
    try {
      t.loading = this.#load(t, true);
      await t.loading;
    } finally {
      this.#staged.delete(t);
    }
    const old = this.#splits.get(tenant);
    this.#splits.set(tenant, { t, ...split });
    old?.t.instance?.retire();
  }

  /** End a gradual deployment: every request goes to the tenant's current version again. */
  clearSplit(tenant: string): void {
    const old = this.#splits.get(tenant);
    this.#splits.delete(tenant);
    old?.t.instance?.retire();
  }

  /** A handler event (a Tail Worker's `tail(events)`, a cron's `scheduled(controller)`) for a deployed worker. */
  async event(
    tenant: string,
    handler: 'tail' | 'scheduled' | 'queue' | 'workflow',
    args: unknown[],
    chain?: RequestChain,
  ): Promise<unknown> {
    const instance = await this.#instance(tenant);
    this.#used(instance);
    return instance.event(handler, args, chain);
  }

  #run(instance: WorkerInstance, request: WorkerRequest): Promise<WorkerResponse> {
    this.#used(instance);
    return instance.handle(request);
  }

  /** `eager`: a deploy's load, before any request (it makes the code cache at once, code-cache.ts). */
  #instance(tenant: string, eager = false): Promise<WorkerInstance> {
    const t = this.#tenants.get(tenant);
    if (!t) return Promise.reject(new OutpostError('NO_SUCH_WORKER', `No worker is deployed as "${tenant}"`));
    return this.#instanceOf(t, eager);
  }

  async #instanceOf(t: Tenant, eager = false): Promise<WorkerInstance> {
    if (t.instance && t.instance.state === 'ready') {
      if (!t.instance.iso.isolate.isDisposed) return t.instance;
      // isolated-vm disposed it while no request was running (e.g. a timer ran out of memory
      // after the response): record the breach, and serve this request from a fresh isolate.
      t.instance.checkIdle();
    }
    if (t.loadError) throw t.loadError;
    t.loading ??= this.#load(t, eager);
    return t.loading;
  }

  async #load(t: Tenant, eager = false): Promise<WorkerInstance> {
    const version = t.version;
    try {
      const started = performance.now();
      // A load ahead of requests (a deploy's, a warm-up) is no new tenant arriving: the pool's
      // growth (pool-demand.ts) counts those alone.
      const iso = await this.pool.take(version.limits.memoryMb, !eager);
      const inst = await WorkerInstance.load(
        version,
        iso,
        this.observer,
        this.#codeCache,
        undefined,
        undefined,
        eager,
      );
      this.metrics.coldStart(version.name, (performance.now() - started) / 1000);
      this.#wire(inst, version);
      inst.onDeath = () => {
        this.#removed(inst);
        if (t.instance === inst) t.instance = null;
      };
      if (this.#live(t)) {
        t.instance = inst;
        t.loading = null;
      } else inst.retire(); // redeployed while loading
      this.#added(inst);
      // Measure after the first request has gone through (the sample queues on the isolate's thread).
      setTimeout(() => inst.sampleHeap().then(() => this.#evict()), 20);
      return inst;
    } catch (err) {
      if (this.#live(t)) {
        t.loading = null;
        if (err instanceof ScriptLoadError) t.loadError = err;
      }
      if (err instanceof ScriptLoadError)
        this.observer.log({
          level: 'error',
          source: 'outpost',
          message: `${err.message}\n${err.stack_ ?? ''}`,
        });
      throw err;
    }
  }

  /** Whether a tenant record still takes traffic (current) or is being pre-warmed (staged). */
  #live(t: Tenant): boolean {
    return (
      this.#tenants.get(t.version.tenant) === t ||
      this.#staged.has(t) ||
      this.#splits.get(t.version.tenant)?.t === t
    );
  }

  /** What an instance's bindings reach: service targets, the PoP's caches, KV, Durable Objects. */
  #wire(inst: WorkerInstance, version: WorkerVersion): void {
    inst.egress = this.egress;
    inst.tail = this.#tail;
    inst.metrics = this.metrics;
    inst.services = bindingsOf(version.bindings, 'service').length ? this.#serviceLinks(version) : null;
    inst.cache = {
      store: this.cacheStore,
      tenant: version.tenant,
      http: this.httpCache,
      purges: this.purges,
      tier: this.tier,
      site: this.site,
    };
    inst.objects = bindingsOf(version.bindings, 'do').length
      ? objectLinks(this, this.objects, this.popId, version)
      : null;
    inst.bindings = connectBindings(version, {
      version,
      kv: this.kv,
      services: () => inst.services ?? this.#serviceLinks(version),
      objects: () => inst.objects ?? objectLinks(this, this.objects, this.popId, version),
      d1: () => this.d1,
      r2: () => this.r2,
      assets: () => version.assets,
      analytics: () => this.analytics,
      rateLimiter: () => this.rateLimiter,
      queues: () => this.queues,
      workflows: () => this.workflows,
    });
  }

  /** The D1 databases of this runtime (a temporary folder's when none was given). */
  get d1(): D1Databases {
    this.#d1 ??= new D1Databases(null);
    return this.#d1;
  }

  /** The R2 buckets of this runtime (a temporary folder's when none was given). */
  get r2(): R2Buckets {
    this.#r2 ??= new R2Buckets(null);
    return this.#r2;
  }

  /** Analytics Engine's datasets (this runtime's own, in memory, when none was given). */
  get analytics(): AnalyticsEngine {
    this.#analytics ??= new AnalyticsEngine({
      file: null,
      onError: (err) => this.observer.log({ level: 'warn', source: 'outpost', message: err.message }),
    });
    return this.#analytics;
  }

  /** The counters of Rate Limiting bindings (this runtime's own when none was given). */
  get rateLimiter(): RateLimiter {
    this.#rateLimiter ??= new RateLimiter();
    return this.#rateLimiter;
  }

  /** The network's Durable Objects (this runtime's own, in memory, when none was given). */
  get objects(): DurableObjects {
    this.#objects ??= new DurableObjects({
      directory: new ObjectDirectory(null, { objectMaxBytes: this.quotas.durableObjectBytes }),
      observer: this.observer,
      runtimeFor: () => this,
    });
    return this.#objects;
  }

  // ---- ObjectHost: Durable Objects (src/durable-objects/) run their objects' code here ----

  objectClass(tenant: string, className: string, what: string): ObjectClass {
    return objectClassOf(this, tenant, className, what);
  }

  /** An isolate holding one Durable Object of `tenant`'s current version (made by DurableObjects). */
  async loadObject(
    tenant: string,
    load: ObjectLoad,
    storage: StagedStorage,
    hibernation: HibernationSet,
  ): Promise<WorkerInstance> {
    const t = this.#tenants.get(tenant);
    if (!t) throw new OutpostError('NO_SUCH_WORKER', `No worker is deployed as "${tenant}"`);
    const version = t.version;
    const iso = await this.pool.take(version.limits.memoryMb);
    let inst: WorkerInstance;
    try {
      inst = await WorkerInstance.load(version, iso, this.observer, this.#codeCache, load, (i) => {
        this.#wire(i, version);
        i.durable = storage;
        i.hibernation = hibernation;
        i.alone = true;
      });
    } catch (err) {
      if (err instanceof ScriptLoadError)
        throw new NamedError(
          `Durable Object ${load.className} failed to start: ${err.message.replace(/^Worker "[^"]*" failed to load: /, '')}`,
          'Error',
        );
      throw err;
    }
    inst.onDeath = () => this.#removed(inst);
    this.#added(inst);
    return inst;
  }

  /** Run an event on an object's isolate under the limits' watchdog. */
  runObject(o: ObjectInstance, event: ObjectEvent): Promise<unknown> {
    if (!(o instanceof WorkerInstance)) throw new TypeError('not an instance of this runtime');
    const inst = o;
    this.#used(inst);
    switch (event.kind) {
      case 'fetch':
        return inst.handle(event.request as WorkerRequest);
      case 'rpc':
        return inst.rpc('rpc', event.method, event.args, event.chain);
      case 'ws':
        return inst.rpc('ws', event.type, [event.socket, event.a, event.b]);
      case 'alarm':
        return inst.rpc('alarm', 'alarm', [{ retryCount: event.retry, isRetry: event.retry > 0 }]);
    }
  }

  socketFlow(): SocketFlow {
    return new Inflow();
  }

  /** Service bindings resolve their target by worker name when called, so it can be redeployed. */
  #serviceLinks(version: WorkerVersion): ServiceLinks {
    const target = (binding: string) => {
      const b = bindingsOf(version.bindings, 'service').find((s) => s.binding === binding);
      if (!b) throw new NamedError(`"${binding}" is not a service binding of this worker`, 'TypeError');
      sameAccountTarget(version, this.current(b.service), `Service binding "${binding}"`, b.service);
      return b;
    };
    return {
      fetch: (binding, request) => this.handle(target(binding).service, request),
      rpc: async (binding, method, args, chain) => {
        const b = target(binding);
        const inst = await this.#instance(b.service);
        this.#used(inst);
        return inst.rpc(b.entrypoint ?? null, method, args, chain);
      },
    };
  }

  /**
   * Code can run with no request in flight (a timer after the response, without waitUntil), out
   * of the watchdog's sight. Every SWEEP_MS, an isolate that burned more than its per-request
   * CPU limit while idle is stopped, and one isolated-vm disposed is noticed.
   */
  #sweep(): void {
    for (const inst of this.#lru.keys()) {
      // No response in flight (the watchdog covers those): waitUntil, WebSocket and timer work.
      if (inst.state !== 'dead' && inst.active.size === 0) inst.checkIdle();
    }
  }

  /**
   * `inst` serves an event now: last in the LRU order, and watched by the watchdog. Neither set
   * is touched when nothing would change: deleting and adding again a Map's or a Set's entry at
   * every request makes it copy its table every few requests, and V8 links each old table to
   * the next, which kept requests' objects from dying young (id-table.ts). So the isolate used
   * last stays where it is, and an isolate leaves #busy at the watchdog's next check.
   */
  #used(inst: WorkerInstance): void {
    if (this.#last !== inst) {
      this.#lru.delete(inst);
      this.#lru.set(inst, true);
      this.#last = inst;
    }
    this.#busy.add(inst);
  }

  #added(inst: WorkerInstance): void {
    this.#lru.set(inst, true);
    this.#last = inst;
  }

  #removed(inst: WorkerInstance): void {
    this.#lru.delete(inst);
    this.#busy.delete(inst);
    if (this.#last === inst) this.#last = null;
  }

  #busyCount(): number {
    let n = 0;
    for (const inst of this.#busy) if (inst.state !== 'dead' && inst.busy) n++;
    return n;
  }

  #check(): void {
    const now = performance.now();
    for (const inst of this.#busy) {
      // An isolate leaves the set here once idle, not when it goes idle (see #used).
      if (inst.state === 'dead' || !inst.busy) this.#busy.delete(inst);
      else inst.checkLimits(now);
    }
  }

  /**
   * Evict least-recently-used idle isolates while over the memory budget, the count cap or the
   * memory mappings the process may hold (capacity.ts).
   */
  #evict(): void {
    let total = 0;
    let maps = 0;
    for (const inst of this.#lru.keys()) {
      total += inst.heapBytes;
      maps += mappingsOf(inst.heapBytes);
    }
    let count = this.#lru.size;
    for (const inst of [...this.#lru.keys()]) {
      if (total <= this.#memoryBudget && count <= this.#maxIsolates && maps <= this.#mapBudget) break;
      if (inst.busy) continue;
      total -= inst.heapBytes;
      maps -= mappingsOf(inst.heapBytes);
      count--;
      this.#evictions++;
      inst.dispose();
    }
  }

  stats(): {
    tenants: number;
    isolates: number;
    busy: number;
    pooled: number;
    heapBytes: number;
    codeCacheHits: number;
    /** Bundles with a V8 code cache (src/runtime/code-cache.ts), and the bytes they hold. */
    codeCaches: number;
    codeCacheBytes: number;
    evictions: number;
    /** CPU time spent inside the live isolates since they were created, ms. */
    isolateCpuMs: number;
    /** Mean number of requests per host→isolate crossing (see calls.ts). */
    meanBatch: number;
    /** Mean number of tasks (object events, answers to host calls…) per crossing of the task ring. */
    meanRing: number;
    /** Mean number of outcomes (answers, RPC results…) per crossing back to the host. */
    meanOutcomes: number;
    /** Mean number of the isolates' own host calls (fetch, KV, timers…) per crossing. */
    meanPosted: number;
  } {
    let batches = 0;
    let batched = 0;
    let rings = 0;
    let ringed = 0;
    let backs = 0;
    let outcomes = 0;
    let posts = 0;
    let posted = 0;
    for (const inst of this.#lru.keys()) {
      batches += inst.iso.calls.batches;
      batched += inst.iso.calls.batched;
      rings += inst.iso.calls.ringBatches;
      ringed += inst.iso.calls.ringItems;
      backs += inst.iso.calls.outcomeBatches;
      outcomes += inst.iso.calls.outcomes;
      posts += inst.iso.calls.postBatches;
      posted += inst.iso.calls.posted;
    }
    let heap = 0;
    let cpu = 0n;
    for (const inst of this.#lru.keys()) {
      heap += inst.heapBytes;
      cpu += cpuTimeOf(inst.iso.isolate) ?? 0n;
    }
    return {
      tenants: this.#tenants.size,
      isolates: this.#lru.size,
      busy: this.#busyCount(),
      pooled: this.pool.readyCount,
      heapBytes: heap,
      codeCacheHits: this.#codeCache.hits,
      codeCaches: this.#codeCache.size,
      codeCacheBytes: this.#codeCache.bytes,
      evictions: this.#evictions,
      isolateCpuMs: Number(cpu) / 1e6,
      meanBatch: batches === 0 ? 0 : batched / batches,
      meanRing: rings === 0 ? 0 : ringed / rings,
      meanOutcomes: backs === 0 ? 0 : outcomes / backs,
      meanPosted: posts === 0 ? 0 : posted / posts,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    clearInterval(this.#sweeper);
    this.pool.close();
    if (this.#ownObjects) await this.#objects?.close();
    if (this.#ownAnalytics) this.#analytics?.close();
    for (const inst of [...this.#lru.keys()]) inst.dispose();
    this.#tenants.clear();
    await this.egress.close().catch(() => {});
  }
}

/** An asset answer as the PoP writes it, with its Server-Timing entry. */
function assetResponse(r: AssetResponse, hop: Hop): WorkerResponse {
  return {
    status: r.status,
    statusText: '',
    headers: r.headers.flat(),
    body: r.body === null || r.body instanceof Uint8Array ? r.body : fromAsyncIterable(r.body),
    hops: { hops: [hop], shield: [], objects: [] },
  };
}
