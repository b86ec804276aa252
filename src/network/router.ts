/**
 * The stand-in for anycast and GeoDNS: the nearest healthy PoP for a client's location. "Nearest"
 * is by the latency model (the same as distance unless a model says otherwise); a PoP marked
 * unhealthy gets no traffic until it is marked healthy again (health checks do that).
 */
import { DEFAULT_LATENCY, type LatencyModel, oneWayMs } from './latency.ts';
import type { ClientLocation } from './location.ts';
import type { Pop, Topology } from './topology/types.ts';

/** Routing answers remembered per client location (a front sees the same places again and again). */
const MEMO_MAX = 4096;

export class Router {
  readonly #down = new Set<string>();
  /** "lat,long" → the PoP that serves it; cleared whenever a PoP's health changes. */
  readonly #memo = new Map<string, Pop | undefined>();
  constructor(
    readonly topology: Topology,
    readonly model: LatencyModel = DEFAULT_LATENCY,
  ) {}

  setHealthy(popId: string, healthy: boolean): void {
    if (!this.topology.pops.some((p) => p.id === popId))
      throw new RangeError(`no PoP "${popId}" in topology ${this.topology.name}`);
    if (healthy === !this.#down.has(popId)) return;
    if (healthy) this.#down.delete(popId);
    else this.#down.add(popId);
    this.#memo.clear();
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
    const key = `${client.latitude},${client.longitude}`;
    if (this.#memo.has(key)) return this.#memo.get(key);
    let best: Pop | undefined;
    let bestMs = Number.POSITIVE_INFINITY;
    for (const pop of this.topology.pops) {
      if (this.#down.has(pop.id)) continue;
      const ms = oneWayMs(client, pop, this.model);
      if (ms < bestMs) {
        best = pop;
        bestMs = ms;
      }
    }
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(key, best);
    return best;
  }
}
