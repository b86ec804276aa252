/**
 * Edge metrics in Prometheus' text exposition format (prom-client), served at
 * `/__outpost/metrics` (src/pop/admin.ts): what each PoP answered, how fast, how many bytes,
 * which requests a limit stopped, and the runtime's isolates. Names follow Prometheus'
 * conventions (base units, `_total` counters); request durations use the seed's buckets
 * (10 ms … 10 s), in seconds.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PopWindow } from './pop-window.ts';
import { FastCounter, FastHistogram } from './series.ts';

export const DURATION_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A series key is its label values joined by NUL. None holds one: PoP ids, worker names, WAF
 * rule ids and categories are validated where they are configured, the rest are Outpost's own.
 */
const SEP = '\0';
/** Label makers for series.ts: a key's values named, in the order they were joined. */
const named =
  <L extends string>(...names: L[]) =>
  (key: string): Record<L, string> => {
    const values = key.split(SEP);
    const out = {} as Record<L, string>;
    names.forEach((n, i) => {
      out[n] = values[i] ?? '';
    });
    return out;
  };
const POP_WORKER = named('pop', 'worker');
const REQUEST = named('pop', 'worker', 'status_class', 'cache_status');
const POLICY = named('pop', 'worker', 'policy', 'decision');
const WAF = named('pop', 'worker', 'rule', 'category');
const CACHE = named('pop', 'tier', 'status');
const KV = named('pop', 'op', 'answered_by');

/** One answered request, as the PoP front saw it. */
export interface RequestRecord {
  pop: string;
  /** The worker (tenant) that served it; "" when none was chosen (a routing error). */
  worker: string;
  status: number;
  /** `cf-cache-status` of the response, or "none". */
  cacheStatus: string;
  seconds: number;
  /** Response body bytes written. */
  bytes: number;
}

/**
 * What the parts of one PoP report as it happens (the cache tiers, KV, the runtime, fetch()):
 * EdgeMetrics.forPop() gives one; NO_METRICS when nobody counts.
 */
export interface PopMetrics {
  /** A lookup in a cache tier (`pop`, `shield`, `upper`, `api` for the Cache API) and how it answered. */
  cache(tier: string, status: string): void;
  /** A KV operation (`get`, `put`, …) and where it was answered (`pop` cache or `central` store). */
  kv(op: string, answeredBy: 'pop' | 'central' | 'isolate'): void;
  /** A worker's isolate made and its code loaded for a request: how long it took. */
  coldStart(worker: string, seconds: number): void;
  /** An invocation of `worker` ended, having used `cpuMs` of CPU (so far: waitUntil may add more). */
  invocation(worker: string, cpuMs: number): void;
  /** An origin request that failed (`network`) or answered 5xx (`5xx`). */
  originError(kind: 'network' | '5xx'): void;
}

export const NO_METRICS: PopMetrics = {
  cache() {},
  kv() {},
  coldStart() {},
  originError() {},
  invocation() {},
};

/** The figures of a worker that has served nothing yet. */
export function noWorkerFigures(worker: string): WorkerFigures {
  return {
    worker,
    requests: 0,
    byClass: {},
    limitKills: {},
    invocations: 0,
    cpuMsPerInvocation: null,
    coldStarts: 0,
    pops: [],
  };
}

/** A worker's figures since start, summed over the PoPs (the dashboard's Workers view). */
export interface WorkerFigures {
  worker: string;
  requests: number;
  /** Requests by status class: 2xx, 3xx, 4xx, 5xx. */
  byClass: Record<string, number>;
  /** Requests answered 503 for a limit, by limit (cpu, memory, wall, subrequests…). */
  limitKills: Record<string, number>;
  invocations: number;
  /** CPU per invocation, ms (at its end; waitUntil work after it is not in it). */
  cpuMsPerInvocation: number | null;
  coldStarts: number;
  /** The PoPs it served at. */
  pops: string[];
}

/** What a runtime tells the isolate gauges, per PoP. */
export interface IsolateStats {
  pop: string;
  isolates: number;
  busy: number;
  pooled: number;
  evictions: number;
}

