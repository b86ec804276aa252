/**
 * CDN proxy mode across a network of PoPs (`outpost dev --origin URL --topology world` in a
 * folder without a worker project): each PoP has its own HTTP cache, filled from its regional
 * shield, filled through one upper tier at the origin. Every response says which PoP served it,
 * which shield filled it and what each hop cost — the seed's request lifecycle, by curl:
 *   Outpost-Pop: BOM
 *   Outpost-Shield: apac MISS
 *   Server-Timing: edge;dur=1.2;desc="client to BOM", shield;dur=68.4;…, origin;dur=…
 */
import type { IncomingMessage } from 'node:http';
import { type CachePolicy, HttpCache, MemoryStore, type Origin, type PurgeBus } from '../cache/index.ts';
import {
  type ClientLocation,
  LocationError,
  type Pop,
  parseLocation,
  Router,
  rttMs,
  type Topology,
} from '../network/index.ts';

export interface ProxyNetworkOptions {
  topology: Topology;
  from?: ClientLocation;
  simulateLatency?: boolean;
}

export interface ProxyRoute {
  pop: Pop;
  cache: HttpCache;
  /** The origin for this request's fill: through the shield and upper tier, recording the hops. */
  origin(base: Origin, policy: CachePolicy | undefined): Origin;
  /** Headers saying how the request went (after cache.handle). */
  headers(): string[];
  /** The client ↔ PoP round trip to wait (latency simulation), ms. */
  edgeDelayMs: number;
}

export class ProxyNetwork {
  readonly router: Router;
  readonly #pops = new Map<string, HttpCache>();
  readonly #shields = new Map<string, HttpCache>();
  readonly #upper: HttpCache;
  readonly #from: ClientLocation;

  constructor(
    readonly options: ProxyNetworkOptions,
    readonly purges: PurgeBus,
    readonly onError: (err: Error) => void,
  ) {
    this.router = new Router(options.topology);
    this.#from = options.from ?? { ...options.topology.pops[0], source: 'default' };
    this.#upper = this.#cache();
  }

  #cache(): HttpCache {
    const c = new HttpCache({ store: new MemoryStore(), onError: this.onError });
    this.purges.join(c);
    return c;
  }

  #of(map: Map<string, HttpCache>, id: string): HttpCache {
    let c = map.get(id);
    if (!c) map.set(id, (c = this.#cache()));
    return c;
  }

  /** The PoP for a request (Outpost-Pop, else the nearest healthy one to the client), or an error text. */
  route(req: IncomingMessage): ProxyRoute | { status: number; message: string } {
    const t = this.options.topology;
    let client = this.#from;
    try {
      const loc = req.headers['outpost-client-location'];
      const cc = req.headers['cf-ipcountry'];
      if (typeof loc === 'string') client = parseLocation(loc, t, 'Outpost-Client-Location');
      else if (typeof cc === 'string') client = parseLocation(cc, t, 'CF-IPCountry');
    } catch (err) {
      if (err instanceof LocationError) return { status: 400, message: err.message };
      throw err;
    }
    const direct = req.headers['outpost-pop'];
    const pop =
      typeof direct === 'string'
        ? t.pops.find((p) => p.id === direct.toUpperCase())
        : this.router.route(client);
    if (!pop)
      return {
        status: 404,
        message: `No PoP "${direct ?? ''}" in topology ${t.name} (or every PoP is down)`,
      };
    const simulate = !!this.options.simulateLatency;
    const shieldPlace = t.shields.find((s) => s.id === pop.shield) ?? pop;
    const edge = rttMs(client, pop);
    const toShield = rttMs(pop, shieldPlace);
    const toOrigin = rttMs(shieldPlace, t.origins[0]);
    const mark = simulate ? '' : ', simulated';
    const wait = (ms: number) => (simulate ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());
    const shield = this.#of(this.#shields, pop.shield);
    const upper = this.#upper;
    const hops: string[] = [];
    let shieldStatus: string | undefined;
    return {
      pop,
      cache: this.#of(this.#pops, pop.id),
      edgeDelayMs: simulate ? edge : 0,
      origin: (base, policy) => async (r) => {
        await wait(toShield);
        const a = await shield.handle(
          r,
          async (r2) => {
            await wait(toOrigin);
            hops.push(`origin;dur=${toOrigin.toFixed(1)};desc="${pop.shield} to origin${mark}"`);
            return upper.handle(r2, base, policy);
          },
          policy,
        );
        shieldStatus = a.cacheStatus;
        hops.unshift(
          `shield;dur=${toShield.toFixed(1)};desc="${pop.id} to ${pop.shield} ${a.cacheStatus}${mark}"`,
        );
        return a;
      },
      headers: () => [
        'outpost-pop',
        pop.id,
        ...(shieldStatus ? ['outpost-shield', `${pop.shield} ${shieldStatus}`] : []),
        'server-timing',
        [`edge;dur=${edge.toFixed(1)};desc="client to ${pop.id}${mark}"`, ...hops].join(', '),
      ],
    };
  }
}
