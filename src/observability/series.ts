/**
 * Counters and histograms for what is counted on every request (requests, durations, bytes,
 * cache lookups, KV operations, policy decisions). prom-client validates and hashes the labels
 * of every `inc()`/`observe()`: ~4 µs of a CDN cache hit's ~21 µs, measured per core. Here a
 * series is found by one string key the caller joins from its label values (one Map lookup), its
 * labels made from the key once, when the series is new (`labels` is a function made once, not
 * a closure per call). The metrics are registered in a prom-client Registry
 * as any metric is (`name`, `help`, `type`, `get()`, `reset()`), so the exposition text, its
 * escaping and its content type stay prom-client's.
 */
import type { Registry } from 'prom-client';

type Labels<L extends string> = Record<L, string>;

/** One metric family as a prom-client registry reads it (MetricObjectWithValues). */
interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: {
    labels: Record<string, string | number>;
    /** Labels the registry formats once per object (it caches by identity), after `labels`. */
    sharedLabels?: Record<string, string>;
    value: number;
    metricName?: string;
  }[];
}

abstract class Family<L extends string, S> {
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, { labels: Labels<L>; s: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    // The registry takes anything with a name and get(): this is such a metric.
    registry.registerMetric(this as never);
  }
  /** The series `key` names (a join of its label values), made with `labels(key)` the first time. */
  protected at(key: string, labels: (key: string) => Labels<L>): S {
    let e = this.series.get(key);
    if (!e) this.series.set(key, (e = { labels: labels(key), s: this.fresh() }));
    return e.s;
  }
  protected abstract fresh(): S;
  /** Zeroes every series in place (what callers hold from seriesAt keeps counting). */
  abstract reset(): void;
  abstract get(): Promise<Exported>;
}

/** A counter; its name ends in `_total`, as prom-client's output does for a Counter named so. */
export class FastCounter<L extends string> extends Family<L, { value: number }> {
  readonly type = 'counter' as const;
  protected fresh() {
    return { value: 0 };
  }
  reset(): void {
    for (const { s } of this.series.values()) s.value = 0;
  }
  /** Adds `by` (≥ 0) to the series `key`. */
  inc(key: string, labels: (key: string) => Labels<L>, by = 1): void {
    this.at(key, labels).value += by;
  }
  /** The series `key`, to add to directly (a caller counting the same series again and again). */
  seriesAt(key: string, labels: (key: string) => Labels<L>): { value: number } {
    return this.at(key, labels);
  }
  async get(): Promise<Exported> {
    const values: Exported['values'] = [];
    for (const { labels, s } of this.series.values()) values.push({ labels, value: s.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram with fixed upper bounds (ascending). */
export class FastHistogram<L extends string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram' as const;
  constructor(
    name: string,
    help: string,
    registry: Registry,
    readonly bounds: readonly number[],
  ) {
    super(name, help, registry);
    this.#le = [...bounds.map((le) => ({ le })), { le: '+Inf' }];
  }
  /** The `le` label of each bucket, one object per bound shared by every series. */
  readonly #le: { le: number | string }[];
  protected fresh(): HistogramSeries {
    return { counts: new Array(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }
  reset(): void {
    for (const { s } of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
  seriesAt(key: string, labels: (key: string) => Labels<L>): HistogramSeries {
    return this.at(key, labels);
  }
  /** Records `value` in a series (from seriesAt). */
  observeIn(s: HistogramSeries, value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  observe(key: string, labels: (key: string) => Labels<L>, value: number): void {
    this.observeIn(this.at(key, labels), value);
  }
  /** As prom-client's own: every value's labels whole (getMetricsAsJSON, aggregation). */
  async get(): Promise<Exported> {
    const out = await this.getForPromString();
    out.values = out.values.map((v) =>
      v.sharedLabels
        ? { labels: { ...v.sharedLabels, ...v.labels }, value: v.value, metricName: v.metricName }
        : v,
    );
    return out;
  }

  /** For the text exposition: a series' labels shared by its buckets (formatted once). */
  async getForPromString(): Promise<Exported> {
    const values: Exported['values'] = [];
    const bucket = `${this.name}_bucket`;
    const sum = `${this.name}_sum`;
    const count = `${this.name}_count`;
    const le = this.#le;
    for (const { labels, s } of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i];
        values.push({ labels: le[i], sharedLabels: labels, value: acc, metricName: bucket });
      }
      values.push({
        labels: le[this.bounds.length],
        sharedLabels: labels,
        value: s.count,
        metricName: bucket,
      });
      values.push({ labels, value: s.sum, metricName: sum });
      values.push({ labels, value: s.count, metricName: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