export class EdgeMetrics {
  readonly registry = new Registry();
  // What every request touches is counted in series.ts's metrics (found by one key); the rest
  // in prom-client's own.
  readonly #requests: FastCounter<'pop' | 'worker' | 'status_class' | 'cache_status'>;
  readonly #duration: FastHistogram<'pop' | 'worker'>;
  readonly #bytes: FastCounter<'pop' | 'worker'>;
  /** A request's three series by `pop\0worker\0status class\0cache status`. */
  readonly #rows = new Map<
    string,
    {
      requests: { value: number };
      duration: ReturnType<FastHistogram<'pop'>['seriesAt']>;
      bytes: { value: number };
    }
  >();
  readonly #limits: Counter<'pop' | 'worker' | 'limit'>;
  readonly #policies: FastCounter<'pop' | 'worker' | 'policy' | 'decision'>;
  readonly #waf: FastCounter<'pop' | 'worker' | 'rule' | 'category'>;
  readonly #spans: Counter<'outcome'>;
  readonly #cache: FastCounter<'pop' | 'tier' | 'status'>;
  readonly #kv: FastCounter<'pop' | 'op' | 'answered_by'>;
  readonly #cold: Histogram<'pop' | 'worker'>;
  readonly #origin: Counter<'pop' | 'kind'>;
  readonly #cpu: FastCounter<'pop' | 'worker'>;
  readonly #invocations: FastCounter<'pop' | 'worker'>;

  /** Each PoP's traffic over the last seconds, recorded while the dashboard's map reads it. */
  readonly window = new PopWindow();

