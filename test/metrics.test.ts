// /__outpost/metrics: Prometheus text exposition, parsed with a Prometheus text-format parser,
// whose counters and histogram match a known sequence of requests exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startFixture, type TestDev } from './helpers.ts';

let dev: TestDev;
before(async () => {
  // The fixture's own 50 ms CPU limit stays: /loop must be stopped by it.
  dev = await startFixture('limits', { limits: { cpuMs: 50 } });
});
after(() => dev?.close());

interface Family {
  name: string;
  type: string;
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
  }[];
}

async function scrape(): Promise<Map<string, Family>> {
  const res = await fetch(`${dev.url}/__outpost/metrics`, {
    headers: { authorization: `Bearer ${dev.adminToken}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

const value = (f: Family | undefined, labels: Record<string, string>) =>
  Number(
    f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 'NaN',
  );

describe('/__outpost/metrics', () => {
  it('needs the admin token', async () => {
    assert.equal((await fetch(`${dev.url}/__outpost/metrics`)).status, 401);
  });

  it('counts a known sequence of requests exactly: status classes, durations, bytes, limits', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`${dev.url}/ok`)).text(), 'ok');
    assert.equal((await fetch(`${dev.url}/nowhere`)).status, 404);
    assert.equal((await fetch(`${dev.url}/loop`)).status, 503);
    const m = await scrape();
    const requests = m.get('outpost_requests_total');
    assert.equal(requests?.type, 'COUNTER');
    const base = { pop: 'DEV', worker: 'limits', cache_status: 'none' };
    assert.equal(value(requests, { ...base, status_class: '2xx' }), 3);
    assert.equal(value(requests, { ...base, status_class: '4xx' }), 1);
    assert.equal(value(requests, { ...base, status_class: '5xx' }), 1);
    const duration = m.get('outpost_request_duration_seconds');
    assert.equal(duration?.type, 'HISTOGRAM');
    // One series (this PoP, this worker). The parser keeps a labelled histogram's buckets only
    // (not its labels, _count or _sum), so the +Inf bucket stands for the count.
    assert.equal(duration?.metrics.length, 1);
    const buckets = duration?.metrics[0].buckets ?? {};
    const le = (k: string) => (k === '+Inf' ? Number.POSITIVE_INFINITY : Number(k));
    const bounds = Object.keys(buckets).sort((a, b) => le(a) - le(b));
    assert.deepEqual(bounds, ['0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    const counts = bounds.map((b) => Number(buckets[b]));
    assert.ok(
      counts.every((c, i) => i === 0 || c >= counts[i - 1]),
      'buckets are cumulative',
    );
    assert.equal(counts[counts.length - 1], 5);
    // What the worker answered: 3 × "ok" and "no route" (Outpost's own error pages are not counted).
    assert.equal(value(m.get('outpost_response_bytes_total'), { pop: 'DEV', worker: 'limits' }), 3 * 2 + 8);
    assert.equal(
      value(m.get('outpost_limit_exceeded_total'), { pop: 'DEV', worker: 'limits', limit: 'cpu' }),
      1,
    );
    // The CPU kill recycled the isolate: the gauge is there, whatever its value now.
    assert.equal(m.get('outpost_isolates')?.type, 'GAUGE');
    assert.ok(Number.isFinite(value(m.get('outpost_isolates'), { pop: 'DEV' })));
  });
});
