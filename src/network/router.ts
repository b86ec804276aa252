/**
 * The stand-in for anycast and GeoDNS: the nearest healthy PoP for a client's location. "Nearest"
 * is by the latency model (the same as distance unless a model says otherwise); a PoP marked
 * unhealthy gets no traffic until it is marked healthy again (health checks do that).
 */
import { DEFAULT_LATENCY, type LatencyModel, oneWayMs } from './latency.ts';
import type { ClientLocation } from './location.ts';
import type { Pop, Topology } from './topology/types.ts';

export class Router {
  readonly #down = new Set<string>();
  constructor(
    readonly topology: Topology,
    readonly model: LatencyModel = DEFAULT_LATENCY,
  ) {}

  setHealthy(popId: string, healthy: boolean): void {
    if (!this.topology.pops.some((p) => p.id === popId))
      throw new RangeError(`no PoP "${popId}" in topology ${this.topology.name}`);
    if (healthy) this.#down.delete(popId);
    else this.#down.add(popId);
  }

  healthy(popId: string): boolean {
    return !this.#down.has(popId);
  }

  /** PoPs by one-way delay from the client, nearest first, healthy ones only. */
  ranked(client: ClientLocation): { pop: Pop; ms: number }[] {
    return this.topology.pops
      .filter((p) => !this.#down.has(p.id))
      .map((pop) => ({ pop, ms: oneWayMs(client, pop, this.model) }))
      .sort((a, b) => a.ms - b.ms);
  }

  /** The PoP that serves the client, or undefined when every PoP is down. */
  route(client: ClientLocation): Pop | undefined {
    return this.ranked(client)[0]?.pop;
  }
}
