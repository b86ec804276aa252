// One request through the network — router → PoP → worker → KV → Durable Object (and its own
// subrequest) → PoP cache → shield → upper tier → origin — is one trace, exported over OTLP/HTTP
// and decoded here with the OpenTelemetry protobuf definitions: parents, names, attributes, the
// traceparent the origin received, and an incoming traceparent continued. Then sampling (errors
// and slow requests kept at 0%) and a collector that is down or slow.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';
import { type ReceivedSpan, type Receiver, startReceiver } from './otlp/receiver.ts';

/** The origin: answers, and remembers the traceparent of each request it got. */
async function startOrigin(): Promise<{
  url: string;
  seen: Map<string, string | undefined>;
  state: Map<string, string | undefined>;
  close(): Promise<void>;
}> {
  const seen = new Map<string, string | undefined>();
  const state = new Map<string, string | undefined>();
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req);
    seen.set(`${req.method} ${req.url}`, req.headers.traceparent as string | undefined);
    state.set(`${req.method} ${req.url}`, req.headers.tracestate as string | undefined);
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=300' });
    res.end('// data');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function one(spans: ReceivedSpan[], pick: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(pick);
  assert.equal(
    found.length,
    1,
    `${what}: ${found.length} spans among ${spans.map((s) => s.name).join(', ')}`,
  );
  return found[0];
}

describe('a request through the network is one trace', () => {
  let dev: TestDev;
  let receiver: Receiver;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  before(async () => {
    receiver = await startReceiver();
    origin = await startOrigin();
    dev = await startFixture('tracing', {
      topology: 'world',
      from: 'Frankfurt',
      egressAllow: ['loopback'],
      tracing: { endpoint: receiver.url, sampleRatio: 1, flushMs: 50 },
    });
  });
  after(async () => {
    await dev.close();
    await origin.close();
    await receiver.close();
  });

  it('continues the incoming traceparent; every hop is a span under the right parent, with its attributes', async () => {
    const res = await fetch(`${dev.url}/all?origin=${encodeURIComponent(origin.url)}`, {
      headers: {
        'outpost-client-location': 'London',
        traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
        tracestate: 'vendor=x',
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { n: string; cache: string };
    assert.equal(body.cache, 'MISS');
    const spans = await receiver.trace(CLIENT_TRACE, (s) => s.some((x) => x.kind === 2) && s.length >= 12);

    const root = one(spans, (s) => s.kind === 2, 'the PoP server span');
    assert.equal(root.parentSpanId, CLIENT_SPAN, 'the root continues the client span');
    assert.equal(root.name, 'GET');
    assert.equal(root.attributes['http.request.method'], 'GET');
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.match(String(root.attributes['url.full']), /\/all\?origin=/);
    assert.equal(root.attributes['server.address'], '127.0.0.1');
    assert.equal(root.attributes['outpost.pop'], 'LHR');
    assert.equal(root.resource['service.name'], 'outpost');

    const route = one(spans, (s) => s.name === 'outpost.route', 'the router');
    assert.equal(route.parentSpanId, root.spanId);
    assert.equal(route.attributes['outpost.pop'], 'LHR');

    const worker = one(
      spans,
      (s) => s.name === 'outpost.worker' && s.parentSpanId === root.spanId,
      'the worker',
    );
    assert.equal(worker.attributes['faas.name'], 'traced');
    assert.equal(typeof worker.attributes['outpost.isolate.cold'], 'boolean');
    assert.ok(Number(worker.attributes['outpost.worker.cpu_ms']) >= 0);

    const kv = one(spans, (s) => s.name === 'kv_get', 'KV');
    assert.equal(kv.parentSpanId, worker.spanId);
    assert.equal(kv.attributes['cloudflare.binding.name'], 'KV');
    assert.equal(kv.attributes['db.operation.name'], 'get');

    const call = one(spans, (s) => s.name === 'durable_object_subrequest', 'the object call');
    assert.equal(call.parentSpanId, worker.spanId);
    assert.equal(call.kind, 3);
    assert.equal(call.attributes['outpost.do.location'], 'LHR');
    const object = one(
      spans,
      (s) => s.name === 'outpost.worker' && s.parentSpanId === call.spanId,
      'the object',
    );
    const objectFetch = one(
      spans,
      (s) => s.name === 'fetch' && s.parentSpanId === object.spanId,
      "the object's fetch",
    );
    const post = one(
      spans,
      (s) => s.name === 'POST' && s.parentSpanId === objectFetch.spanId,
      "the object's request",
    );
    assert.equal(post.kind, 3);
    assert.equal(post.attributes['http.response.status_code'], 200);

    const fetchSpan = one(
      spans,
      (s) => s.name === 'fetch' && s.parentSpanId === worker.spanId,
      "the worker's fetch",
    );
    const popCache = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'pop', 'the PoP cache');
    assert.equal(popCache.parentSpanId, fetchSpan.spanId);
    assert.equal(popCache.attributes['outpost.cache.status'], 'MISS');
    const shield = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'shield', 'the shield');
    assert.equal(shield.parentSpanId, popCache.spanId);
    assert.equal(shield.attributes['outpost.shield'], 'eu-west');
    const upper = one(spans, (s) => s.attributes['outpost.cache.tier'] === 'upper', 'the upper tier');
    assert.equal(upper.parentSpanId, shield.spanId);
    const get = one(spans, (s) => s.name === 'GET' && s.kind === 3, 'the origin request');
    assert.equal(get.parentSpanId, upper.spanId);
    assert.match(String(get.attributes['url.full']), /\/data\.js$/);
    assert.equal(get.attributes['server.address'], '127.0.0.1');

    // What the origin was told: this trace, with the request's own span as parent.
    assert.equal(origin.seen.get('GET /data.js'), `00-${CLIENT_TRACE}-${get.spanId}-01`);
    assert.equal(origin.seen.get('POST /from-object'), `00-${CLIENT_TRACE}-${post.spanId}-01`);
    // The tracestate the client sent goes on beside it (W3C Trace Context §3.3).
    assert.equal(origin.state.get('GET /data.js'), 'vendor=x');

    // Every span of the trace hangs off the root: no orphans.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans)
      if (s !== root) assert.ok(ids.has(s.parentSpanId), `${s.name} has no parent in the trace`);
    for (const s of spans) assert.ok(s.endNs >= s.startNs, `${s.name} ends before it starts`);
  });

  it('starts a trace when the request has none (or a malformed one)', async () => {
    const res = await fetch(`${dev.url}/ok`, { headers: { traceparent: '00-zz-bad' } });
    assert.equal(res.status, 200);
    await res.text();
    const root = await (async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const r = receiver.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/ok');
        if (r) return r;
        if (Date.now() > deadline) throw new Error('no trace for /ok');
        await new Promise((w) => setTimeout(w, 20));
      }
    })();
    assert.match(root.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(root.traceId, CLIENT_TRACE);
    assert.equal(root.parentSpanId, '');
  });
});

