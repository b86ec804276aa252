/**
 * A network of PoPs in one process (`outpost dev --topology world`): each PoP has its own
 * runtime (its own isolates, HTTP cache, Cache API store and KV view with its own cacheTtl
 * cache), created when it first gets traffic; all share the KV store (so writes propagate
 * between them with the configured delay) and one purge bus. A PoP's cache misses fill from its
 * regional shield, whose misses fill through an upper tier at the origin, so a URL that expires
 * everywhere at once is fetched from the origin once (tiered cache, coalescing at each tier).
 * One HTTP front serves them all:
 * a request goes to the PoP named by `Outpost-Pop` (every PoP is reachable directly), else to
 * the nearest healthy PoP for the client's location (`Outpost-Client-Location`, `CF-IPCountry`,
 * else `--from`). Responses say who served them (`Outpost-Pop`) and the modelled edge hop
 * (`Server-Timing: edge`); with latency simulation on, that round trip is really waited.
 */
import type { IncomingMessage } from 'node:http';
import { PurgeBus } from '../cache/index.ts';
import { resolveQuotas, type WorkerConfig } from '../config/index.ts';
import type { DurableObjects, ObjectPlacement } from '../durable-objects/index.ts';
import { KvPop, type KvStore } from '../kv/index.ts';
import {
  CacheTiers,
  type ClientLocation,
  DEFAULT_LATENCY,
  HINT_PLACES,
  type Pop,
  popById,
  Router,
  requestCf,
  routeRequest,
  rttMs,
  type Topology,
} from '../network/index.ts';
import { type EdgeMetrics, NO_METRICS, type Observer } from '../observability/index.ts';
import {
  type Bundle,
  type Limits,
  OutpostError,
  Runtime,
  type RuntimeOptions,
  type Tier,
} from '../runtime/index.ts';
import type { DeployedWorker } from './admin.ts';
import type { PopSelection } from './server.ts';

export interface NetworkOptions {
  topology: Topology;
  kvStore: KvStore;
  observer: Observer;
  runtime?: RuntimeOptions;
  /** Where clients are when a request does not say (default: the first PoP's city). */
  from?: ClientLocation;
  /** Wait the modelled client ↔ PoP round trip before answering. */
  simulateLatency?: boolean;
  kvCacheTtl?: number;
  /** How often PoPs are health-checked, ms (default 1000). */
  healthIntervalMs?: number;
  /** Fill PoP misses through the shields (default true; false: each PoP goes to the origin, as before tiering). */
  tieredCache?: boolean;
  /** The network's Durable Objects (placed by this network: see placement). */
  objects?: DurableObjects;
  /** Where each PoP's cache lookups, KV operations, cold starts and origin errors are counted. */
  metrics?: EdgeMetrics;
}

interface Deploy {
  bundle: Bundle;
  config: WorkerConfig;
  limits: Partial<Limits> | undefined;
}

export interface PopNode {
  pop: Pop;
  runtime: Runtime;
  kv: KvPop;
}

export class DevNetwork {
  readonly router: Router;
  readonly purges = new PurgeBus();
  readonly #nodes = new Map<string, PopNode>();
  readonly #deploys = new Map<string, Deploy>();
  readonly #options: NetworkOptions;
  readonly from: ClientLocation;
  /** Shields and the upper tier above every PoP's cache (tiered cache). */
  readonly tiers: CacheTiers;
  /** PoPs taken out (an outage simulated from the admin endpoint): they answer nothing. */
  readonly #out = new Set<string>();
  readonly #health: NodeJS.Timeout;
  readonly healthIntervalMs: number;

  constructor(options: NetworkOptions) {
    this.#options = options;
    this.router = new Router(options.topology);
    const first = options.topology.pops[0];
    this.from = options.from ?? { ...first, source: 'default' };
    this.tiers = new CacheTiers(
      options.topology,
      this.purges,
      (err) => options.observer.log({ level: 'warn', source: 'outpost', message: `cache: ${err.message}` }),
      !!options.simulateLatency,
      // A shield's cache holds workers' fetch() entries too: each tenant within its own budget.
      resolveQuotas(options.runtime?.quotas, 'quotas').fetchCacheTenantBytes,
      (id) => options.metrics?.forPop(id) ?? NO_METRICS,
    );
    this.healthIntervalMs = options.healthIntervalMs ?? 1000;
    // Health checks: each interval, every PoP is probed; the router follows what they find, so
    // a PoP that goes down stops getting traffic within one interval and gets it back after.
    this.#health = setInterval(() => this.checkHealth(), this.healthIntervalMs);
    this.#health.unref();
  }

  /** One round of health checks. */
  checkHealth(): void {
    for (const p of this.topology.pops) this.router.setHealthy(p.id, this.#probe(p.id));
  }

  /** A PoP answers its health check unless it is out (its runtime closed counts as out too). */
  #probe(popId: string): boolean {
    return !this.#out.has(popId);
  }

  /** Simulate an outage of a PoP (true) or its recovery (false); health checks notice. */
  setOut(popId: string, out: boolean): void {
    if (!this.topology.pops.some((p) => p.id === popId))
      throw new OutpostError('NO_SUCH_POP', `No PoP "${popId}" in topology ${this.topology.name}`);
    if (out) this.#out.add(popId);
    else this.#out.delete(popId);
  }

  isOut(popId: string): boolean {
    return this.#out.has(popId);
  }

