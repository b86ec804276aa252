// CDN proxy mode is observed as worker mode is (src/pop/proxy.ts, src/pop/request-end.ts): a
// request line per request, /__outpost/metrics parsed with a Prometheus text-format parser and
// matching a known sequence of requests exactly, and a trace per request exported over OTLP/HTTP
// (decoded with the OpenTelemetry protobuf definitions) whose origin request carries its
// traceparent — on one PoP, and through the tiers of a network.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { builtinTopology } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../src/pop/index.ts';
import { type ReceivedSpan, type Receiver, startReceiver } from './otlp/receiver.ts';

/** An origin that remembers the traceparent of each request; /fail answers 503, /x/* caches. */
async function startOrigin() {
  const seen = new Map<string, string | undefined>();
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req);
    seen.set(`${req.method} ${req.url}`, req.headers.traceparent as string | undefined);
    if (req.url === '/fail') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return void res.end('down');
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300' });
    res.end(`body of ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }[];
}

async function scrape(proxy: ProxyServer): Promise<Map<string, Family>> {
  const res = await fetch(`${proxy.url}/__outpost/metrics`, {
    headers: { authorization: `Bearer ${proxy.adminToken}` },
  });
  assert.equal(res.status, 200);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

const value = (f: Family | undefined, labels: Record<string, string>) =>
  Number(
    f?.metrics.find(
      (m) =>
        Object.keys(m.labels ?? {}).length === Object.keys(labels).length &&
        Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
    )?.value ?? 'NaN',
  );

function one(spans: ReceivedSpan[], pick: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(pick);
  assert.equal(found.length, 1, `${what}: ${found.length} among ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
}

/** An origin, an OTLP receiver and a traced proxy in front of the origin, for one describe. */
function tracedProxy(extra: Partial<Parameters<typeof startProxy>[0]> = {}) {
  const t = {} as {
    origin: Awaited<ReturnType<typeof startOrigin>>;
    receiver: Receiver;
    proxy: ProxyServer;
    observer: ReturnType<typeof memoryObserver>;
  };
  before(async () => {
    t.observer = memoryObserver();
    t.origin = await startOrigin();
    t.receiver = await startReceiver();
    t.proxy = await startProxy({
      origin: t.origin.url,
      port: 0,
      observer: t.observer,
      tracing: { endpoint: t.receiver.url, sampleRatio: 1, flushMs: 50 },
      ...extra,
    });
  });
  after(async () => {
    await t.proxy?.close();
    await t.receiver?.close();
    await t.origin?.close();
  });
  return t;
}

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

