import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './series.ts';

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }[];
}

async function exposition(registry: Registry): Promise<Map<string, Family>> {
  const families = parsePrometheusTextFormat(await registry.metrics()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

describe('series.ts: counters and histograms found by key', () => {
  it('a counter keeps one series per key, labels made once, values escaped by the registry', async () => {
    const registry = new Registry();
    const c = new FastCounter<'pop' | 'worker'>('t_requests_total', 'Requests', registry);
    let made = 0;
    const labels = (key: string) => {
      made++;
      const [pop, worker] = key.split('\0');
      return { pop, worker };
    };
    c.inc('FRA\0a', labels);
    c.inc('FRA\0a', labels, 4);
    c.inc('FRA\0b"\n', labels);
    assert.equal(made, 2);
    const text = await registry.metrics();
    assert.match(text, /^# HELP t_requests_total Requests\n# TYPE t_requests_total counter\n/);
    assert.match(text, /t_requests_total\{pop="FRA",worker="b\\"\\n"\} 1/);
    const f = (await exposition(registry)).get('t_requests_total');
    assert.equal(f?.type, 'COUNTER');
    assert.deepEqual(
      f?.metrics.map((m) => [m.labels?.worker, Number(m.value)]),
      [
        ['a', 5],
        ['b"\n', 1],
      ],
    );
    c.reset();
    c.inc('FRA\0a', labels);
    assert.equal(
      Number((await exposition(registry)).get('t_requests_total')?.metrics[0].value),
      1,
      'reset zeroes in place',
    );
  });

  it('writes what prom-client writes for the same counts: text and JSON, several series', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const c1 = new Counter({
      name: 'x_total',
      help: 'X',
      labelNames: ['pop', 'worker'],
      registers: [theirs],
    });
    const c2 = new FastCounter<'pop' | 'worker'>('x_total', 'X', ours);
    const h1 = new Histogram({
      name: 'y_seconds',
      help: 'Y',
      labelNames: ['pop', 'worker'],
      buckets: [0.01, 0.1, 1],
      registers: [theirs],
    });
    const h2 = new FastHistogram<'pop' | 'worker'>('y_seconds', 'Y', ours, [0.01, 0.1, 1]);
    const labels = (key: string) => {
      const [pop, worker] = key.split('\0');
      return { pop, worker };
    };
    const seen = [
      ['FRA', 'shop', 0.004],
      ['AMS', 'blog', 0.5],
      ['FRA', 'shop', 0.1],
      ['FRA', 'blog', 3],
      ['AMS', 'blog', 0.02],
    ] as const;
    for (const [pop, worker, v] of seen) {
      c1.inc({ pop, worker });
      c2.inc(`${pop}\0${worker}`, labels);
      h1.observe({ pop, worker }, v);
      h2.observe(`${pop}\0${worker}`, labels, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    // JSON: the same names, types, series, labels and values (prom-client adds empty exemplars).
    const essence = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        name: m.name,
        type: m.type,
        values: m.values.map((v) => ({
          labels: { ...v.labels },
          value: v.value,
          metricName: (v as { metricName?: string }).metricName,
        })),
      }));
    assert.deepEqual(await essence(ours), await essence(theirs));
  });

  it('a histogram puts a value on a bound into that bound’s bucket; buckets are cumulative with +Inf, _sum and _count', async () => {
    const registry = new Registry();
    const h = new FastHistogram<'pop'>('t_seconds', 'Durations', registry, [0.01, 0.1, 1]);
    const labels = () => ({ pop: 'DEV' });
    for (const v of [0.005, 0.01, 0.05, 0.1, 0.5, 2, 30]) h.observe('DEV', labels, v);
    const text = await registry.metrics();
    assert.match(text, /t_seconds_bucket\{le="0.01",pop="DEV"\} 2\n/);
    assert.match(text, /t_seconds_bucket\{le="0.1",pop="DEV"\} 4\n/);
    assert.match(text, /t_seconds_bucket\{le="1",pop="DEV"\} 5\n/);
    assert.match(text, /t_seconds_bucket\{le="\+Inf",pop="DEV"\} 7\n/);
    assert.match(text, /t_seconds_sum\{pop="DEV"\} 32\.665\n/);
    assert.match(text, /t_seconds_count\{pop="DEV"\} 7/);
    const f = (await exposition(registry)).get('t_seconds');
    assert.equal(f?.type, 'HISTOGRAM');
    assert.deepEqual(f?.metrics[0].buckets, { '0.01': '2', '0.1': '4', '1': '5', '+Inf': '7' });
  });
});