  /** The admin view: every PoP with its shield, health and whether it has served yet. */
  status(): unknown {
    return {
      topology: this.topology.name,
      healthIntervalMs: this.healthIntervalMs,
      pops: this.topology.pops.map((p) => ({
        id: p.id,
        city: p.city,
        country: p.country,
        latitude: p.latitude,
        longitude: p.longitude,
        shield: p.shield,
        healthy: this.router.healthy(p.id),
        out: this.#out.has(p.id),
        active: this.#nodes.has(p.id),
      })),
      shields: this.topology.shields.map((p) => ({
        id: p.id,
        city: p.city,
        country: p.country,
        latitude: p.latitude,
        longitude: p.longitude,
      })),
    };
  }

  /**
   * PoP miss → regional shield → upper tier → origin. The hops are told to the request being
   * served (its Server-Timing, Outpost-Shield and trace), not stored with the response: a later
   * hit at this PoP did not take them.
   */
  #tier(pop: Pop): Tier {
    return (origin, policy, recorder) => this.tiers.fill(pop, origin, policy, recorder);
  }

  get topology(): Topology {
    return this.#options.topology;
  }

  /** The PoPs that have served traffic so far. */
  get nodes(): PopNode[] {
    return [...this.#nodes.values()];
  }

  /** A PoP's node, made (and given every deployed worker) on first use. */
  node(popId: string): PopNode {
    let n = this.#nodes.get(popId);
    if (n) return n;
    const pop = popById(this.topology, popId);
    if (!pop) throw new OutpostError('NO_SUCH_POP', `No PoP "${popId}" in topology ${this.topology.name}`);
    // KV's central store sits with the origin; a read that misses the PoP's cache pays the trip.
    const central = this.topology.origins[0];
    const trip = rttMs(pop, central, DEFAULT_LATENCY);
    const kv = new KvPop(pop.id, this.#options.kvStore, {
      cacheTtl: this.#options.kvCacheTtl,
      central: { ms: trip, wait: !!this.#options.simulateLatency },
    });
    const runtime = new Runtime({
      observer: this.#options.observer,
      // Every PoP keeps a pool of its own: small ones, in one process.
      poolSize: 1,
      poolMax: 8,
      ...this.#options.runtime,
      kv,
      purges: this.purges,
      popId: pop.id,
      ...(this.#options.metrics ? { metrics: this.#options.metrics.forPop(pop.id) } : {}),
      ...(this.#options.objects ? { objects: this.#options.objects } : {}),
      ...(this.#options.tieredCache === false ? {} : { tier: this.#tier(pop) }),
    });
    this.purges.join(runtime.httpCache, { tier: 'pop', id: pop.id });
    this.purges.join(runtime.cacheStore, { tier: 'api', id: pop.id });
    for (const [tenant, d] of this.#deploys) runtime.deploy(tenant, d.bundle, d.config, d.limits);
    n = { pop, runtime, kv };
    this.#nodes.set(popId, n);
    return n;
  }

  /**
   * Where Durable Objects go: a new object lives in the PoP its first call came through, or the
   * nearest healthy PoP to its locationHint's region; reaching it from another PoP costs the
   * round trip between the two (waited with latency simulation).
   */
  readonly placement: ObjectPlacement = this.#placement();

  #placement(): ObjectPlacement {
    return {
      place: (from, hint) => {
        const at = hint ? HINT_PLACES[hint] : undefined;
        return (at && this.router.route({ ...at, source: 'locationHint' })?.id) || from;
      },
      trip: (from, to) => {
        const a = popById(this.topology, from);
        const b = popById(this.topology, to);
        return { ms: a && b ? rttMs(a, b) : 0, wait: !!this.#options.simulateLatency };
      },
    };
  }

  /** The workers deployed to the network (the dashboard's Workers view). */
  deployed(): DeployedWorker[] {
    return [...this.#deploys].map(([tenant, d]) => ({
      name: tenant,
      version: `${tenant}@${d.bundle.hash.slice(0, 12)}`,
      compatibilityDate: d.config.compatibilityDate ?? null,
    }));
  }

  /** Deploy a worker to every PoP (those made later get it too). */
  deploy(tenant: string, bundle: Bundle, config: WorkerConfig, limits?: Partial<Limits>): void {
    this.#deploys.set(tenant, { bundle, config, limits });
    for (const n of this.#nodes.values()) n.runtime.deploy(tenant, bundle, config, limits);
  }

  select(req: IncomingMessage): PopSelection | OutpostError {
    const routed = routeRequest(req, this.topology, this.router, this.from);
    if (!('pop' in routed)) return routed;
    const { pop, client } = routed;
    // Routed to a PoP whose outage the health checks have not noticed yet: it does not answer.
    if (this.#out.has(pop.id))
      return new OutpostError('POP_DOWN', `PoP ${pop.id} is down (outage simulated)`);
    const edge = this.tiers.edge(client, pop);
    return {
      runtime: this.node(pop.id).runtime,
      cf: cfFor(
        pop,
        client,
        edge.ms,
        req.httpVersion,
        (req.socket as { getProtocol?: () => string | null }).getProtocol?.() ?? '',
      ),
      headers: ['outpost-pop', pop.id],
      edge,
      delayMs: this.#options.simulateLatency ? edge.ms : 0,
      popId: pop.id,
      ...(client.country ? { country: client.country } : {}),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#health);
    for (const n of this.#nodes.values()) await n.runtime.close();
  }
}

/** request.cf for a client served by a PoP (src/network/cf.ts). */
export function cfFor(
  pop: Pop,
  client: ClientLocation,
  rtt: number,
  httpVersion: string,
  tlsVersion = '',
): Record<string, unknown> {
  return requestCf({ pop, client, rttMs: rtt, httpVersion, tlsVersion });
}
