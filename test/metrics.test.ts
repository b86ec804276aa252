// /__outpost/metrics: Prometheus text exposition, parsed with a Prometheus text-format parser,
// whose counters and histogram match a known sequence of requests exactly.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

async function scrape(from: TestDev = dev): Promise<Map<string, Family>> {
  const res = await fetch(`${from.url}/__outpost/metrics`, {
    headers: { authorization: `Bearer ${from.adminToken}` },
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

describe('/__outpost/metrics in a network: cache tiers, KV, Durable Objects, cold starts, origin errors', () => {
  let net: TestDev;
  let origin: Server;
  let originUrl: string;
  before(async () => {
    origin = createServer((req, res) => {
      if (req.url === '/broken') res.writeHead(503).end('down');
      else
        res
          .writeHead(200, { 'cache-control': 'max-age=300', 'content-type': 'text/javascript' })
          .end('// data');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    net = await startFixture('tracing', { topology: 'world', from: 'Frankfurt', egressAllow: ['loopback'] });
  });
  after(async () => {
    await net?.close();
    await new Promise<void>((r) => origin.close(() => r()));
  });

  it('counts each tier lookup, KV operation, live object, cold start and origin error', async () => {
    const at = (path: string) =>
      fetch(`${net.url}${path}`, { headers: { 'outpost-client-location': 'London' } }).then((r) => r.text());
    const all = `/all?origin=${encodeURIComponent(originUrl)}`;
    assert.match(await at(all), /"cache":"MISS"/);
    assert.match(await at(all), /"cache":"HIT"/);
    assert.equal(await at(`/fetch?u=${encodeURIComponent(`${originUrl}/broken`)}`), 'origin answered 503');
    assert.match(await at('/fetch?u=http%3A%2F%2F127.0.0.1%3A1%2F'), /^origin failed/);
    const m = await scrape(net);
    const cache = m.get('outpost_cache_lookups_total');
    assert.equal(cache?.type, 'COUNTER');
    assert.equal(value(cache, { pop: 'LHR', tier: 'pop', status: 'MISS' }), 1);
    assert.equal(value(cache, { pop: 'LHR', tier: 'pop', status: 'HIT' }), 1);
    assert.equal(value(cache, { pop: 'LHR', tier: 'shield', status: 'MISS' }), 1);
    assert.equal(value(cache, { pop: 'LHR', tier: 'upper', status: 'MISS' }), 1);
    const kv = m.get('outpost_kv_operations_total');
    const gets = (kv?.metrics ?? []).filter((x) => x.labels?.pop === 'LHR' && x.labels?.op === 'get');
    assert.equal(
      gets.reduce((n, x) => n + Number(x.value), 0),
      2,
    );
    assert.equal(value(m.get('outpost_durable_objects_live'), {}), 1);
    const origins = m.get('outpost_origin_errors_total');
    // The object's POST to /from-object and the PoP's fill answered 200: only these two count.
    assert.equal(value(origins, { pop: 'LHR', kind: '5xx' }), 1);
    assert.equal(value(origins, { pop: 'LHR', kind: 'network' }), 1);
    const cold = m.get('outpost_cold_start_duration_seconds');
    assert.equal(cold?.type, 'HISTOGRAM');
    const infs = (cold?.metrics ?? []).map((x) => Number(x.buckets?.['+Inf'] ?? 0));
    assert.ok(infs.reduce((a, b) => a + b, 0) >= 1, 'at least the LHR PoP loaded the worker once');
  });
});
