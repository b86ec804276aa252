/**
 * The tiers above a PoP's cache in one process (`outpost dev --topology`, CDN proxy mode over a
 * network): a regional shield per region, then the upper tier at the origin, each an HTTP cache
 * of its own that coalesces what the tier below misses. Between node processes the shield is a
 * process of its own instead (shield.ts, shield-server.ts).
 */
import {
  type CacheLabel,
  type CachePolicy,
  HttpCache,
  MemoryStore,
  type Origin,
  type PurgeBus,
} from '../cache/index.ts';
import { type Hop, type HopRecorder, NO_METRICS, type PopMetrics, SpanKind } from '../observability/index.ts';
import type { RecordedOrigin } from '../runtime/index.ts';
import { rttMs } from './latency.ts';
import type { ClientLocation } from './location.ts';
import type { Pop, Topology } from './topology/types.ts';

export class CacheTiers {
  readonly #shields = new Map<string, HttpCache>();
  /** The upper tier, at the origin: the shields' misses for one URL coalesce here. */
  readonly upper: HttpCache;

  constructor(
    readonly topology: Topology,
    readonly purges: PurgeBus,
    readonly onError: (err: Error) => void,
    readonly simulateLatency: boolean,
    /** Each worker namespace's budget in a tier's cache (its fetch() entries); unset: shared. */
    readonly namespaceMaxBytes?: number,
    /** Where a PoP's lookups in the tiers above it are counted. */
    readonly metricsFor: (popId: string) => PopMetrics = () => NO_METRICS,
  ) {
    this.upper = this.cache();
  }

  /** A new in-memory HTTP cache that hears purges (`label`: which tier it is, for the dashboard). */
  cache(label: CacheLabel = { tier: 'upper', id: '' }): HttpCache {
    const c = new HttpCache({
      store: new MemoryStore({ namespaceMaxBytes: this.namespaceMaxBytes }),
      onError: this.onError,
    });
    this.purges.join(c, label);
    return c;
  }

  /** A regional shield's cache, made on first use. */
  shield(id: string): HttpCache {
    let c = this.#shields.get(id);
    if (!c) this.#shields.set(id, (c = this.cache({ tier: 'shield', id })));
    return c;
  }

  /** A hop's time is modelled, not waited, unless latency is simulated for real. */
  get #simulated(): boolean {
    return !this.simulateLatency;
  }

  #wait(ms: number): Promise<void> {
    return this.simulateLatency ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }

  /**
   * The origin a PoP's cache fills from: its shield, then the upper tier, then `base`. What the
   * fill went through is told to `hops`: the shield (`Outpost-Shield`, Server-Timing `shield`
   * and `origin`, the modelled trips) and, with tracing, a span per tier with the origin's
   * request inside.
   */
  fill(pop: Pop, base: RecordedOrigin, policy: CachePolicy | undefined, hops: HopRecorder | null): Origin {
    const shieldPlace = this.topology.shields.find((s) => s.id === pop.shield) ?? pop;
    const toShield = rttMs(pop, shieldPlace);
    const toOrigin = rttMs(shieldPlace, this.topology.origins[0]);
    const shield = this.shield(pop.shield);
    return async (r) => {
      const at = hops?.begin('outpost.cache', SpanKind.INTERNAL, {
        'outpost.cache.tier': 'shield',
        'outpost.shield': pop.shield,
      });
      await this.#wait(toShield);
      let originHop: Hop | undefined;
      try {
        const a = await shield.handle(
          r,
          async (r2) => {
            await this.#wait(toOrigin);
            const upper = at?.recorder.begin('outpost.cache', SpanKind.INTERNAL, {
              'outpost.cache.tier': 'upper',
            });
            let reached = false;
            let u: Awaited<ReturnType<HttpCache['handle']>>;
            try {
              u = await this.upper.handle(
                r2,
                (r3) => {
                  reached = true;
                  return base(r3, upper?.recorder ?? null, false);
                },
                policy,
              );
            } catch (err) {
              upper?.end(null, undefined, (err as Error).message);
              throw err;
            }
            this.metricsFor(pop.id).cache('upper', u.cacheStatus);
            upper?.end(null, { 'outpost.cache.status': u.cacheStatus });
            originHop = {
              name: 'origin',
              ms: toOrigin,
              desc: `${pop.shield} to origin${reached ? '' : ', upper tier hit'}`,
              simulated: this.#simulated,
            };
            return u;
          },
          policy,
        );
        this.metricsFor(pop.id).cache('shield', a.cacheStatus);
        hops?.shield(`${pop.shield} ${a.cacheStatus}`);
        at?.end(
          {
            name: 'shield',
            ms: toShield,
            desc: `${pop.id} to ${pop.shield} ${a.cacheStatus}`,
            simulated: this.#simulated,
          },
          { 'outpost.cache.status': a.cacheStatus },
        );
        if (originHop) hops?.hop(originHop, false);
        return a;
      } catch (err) {
        at?.end(null, undefined, (err as Error).message);
        throw err;
      }
    };
  }

  /** The client ↔ PoP hop. */
  edge(client: ClientLocation, pop: Pop): Hop {
    return { name: 'edge', ms: rttMs(client, pop), desc: `client to ${pop.id}`, simulated: this.#simulated };
  }
}
