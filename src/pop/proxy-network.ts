/**
 * CDN proxy mode across a network of PoPs (`outpost dev --origin URL --topology world` in a
 * folder without a worker project): each PoP has its own HTTP cache, filled through the shared
 * tiers (tiers.ts). Every response says which PoP served it, which shield filled it and what
 * each hop cost — the seed's request lifecycle, by curl:
 *   Outpost-Pop: BOM
 *   Outpost-Shield: apac MISS
 *   Server-Timing: edge;dur=1.2;desc="client to BOM", shield;dur=68.4;…, origin;dur=…
 */
import type { IncomingMessage } from 'node:http';
import type { CachePolicy, HttpCache, Origin, PurgeBus } from '../cache/index.ts';
import {
  CacheTiers,
  type ClientLocation,
  type Pop,
  Router,
  routeRequest,
  type Topology,
} from '../network/index.ts';
import {
  type EdgeMetrics,
  type Hop,
  type HopRecorder,
  NO_METRICS,
  NO_TRACE,
  type RequestHops,
  recordHops,
  serverTiming,
  type TraceScope,
} from '../observability/index.ts';
import type { OutpostError, RecordedOrigin } from '../runtime/index.ts';

export interface ProxyNetworkOptions {
  topology: Topology;
  from?: ClientLocation;
  simulateLatency?: boolean;
}

export interface ProxyRoute {
  pop: Pop;
  cache: HttpCache;
  /** Where this request's hops are told: Server-Timing, `Outpost-Shield` and its trace. */
  recorder: HopRecorder;
  /**
   * The origin for this request's fill: through the shield and upper tier, recording the hops
   * into `hops` (the PoP cache lookup's place in the trace).
   */
  origin(base: RecordedOrigin, policy: CachePolicy | undefined, hops: HopRecorder): Origin;
  /** Headers saying how the request went (after cache.handle). */
  headers(): string[];
  /** The client ↔ PoP trip (its Server-Timing `edge` entry and its trace's route span). */
  edge: Hop;
  /** The client ↔ PoP round trip to wait (latency simulation), ms. */
  edgeDelayMs: number;
  /** The client's country, when its location is known (CF-IPCountry). */
  country?: string;
}

export class ProxyNetwork {
  readonly router: Router;
  readonly #pops = new Map<string, HttpCache>();
  readonly #tiers: CacheTiers;
  readonly #from: ClientLocation;

  constructor(
    readonly options: ProxyNetworkOptions,
    purges: PurgeBus,
    onError: (err: Error) => void,
    metrics?: EdgeMetrics,
  ) {
    this.router = new Router(options.topology);
    this.#from = options.from ?? { ...options.topology.pops[0], source: 'default' };
    this.#tiers = new CacheTiers(
      options.topology,
      purges,
      onError,
      !!options.simulateLatency,
      undefined,
      metrics ? (pop) => metrics.forPop(pop) : () => NO_METRICS,
    );
  }

  /**
   * The PoP for a request, with its cache and the way it fills, or why there is none; `trace`
   * is where its spans go (NO_TRACE: not traced).
   */
  route(req: IncomingMessage, trace: TraceScope = NO_TRACE): ProxyRoute | OutpostError {
    const routed = routeRequest(req, this.options.topology, this.router, this.#from);
    if (!('pop' in routed)) return routed;
    const { pop, client } = routed;
    let cache = this.#pops.get(pop.id);
    if (!cache) this.#pops.set(pop.id, (cache = this.#tiers.cache()));
    const edge = this.#tiers.edge(client, pop);
    const hops: RequestHops = { hops: [], shield: [], objects: [] };
    const recorder = recordHops(hops, trace);
    return {
      pop,
      cache,
      recorder,
      edge,
      edgeDelayMs: this.options.simulateLatency ? edge.ms : 0,
      ...(client.country ? { country: client.country } : {}),
      origin: (base, policy, at) => this.#tiers.fill(pop, base, policy, at),
      headers: () => [
        'outpost-pop',
        pop.id,
        ...(hops.shield.length ? ['outpost-shield', hops.shield.join(', ')] : []),
        'server-timing',
        serverTiming([edge, ...hops.hops]),
      ],
    };
  }
}