  constructor(
    /** Each PoP's isolates now. */
    readonly isolates: () => IsolateStats[] = () => [],
    /** Live Durable Objects (in memory), and NATS connections by role (1 connected, 0 not). */
    more: { liveObjects?: () => number; nats?: () => { role: string; connected: boolean }[] } = {},
  ) {
    const registers = [this.registry];
    const registry = this.registry;
    this.#requests = new FastCounter(
      'outpost_requests_total',
      'Requests answered, by PoP, worker, status class and cache status',
      registry,
    );
    this.#duration = new FastHistogram(
      'outpost_request_duration_seconds',
      'Time from a request reaching the PoP to its response finishing',
      registry,
      DURATION_BUCKETS_SECONDS,
    );
    this.#bytes = new FastCounter('outpost_response_bytes_total', 'Response body bytes written', registry);
    this.#limits = new Counter({
      name: 'outpost_limit_exceeded_total',
      help: 'Requests answered 503 because the worker exceeded a limit (cpu, memory, wall, subrequests…)',
      labelNames: ['pop', 'worker', 'limit'],
      registers,
    });
    this.#policies = new FastCounter(
      'outpost_policy_decisions_total',
      'Decisions of the platform policies run before the worker (waf, rate_limit, jwt): allow, block, log, or a JWT failure reason',
      registry,
    );
    this.#waf = new FastCounter(
      'outpost_waf_matches_total',
      "WAF rule matches, by rule id and category (whatever the request's outcome)",
      registry,
    );
    this.#spans = new Counter({
      name: 'outpost_trace_spans_total',
      help: 'Spans of kept traces, by outcome: exported to the collector, or dropped (queue full, export failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.#cache = new FastCounter(
      'outpost_cache_lookups_total',
      'Cache lookups by tier (pop, shield, upper, api) and how they answered (HIT, MISS, EXPIRED, STALE, REVALIDATED, BYPASS…)',
      registry,
    );
    this.#kv = new FastCounter(
      'outpost_kv_operations_total',
      "KV operations by kind and where they were answered (the PoP's cache or the central store)",
      registry,
    );
    this.#cold = new Histogram({
      name: 'outpost_cold_start_duration_seconds',
      help: 'Cold starts: an isolate taken from the pool and the worker loaded into it, for a request',
      labelNames: ['pop', 'worker'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#origin = new Counter({
      name: 'outpost_origin_errors_total',
      help: 'Origin requests that failed (network) or answered 5xx',
      labelNames: ['pop', 'kind'],
      registers,
    });
    this.#invocations = new FastCounter(
      'outpost_worker_invocations_total',
      'Worker invocations ended (requests, events, Durable Object calls), by PoP and worker',
      registry,
    );
    this.#cpu = new FastCounter(
      'outpost_worker_cpu_seconds_total',
      "CPU time of workers' invocations, counted at each invocation's end",
      registry,
    );
    if (more.liveObjects) {
      const live = more.liveObjects;
      new Gauge({
        name: 'outpost_durable_objects_live',
        help: 'Durable Objects in memory now',
        registers,
        collect() {
          this.set(live());
        },
      });
    }
    if (more.nats) {
      const nats = more.nats;
      new Gauge({
        name: 'outpost_nats_connected',
        help: 'NATS connections by what uses them (kv, analytics): 1 connected, 0 not',
        labelNames: ['role'],
        registers,
        collect() {
          this.reset();
          for (const c of nats()) this.set({ role: c.role }, c.connected ? 1 : 0);
        },
      });
    }
    const gauge = (name: string, help: string, pick: (s: IsolateStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pop'],
        registers,
        collect() {
          this.reset();
          for (const s of isolates()) this.set({ pop: s.pop }, pick(s));
        },
      });
    gauge('outpost_isolates', 'Live worker isolates', (s) => s.isolates);
    gauge('outpost_isolates_busy', 'Isolates serving a request now', (s) => s.busy);
    gauge('outpost_isolates_pooled', 'Warm pool isolates ready for a new worker', (s) => s.pooled);
    gauge(
      'outpost_isolate_evictions',
      'Idle isolates evicted since start (memory budget or count cap)',
      (s) => s.evictions,
    );
  }

  /** Also told of every request and limit breach (a node's per-version health, src/control/health.ts). */
  onRequest: ((r: RequestRecord) => void) | null = null;
  onLimit: ((worker: string, limit: string) => void) | null = null;

  request(r: RequestRecord): void {
    this.onRequest?.(r);
    this.window.record(r);
    const key = `${r.pop}${SEP}${r.worker}${SEP}${Math.floor(r.status / 100)}xx${SEP}${r.cacheStatus}`;
    let row = this.#rows.get(key);
    if (!row) {
      const at = `${r.pop}${SEP}${r.worker}`;
      row = {
        requests: this.#requests.seriesAt(key, REQUEST),
        duration: this.#duration.seriesAt(at, POP_WORKER),
        bytes: this.#bytes.seriesAt(at, POP_WORKER),
      };
      this.#rows.set(key, row);
    }
    row.requests.value++;
    this.#duration.observeIn(row.duration, r.seconds);
    if (r.bytes > 0) row.bytes.value += r.bytes;
  }

  limitExceeded(pop: string, worker: string, limit: string): void {
    this.onLimit?.(worker, limit);
    this.#limits.inc({ pop, worker, limit });
  }

  /** A WAF rule matched a request. */
  wafMatch(pop: string, worker: string, rule: string, category: string): void {
    this.#waf.inc(`${pop}${SEP}${worker}${SEP}${rule}${SEP}${category}`, WAF);
  }

  /** A platform policy decided (`policy`: waf, rate_limit, jwt; `decision`: allow, block, log, a JWT reason). */
  policy(pop: string, worker: string, policy: string, decision: string): void {
    this.#policies.inc(`${pop}${SEP}${worker}${SEP}${policy}${SEP}${decision}`, POLICY);
  }

  /** What one PoP's parts report to (its pop label bound). */
  forPop(pop: string): PopMetrics {
    return {
      cache: (tier, status) => this.#cache.inc(`${pop}${SEP}${tier}${SEP}${status}`, CACHE),
      kv: (op, answeredBy) => this.#kv.inc(`${pop}${SEP}${op}${SEP}${answeredBy}`, KV),
      coldStart: (worker, seconds) => this.#cold.observe({ pop, worker }, seconds),
      originError: (kind) => this.#origin.inc({ pop, kind }),
      invocation: (worker, cpuMs) => {
        const key = `${pop}${SEP}${worker}`;
        this.#invocations.inc(key, POP_WORKER);
        this.#cpu.inc(key, POP_WORKER, cpuMs / 1000);
      },
    };
  }

  traceSpans(outcome: 'exported' | 'dropped', n: number): void {
    this.#spans.inc({ outcome }, n);
  }

  /** Each worker's figures since start, summed over the PoPs (from the counters above). */
  async workers(): Promise<WorkerFigures[]> {
    const out = new Map<string, WorkerFigures & { cpuSeconds: number }>();
    const at = (worker: string) => {
      let w = out.get(worker);
      if (!w) out.set(worker, (w = { ...noWorkerFigures(worker), cpuSeconds: 0 }));
      return w;
    };
    const popOf = (w: WorkerFigures, pop: unknown) => {
      if (typeof pop === 'string' && pop && !w.pops.includes(pop)) w.pops.push(pop);
    };
    for (const v of (await this.#requests.get()).values) {
      const w = at(String(v.labels.worker));
      if (!w.worker) continue;
      w.requests += v.value;
      const c = String(v.labels.status_class);
      w.byClass[c] = (w.byClass[c] ?? 0) + v.value;
      popOf(w, v.labels.pop);
    }
    for (const v of (await this.#limits.get()).values) {
      const w = at(String(v.labels.worker));
      const l = String(v.labels.limit);
      w.limitKills[l] = (w.limitKills[l] ?? 0) + v.value;
    }
    for (const v of (await this.#invocations.get()).values)
      at(String(v.labels.worker)).invocations += v.value;
    for (const v of (await this.#cpu.get()).values) at(String(v.labels.worker)).cpuSeconds += v.value;
    for (const v of (await this.#cold.get()).values)
      if (v.metricName === 'outpost_cold_start_duration_seconds_count')
        at(String(v.labels.worker)).coldStarts += v.value;
    return [...out.values()]
      .filter((w) => w.worker !== '')
      .map(({ cpuSeconds, ...w }) => ({
        ...w,
        cpuMsPerInvocation: w.invocations ? (cpuSeconds * 1000) / w.invocations : null,
      }))
      .sort((a, b) => (a.worker < b.worker ? -1 : 1));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
