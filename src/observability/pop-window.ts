/**
 * Each PoP's traffic over the last seconds — requests a second, errors, cache hit ratio, p50 and
 * p99 — for the dashboard's network map (`GET /__outpost/network/stats`). The Prometheus
 * metrics hold the same counts since start, with duration buckets too coarse for a p50 of a
 * few milliseconds; this keeps a sliding window of one-second slots, each with a bounded
 * sample of durations (reservoir sampling), so its memory is fixed per PoP.
 *
 * It records only while someone reads it: a read keeps it recording for WATCH_MS, and a PoP
 * nobody watches pays one comparison per request.
 */
import type { RequestRecord } from './metrics.ts';

/** A read keeps the window recording this long (the map reads every two seconds). */
const WATCH_MS = 30_000;

/** Statuses of a response served from a cache (Cloudflare counts these as hits). */
const HITS = new Set(['HIT', 'STALE', 'UPDATING', 'REVALIDATED']);
/** Statuses of a request that did not look in a cache. */
const NO_LOOKUP = new Set(['none', 'DYNAMIC', 'BYPASS']);

export interface PopFigures {
  /** Requests over the window, and per second. */
  requests: number;
  rps: number;
  /** Requests answered 5xx. */
  errors: number;
  /** Of the requests that looked in a cache, the share served from it; null: none looked. */
  hitRatio: number | null;
  /** Durations, ms; null: no request. */
  p50: number | null;
  p99: number | null;
}

interface Slot {
  /** The second it counts (performance.now() / 1000, floored); -1: unused. */
  second: number;
  requests: number;
  errors: number;
  lookups: number;
  hits: number;
  /** Durations, ms: every one up to the cap, then a uniform sample of them. */
  samples: number[];
}

export class PopWindow {
  readonly #pops = new Map<string, Slot[]>();
  #watchedUntil = 0;

  constructor(
    /** The window, in whole seconds (the current, partial second is not counted). */
    readonly seconds = 10,
    /** Durations kept per PoP per second. */
    readonly samples = 256,
    /** PoPs kept at most (a network of 360 PoPs fits; past it new PoPs are not counted). */
    readonly maxPops = 1024,
  ) {}

  /** Whether requests are being recorded (someone read the window lately). */
  get recording(): boolean {
    if (this.#watchedUntil === 0) return false;
    if (performance.now() < this.#watchedUntil) return true;
    this.#watchedUntil = 0; // nobody read it for a while: back to one comparison a request
    return false;
  }

  record(r: RequestRecord): void {
    if (!this.recording) return;
    const second = Math.floor(performance.now() / 1000);
    let slots = this.#pops.get(r.pop);
    if (!slots) {
      if (this.#pops.size >= this.maxPops) return;
      slots = Array.from({ length: this.seconds + 1 }, () => ({
        second: -1,
        requests: 0,
        errors: 0,
        lookups: 0,
        hits: 0,
        samples: [],
      }));
      this.#pops.set(r.pop, slots);
    }
    const slot = slots[second % slots.length];
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = slot.errors = slot.lookups = slot.hits = 0;
      slot.samples.length = 0;
    }
    slot.requests++;
    if (r.status >= 500) slot.errors++;
    if (!NO_LOOKUP.has(r.cacheStatus)) {
      slot.lookups++;
      if (HITS.has(r.cacheStatus)) slot.hits++;
    }
    const ms = r.seconds * 1000;
    if (slot.samples.length < this.samples) slot.samples.push(ms);
    else {
      // Algorithm R: the n-th duration replaces a kept one with probability samples / n.
      const i = Math.floor(Math.random() * slot.requests);
      if (i < this.samples) slot.samples[i] = ms;
    }
  }

  /** Each PoP's figures over the last `seconds` whole seconds; keeps the window recording. */
  read(): Record<string, PopFigures> {
    const now = performance.now();
    this.#watchedUntil = now + WATCH_MS;
    const current = Math.floor(now / 1000);
    const out: Record<string, PopFigures> = {};
    for (const [pop, slots] of this.#pops) {
      let requests = 0;
      let errors = 0;
      let lookups = 0;
      let hits = 0;
      // Each slot's sample stands for its requests: weighted percentiles across seconds.
      const weighted: [number, number][] = [];
      for (const s of slots) {
        if (s.second < current - this.seconds || s.second >= current) continue;
        requests += s.requests;
        errors += s.errors;
        lookups += s.lookups;
        hits += s.hits;
        const w = s.requests / s.samples.length;
        for (const ms of s.samples) weighted.push([ms, w]);
      }
      weighted.sort((a, b) => a[0] - b[0]);
      out[pop] = {
        requests,
        rps: requests / this.seconds,
        errors,
        hitRatio: lookups === 0 ? null : hits / lookups,
        p50: percentile(weighted, requests, 0.5),
        p99: percentile(weighted, requests, 0.99),
      };
    }
    return out;
  }
}

/** The value below which `q` of the total weight lies (sorted samples with weights). */
function percentile(sorted: [number, number][], total: number, q: number): number | null {
  if (sorted.length === 0 || total === 0) return null;
  const want = q * total;
  let acc = 0;
  for (const [ms, w] of sorted) {
    acc += w;
    if (acc >= want) return ms;
  }
  return sorted[sorted.length - 1][0];
}
