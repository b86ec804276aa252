/**
 * A node's health per worker version, for deploy gates (waves.ts): requests, 5xx answers and
 * CPU-limit kills since the version began serving here, and the p99 of its last 512 requests.
 * Reported in the node's heartbeat (src/network/membership.ts) under `<worker>@<version>`.
 * Requests are attributed to the version serving the worker when they end; with a traffic
 * split (two versions at once) they count for the primary version.
 */

export interface VersionHealth {
  requests: number;
  errors: number;
  cpuKills: number;
  /** p99 of the last requests' durations, ms (0 before any). */
  p99Ms: number;
}

const WINDOW = 512;

interface Book {
  requests: number;
  errors: number;
  cpuKills: number;
  recent: Float64Array;
  next: number;
}

export class HealthBook {
  readonly #by = new Map<string, Book>();
  /** The version serving a worker now, or null. */
  constructor(readonly versionOf: (worker: string) => string | null) {}

  #book(worker: string): Book | null {
    const v = this.versionOf(worker);
    if (!v) return null;
    const key = `${worker}@${v}`;
    let b = this.#by.get(key);
    if (!b)
      this.#by.set(
        key,
        (b = { requests: 0, errors: 0, cpuKills: 0, recent: new Float64Array(WINDOW), next: 0 }),
      );
    return b;
  }

  request(worker: string, status: number, seconds: number): void {
    const b = worker ? this.#book(worker) : null;
    if (!b) return;
    b.requests++;
    if (status >= 500) b.errors++;
    b.recent[b.next++ % WINDOW] = seconds * 1000;
  }

  limit(worker: string, limit: string): void {
    if (limit !== 'cpu') return;
    const b = this.#book(worker);
    if (b) b.cpuKills++;
  }

  snapshot(): Record<string, VersionHealth> {
    const out: Record<string, VersionHealth> = {};
    for (const [key, b] of this.#by) {
      const n = Math.min(b.next, WINDOW);
      const sorted = Array.from(b.recent.subarray(0, n)).sort((x, y) => x - y);
      const p99Ms = n ? sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)] : 0;
      out[key] = {
        requests: b.requests,
        errors: b.errors,
        cpuKills: b.cpuKills,
        p99Ms: Math.round(p99Ms * 10) / 10,
      };
    }
    return out;
  }
}