describe('CDN proxy mode on one PoP: metrics, request lines, traces', () => {
  const t = tracedProxy();

  it('counts a known sequence of requests exactly: by cache status, cache lookups, bytes, origin errors', async () => {
    const get = async (path: string, init?: RequestInit) => {
      const r = await fetch(`${t.proxy.url}${path}`, init);
      return [r.status, r.headers.get('cf-cache-status'), await r.text()] as const;
    };
    assert.deepEqual(await get('/x/a'), [200, 'MISS', 'body of /x/a']);
    assert.deepEqual(await get('/x/a'), [200, 'HIT', 'body of /x/a']);
    assert.deepEqual(await get('/x/a'), [200, 'HIT', 'body of /x/a']);
    assert.deepEqual(await get('/x/a', { method: 'HEAD' }), [200, 'HIT', '']);
    assert.deepEqual((await get('/fail')).slice(0, 2), [503, 'BYPASS']);
    const m = await scrape(t.proxy);
    const requests = m.get('outpost_requests_total');
    const at = { pop: 'DEV', worker: '' };
    assert.equal(value(requests, { ...at, status_class: '2xx', cache_status: 'MISS' }), 1);
    assert.equal(value(requests, { ...at, status_class: '2xx', cache_status: 'HIT' }), 3);
    assert.equal(value(requests, { ...at, status_class: '5xx', cache_status: 'BYPASS' }), 1);
    const lookups = m.get('outpost_cache_lookups_total');
    assert.equal(value(lookups, { pop: 'DEV', tier: 'pop', status: 'MISS' }), 1);
    assert.equal(value(lookups, { pop: 'DEV', tier: 'pop', status: 'BYPASS' }), 1);
    assert.equal(value(lookups, { pop: 'DEV', tier: 'pop', status: 'HIT' }), 3);
    // Bodies written: three GETs of /x/a (the HEAD writes none) and the 503's "down".
    assert.equal(value(m.get('outpost_response_bytes_total'), at), 3 * 'body of /x/a'.length + 'down'.length);
    assert.equal(value(m.get('outpost_origin_errors_total'), { pop: 'DEV', kind: '5xx' }), 1);
    const duration = m.get('outpost_request_duration_seconds');
    const buckets = duration?.metrics[0].buckets ?? {};
    assert.equal(Number(buckets['+Inf']), 5);
    // One line per request, with the cache status and the ray id the response carried.
    const lines = t.observer.entries.filter((e) => e.source === 'request');
    assert.deepEqual(
      lines.map((e) => [e.message, e.fields?.cache, e.fields?.worker]),
      [
        ['GET /x/a 200', 'MISS', ''],
        ['GET /x/a 200', 'HIT', ''],
        ['GET /x/a 200', 'HIT', ''],
        ['HEAD /x/a 200', 'HIT', ''],
        ['GET /fail 503', 'BYPASS', ''],
      ],
    );
    assert.ok(lines.every((e) => /^[0-9a-f]{16}-DEV$/.test(String(e.fields?.ray))));
    assert.ok(lines.every((e) => /^[0-9a-f]{32}$/.test(String(e.fields?.trace))));
  });

  it('a request is one trace: its server span, the cache lookup, the origin request carrying the traceparent', async () => {
    const res = await fetch(`${t.proxy.url}/x/traced?q=1`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    });
    assert.equal(res.status, 200);
    await res.text();
    const spans = await t.receiver.trace(CLIENT_TRACE, (s) => s.some((x) => x.kind === 2) && s.length >= 3);
    const root = one(spans, (s) => s.kind === 2, 'the server span');
    assert.equal(root.parentSpanId, CLIENT_SPAN);
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.attributes['outpost.cache.status'], 'MISS');
    assert.equal(root.attributes['outpost.pop'], 'DEV');
    assert.match(String(root.attributes['url.full']), /\/x\/traced\?q=1$/);
    assert.equal(root.attributes['client.address'], '127.0.0.1');
    const lookup = one(spans, (s) => s.name === 'outpost.cache', 'the cache lookup');
    assert.equal(lookup.parentSpanId, root.spanId);
    assert.equal(lookup.attributes['outpost.cache.tier'], 'pop');
    assert.equal(lookup.attributes['outpost.cache.status'], 'MISS');
    const get = one(spans, (s) => s.name === 'GET' && s.kind === 3, 'the origin request');
    assert.equal(get.parentSpanId, lookup.spanId);
    assert.equal(get.attributes['http.response.status_code'], 200);
    assert.equal(t.origin.seen.get('GET /x/traced?q=1'), `00-${CLIENT_TRACE}-${get.spanId}-01`);
  });

  it('an origin that answers 5xx marks the trace as an error', async () => {
    const trace = 'aaaa591916cd43dd8448eb211c8031ff';
    await (
      await fetch(`${t.proxy.url}/fail`, { headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` } })
    ).text();
    const spans = await t.receiver.trace(trace, (s) => s.some((x) => x.kind === 2));
    assert.equal(one(spans, (s) => s.kind === 2, 'the server span').status.code, 2);
    assert.equal(one(spans, (s) => s.kind === 3, 'the origin request').status.code, 2);
  });

  it('serves /__outpost/metrics only with the admin token: no token or a wrong one gets a 401, never the metrics or the origin', async () => {
    const total = (m: Map<string, Family>) =>
      (m.get('outpost_requests_total')?.metrics ?? []).reduce((n, x) => n + Number(x.value), 0);
    const before = total(await scrape(t.proxy));
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer not-the-token-0123456789' },
      { authorization: 'Basic x' },
    ]) {
      const res = await fetch(`${t.proxy.url}/__outpost/metrics`, { headers });
      const body = await res.text();
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.doesNotMatch(body, /outpost_/);
      assert.match(res.headers.get('cf-ray') ?? '', /^[0-9a-f]{16}-DEV$/);
    }
    assert.equal(t.origin.seen.has('GET /__outpost/metrics'), false, 'the origin never saw it');
    // Refused scrapes are not requests of the site: nothing was counted.
    assert.equal(total(await scrape(t.proxy)), before);
  });
});

describe('CDN proxy mode without tracing', () => {
  it('sends the origin no traceparent of its own, and still counts and logs', async () => {
    const origin = await startOrigin();
    const observer = memoryObserver();
    const proxy = await startProxy({ origin: origin.url, port: 0, observer });
    try {
      await (await fetch(`${proxy.url}/x/plain`)).text();
      assert.equal(origin.seen.get('GET /x/plain'), undefined);
      // A client's own traceparent goes on as it came (the proxy does not trace it).
      const client = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
      await (await fetch(`${proxy.url}/x/theirs`, { headers: { traceparent: client } })).text();
      assert.equal(origin.seen.get('GET /x/theirs'), client);
      const m = await scrape(proxy);
      assert.equal(
        value(m.get('outpost_requests_total'), {
          pop: 'DEV',
          worker: '',
          status_class: '2xx',
          cache_status: 'MISS',
        }),
        2,
      );
      const lines = observer.entries.filter((e) => e.source === 'request');
      assert.equal(lines.length, 2);
      assert.equal(lines[1].fields?.trace, CLIENT_TRACE, "the line names the client's trace");
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});

describe('CDN proxy mode on a network: the tiers in the trace and the metrics', () => {
  const t = tracedProxy({ network: { topology: builtinTopology('world')! } });

  it('router, PoP cache, shield, upper tier and origin are spans under one root; each tier is counted', async () => {
    const res = await fetch(`${t.proxy.url}/x/net`, {
      headers: {
        'outpost-client-location': 'Frankfurt',
        traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
      },
    });
    assert.equal(res.headers.get('outpost-pop'), 'FRA');
    assert.equal(res.headers.get('cf-cache-status'), 'MISS');
    // Server-Timing is as it was: the trip, the shield, the origin (no entry of the lookup's own).
    const timing = res.headers.get('server-timing') ?? '';
    assert.deepEqual(
      timing.split(/, (?=[a-z]+;)/).map((e) => e.split(';')[0]),
      ['edge', 'shield', 'origin'],
      timing,
    );
    await res.text();
    const spans = await t.receiver.trace(CLIENT_TRACE, (s) => s.some((x) => x.kind === 2) && s.length >= 6);
    const root = one(spans, (s) => s.kind === 2, 'the server span');
    assert.equal(root.attributes['outpost.pop'], 'FRA');
    const route = one(spans, (s) => s.name === 'outpost.route', 'the router');
    assert.equal(route.parentSpanId, root.spanId);
    const pop = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'pop', 'the PoP cache');
    assert.equal(pop.parentSpanId, root.spanId);
    const shield = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'shield', 'the shield');
    assert.equal(shield.parentSpanId, pop.spanId);
    const upper = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'upper', 'the upper tier');
    assert.equal(upper.parentSpanId, shield.spanId);
    const get = one(spans, (s) => s.name === 'GET' && s.kind === 3, 'the origin request');
    assert.equal(get.parentSpanId, upper.spanId);
    assert.equal(t.origin.seen.get('GET /x/net'), `00-${CLIENT_TRACE}-${get.spanId}-01`);

    await (await fetch(`${t.proxy.url}/x/net`, { headers: { 'outpost-client-location': 'London' } })).text();
    const m = await scrape(t.proxy);
    const lookups = m.get('outpost_cache_lookups_total');
    assert.equal(value(lookups, { pop: 'FRA', tier: 'pop', status: 'MISS' }), 1);
    assert.equal(value(lookups, { pop: 'FRA', tier: 'shield', status: 'MISS' }), 1);
    assert.equal(value(lookups, { pop: 'FRA', tier: 'upper', status: 'MISS' }), 1);
    assert.equal(value(lookups, { pop: 'LHR', tier: 'pop', status: 'MISS' }), 1);
    assert.equal(value(lookups, { pop: 'LHR', tier: 'shield', status: 'HIT' }), 1);
    const requests = m.get('outpost_requests_total');
    assert.equal(value(requests, { pop: 'FRA', worker: '', status_class: '2xx', cache_status: 'MISS' }), 1);
    assert.equal(value(requests, { pop: 'LHR', worker: '', status_class: '2xx', cache_status: 'MISS' }), 1);
  });
});
