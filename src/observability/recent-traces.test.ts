import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noopObserver } from './logger.ts';
import { RecentTraces } from './recent-traces.ts';
import { SpanKind } from './trace.ts';
import { Tracer } from './tracer.ts';

/** A request traced by `tracer`: a root, a child that ends before the keep, one that ends after. */
function request(tracer: Tracer, ray: string) {
  const trace = tracer.begin(undefined, undefined, 'GET');
  const worker = trace.start('outpost.worker', SpanKind.INTERNAL, { 'faas.name': 'w' });
  worker.end();
  const late = trace.start('outpost.waituntil', SpanKind.INTERNAL);
  trace.end({ 'http.response.status_code': 200 });
  assert.equal(tracer.keeps(trace, 200, undefined, 1), true);
  tracer.keep(trace, { ray, pop: 'LHR', worker: 'w', status: 200 });
  return { trace, late };
}

describe('recent traces (the dashboard’s waterfalls)', () => {
  it('traces nothing until someone watches, then at most maxRate a second', () => {
    const recent = new RecentTraces(10, 1e6, 3);
    const tracer = new Tracer(null, noopObserver, recent);
    assert.equal(tracer.wants(), false);
    const unwatch = recent.watch();
    assert.deepEqual(
      Array.from({ length: 5 }, () => tracer.wants()),
      [true, true, true, false, false],
    );
    unwatch();
    unwatch(); // twice is once
    assert.equal(recent.watchers, 0);
    assert.equal(tracer.wants(), false);
  });

  it('finds a kept trace by ray or id, with spans that ended after the keep', () => {
    const recent = new RecentTraces();
    const tracer = new Tracer(null, noopObserver, recent);
    const { trace, late } = request(tracer, 'abc-LHR');
    const before = recent.find({ ray: 'abc-LHR' });
    assert.equal(before?.traceId, trace.traceId);
    assert.deepEqual(
      before?.spans.map((s) => [s.name, s.end === null]),
      [
        ['GET', false],
        ['outpost.worker', false],
        ['outpost.waituntil', true],
      ],
    );
    assert.equal(before?.spans[1].parent, before?.spans[0].id);
    late.end();
    const after = recent.find({ trace: trace.traceId });
    assert.equal(after?.spans.length, 3, 'the late span once, not twice');
    assert.notEqual(after?.spans[2].end, null);
    assert.equal(recent.find({ ray: 'nope' }), undefined);
    assert.deepEqual(
      recent.list().map((t) => [t.ray, t.worker, t.status, t.spans]),
      [['abc-LHR', 'w', 200, 3]],
    );
  });

  it('keeps the last maxTraces, and within maxBytes', () => {
    const recent = new RecentTraces(3, 1e9);
    const tracer = new Tracer(null, noopObserver, recent);
    for (let i = 0; i < 5; i++) request(tracer, `r${i}-LHR`);
    assert.equal(recent.size, 3);
    assert.equal(recent.find({ ray: 'r1-LHR' }), undefined);
    assert.deepEqual(
      recent.list().map((t) => t.ray),
      ['r4-LHR', 'r3-LHR', 'r2-LHR'],
    );
    const small = new RecentTraces(100, 2000);
    const t2 = new Tracer(null, noopObserver, small);
    for (let i = 0; i < 20; i++) request(t2, `s${i}-LHR`);
    assert.ok(small.size < 20 && small.size >= 1, `${small.size} kept`);
    assert.ok(small.find({ ray: 's19-LHR' }), 'the newest is kept');
  });

  it('counts what spans carry when they end after the response, and keeps each trace within its bound', () => {
    const recent = new RecentTraces(200, 1e6, 50, 100_000);
    const tracer = new Tracer(null, noopObserver, recent);
    const big = { blob: 'x'.repeat(4000) }; // 8 KB as the tracer counts (UTF-16)
    const traces = Array.from({ length: 10 }, (_, t) => {
      const trace = tracer.begin(undefined, undefined, 'GET');
      // Opened during the request, ended (with their attributes) after it: waitUntil work.
      const open = Array.from({ length: 100 }, (_, i) => trace.start(`late-${i}`, SpanKind.INTERNAL));
      trace.end();
      assert.ok(tracer.keeps(trace, 200, undefined, 1));
      tracer.keep(trace, { ray: `big${t}-LHR` });
      for (const s of open) s.end(big);
      return trace;
    });
    for (const t of traces) {
      const kept = recent.find({ trace: t.traceId });
      if (!kept) continue;
      const bytes = JSON.stringify(kept.spans).length;
      assert.ok(bytes < 120_000, `a trace holds ${bytes} bytes of JSON`);
      assert.ok(kept.dropped > 50, `${kept.dropped} spans dropped past the bound`);
    }
    assert.ok(recent.find({ ray: 'big9-LHR' }), 'the newest is kept');
  });

  it('a local trace ignores an incoming traceparent: kept whatever its flag, under an id of its own', () => {
    const recent = new RecentTraces();
    const tracer = new Tracer(null, noopObserver, recent);
    const incoming = '00-c0ffee00c0ffee00c0ffee00c0ffee00-00f067aa0ba902b7-00';
    const trace = tracer.begin(incoming, undefined);
    assert.notEqual(trace.traceId, 'c0ffee00c0ffee00c0ffee00c0ffee00');
    trace.end();
    assert.equal(tracer.keeps(trace, 200, undefined, 1), true);
  });

  it('a trace made only for the dashboard is local: requests it sends carry no traceparent', () => {
    const tracer = new Tracer(null, noopObserver, new RecentTraces());
    const trace = tracer.begin(undefined, undefined);
    const span = trace.start('fetch', SpanKind.CLIENT);
    assert.equal(trace.scope.traceparent(span), null);
    // An exporting tracer's traces still propagate.
    const exporting = new Tracer(
      { endpoint: 'http://127.0.0.1:1/v1/traces', exporter: { export: () => {}, shutdown: async () => {} } },
      noopObserver,
      new RecentTraces(),
    );
    assert.equal(exporting.wants(), true);
    const t = exporting.begin(undefined, undefined);
    assert.match(
      t.scope.traceparent(t.start('fetch', SpanKind.CLIENT)) ?? '',
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
    );
    void exporting.close();
  });
});