describe('sampling', () => {
  let dev: TestDev;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    dev = await startFixture('tracing', {
      tracing: { endpoint: receiver.url, sampleRatio: 0, slowMs: 150, flushMs: 50 },
    });
  });
  after(async () => {
    await dev.close();
    await receiver.close();
  });

  it('at 0%, only errors and slow requests are exported', async () => {
    for (let i = 0; i < 20; i++) await (await fetch(`${dev.url}/ok`)).text();
    const fail = await fetch(`${dev.url}/fail`);
    assert.equal(fail.status, 500);
    await fail.text();
    await (await fetch(`${dev.url}/slow?ms=250`)).text();
    await (await fetch(`${dev.url}/slow?ms=1`)).text();
    const roots = () => receiver.spans.filter((s) => s.kind === 2).map((s) => s.attributes['url.path']);
    const deadline = Date.now() + 5000;
    while (roots().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // anything else would have come by now
    assert.deepEqual(roots().sort(), ['/fail', '/slow']);
    const failed = receiver.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/fail');
    assert.equal(failed?.status.code, 2);
    assert.equal(failed?.attributes['http.response.status_code'], 500);
    const worker = receiver.spans.find((s) => s.name === 'outpost.worker' && s.traceId === failed?.traceId);
    assert.equal(worker?.status.code, 2);
    assert.match(worker?.status.message ?? '', /traced failure/);
  });

  it('a sampled incoming traceparent is honoured at 0%, an unsampled one is not', async () => {
    const sampled = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const unsampled = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    await (
      await fetch(`${dev.url}/ok`, { headers: { traceparent: `00-${sampled}-${CLIENT_SPAN}-01` } })
    ).text();
    await (
      await fetch(`${dev.url}/ok`, { headers: { traceparent: `00-${unsampled}-${CLIENT_SPAN}-00` } })
    ).text();
    await receiver.trace(sampled, (s) => s.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(receiver.spans.filter((s) => s.traceId === unsampled).length, 0);
  });
});

describe('a collector that is down or slow', () => {
  it('responses are unaffected, spans beyond the queue are dropped and counted, one warning', async () => {
    // Accepts connections and never answers.
    const hung: Server = createServer(() => {});
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/v1/traces`;
    const dev = await startFixture('tracing', {
      tracing: { endpoint, sampleRatio: 1, flushMs: 20, maxQueue: 50, batchSize: 10, timeoutMs: 3000 },
    });
    try {
      const tracer = dev.tracer;
      assert.ok(tracer);
      const started = performance.now();
      for (let i = 0; i < 300; i += 30)
        await Promise.all(
          Array.from({ length: 30 }, async () => {
            const r = await fetch(`${dev.url}/ok`);
            assert.equal(r.status, 200);
            await r.text();
          }),
        );
      const ms = performance.now() - started;
      assert.ok(ms < 15_000, `300 requests took ${ms.toFixed(0)} ms`);
      assert.ok(tracer.queued <= 50, `queue holds ${tracer.queued} spans`);
      assert.ok(tracer.stats.dropped > 0, 'some spans were dropped');
      const warnings = dev.logs.filter(
        (l) => l.level === 'warn' && l.message.includes('tracing: spans are being dropped'),
      );
      assert.equal(warnings.length, 1);
      const metrics = await (
        await fetch(`${dev.url}/__outpost/metrics`, {
          headers: { authorization: `Bearer ${dev.adminToken}` },
        })
      ).text();
      assert.match(
        metrics,
        new RegExp(`outpost_trace_spans_total\\{outcome="dropped"\\} ${tracer.stats.dropped}\\b`),
      );
    } finally {
      await dev.close();
      const closed = new Promise<void>((r) => hung.close(() => r()));
      hung.closeAllConnections();
      await closed;
    }
  });
});
