/**
 * The hops a request's work took — the client ↔ PoP trip, the worker, each cache tier, the
 * shield and the origin, KV, Durable Objects, R2, static assets — recorded as data where each
 * happens, and rendered in one place: `Server-Timing` (https://www.w3.org/TR/server-timing/).
 * Every part reports a Hop; none formats the header itself.
 */

/** One hop of a request's work. */
export interface Hop {
  /** The Server-Timing metric: edge, worker, cache, shield, origin, kv, do, r2, assets. */
  name: string;
  /** Its duration, ms (a modelled trip included, see `simulated`). */
  ms: number;
  /** What it was: `HIT GET /a.js`, `BOM to eu-west MISS`, `GET STORE central store`. */
  desc: string;
  /** The time holds a modelled network trip that was reported, not waited (latency simulation off). */
  simulated?: boolean;
}

/** Where a host call tells the request it serves what it went through. */
export interface HopRecorder {
  hop(hop: Hop): void;
  /** How a shield asked answered (`eu-west MISS`), for `Outpost-Shield`. */
  shield(status: string): void;
  /** Where a Durable Object called lives (a PoP id), for `Outpost-Do-Location`. */
  object(pop: string): void;
}

/** What a request's recorder collected. */
export interface RequestHops {
  /** In the order they finished. */
  hops: Hop[];
  shield: string[];
  objects: string[];
}

/** A Server-Timing description: a quoted-string, its quotes and backslashes dropped. */
function quoted(desc: string): string {
  return `"${desc.replace(/["\\]/g, '')}"`;
}

/** One Server-Timing entry. */
export function timingEntry(h: Hop): string {
  return `${h.name};dur=${h.ms.toFixed(1)};desc=${quoted(h.simulated ? `${h.desc}, simulated` : h.desc)}`;
}

/** The Server-Timing header value of hops, in order. */
export function serverTiming(hops: readonly Hop[]): string {
  return hops.map(timingEntry).join(', ');
}
