import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { memoryObserver, NO_TRACE, SpanKind, Tracer } from '../observability/index.ts';
import { MAX_SPANS_PER_TRACE } from '../observability/trace.ts';
import { newInvocation } from './invocation.ts';

function tracer(sampleRatio: number) {
  const spans: ReadableSpan[] = [];
  const t = new Tracer(
    {
      endpoint: 'http://127.0.0.1:1/v1/traces',
      sampleRatio,
      exporter: {
        export(batch, done) {
          spans.push(...batch);
          done({ code: ExportResultCode.SUCCESS });
        },
        shutdown: async () => {},
      },
    },
    memoryObserver(),
  );
  return { t, spans };
}
const UNSAMPLED = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-00`;

describe("an invocation's span", () => {
  it('is not made for a request whose trace is dropped', () => {
    const { t, spans } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    const a = newInvocation('hello', undefined, undefined, trace);
    a.endSpan(undefined);
    trace.end();
    assert.equal(t.finish(trace, { status: 200 }, 1), false);
    t.flush();
    assert.equal(spans.length, 0);
    assert.equal(trace.spans.length, 1, 'the trace never recorded the worker span');
  });

  it('is made when its trace is kept, with its own start, end, attributes and error', async () => {
    const { t, spans } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    const a = newInvocation('hello', undefined, undefined, trace);
    a.cold = true;
    a.cpuUsed = 2_500_000n;
    const started = performance.timeOrigin + a.startedAt;
    await new Promise((r) => setTimeout(r, 5));
    const before = performance.timeOrigin + performance.now();
    a.endSpan('boom');
    const after = performance.timeOrigin + performance.now();
    a.cpuUsed = 9_000_000n; // charged after its end (waitUntil work): not its span's
    await new Promise((r) => setTimeout(r, 20));
    trace.end();
    assert.equal(t.finish(trace, { status: 500 }, 1), true);
    t.flush();
    const w = spans.find((s) => s.name === 'outpost.worker');
    assert.ok(w, 'exported');
    assert.equal(w.status.message, 'boom');
    assert.deepEqual(
      { ...w.attributes },
      {
        'faas.name': 'hello',
        'faas.coldstart': true,
        'outpost.isolate.cold': true,
        'outpost.worker.cpu_ms': 2.5,
      },
    );
    const ms = (hr: [number, number]) => hr[0] * 1000 + hr[1] / 1e6;
    assert.ok(Math.abs(ms(w.startTime) - started) < 1, 'starts when the invocation began');
    const ended = ms(w.endTime);
    assert.ok(
      ended >= before - 0.001 && ended <= after + 0.001,
      'ends when its work ended, not when the trace was kept',
    );
  });

  it('is made as soon as work records under it, and ends normally', () => {
    const { t, spans } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET');
    const a = newInvocation('hello', undefined, undefined, trace, 'outpost.worker.rpc', {
      'rpc.method': 'm',
    });
    a.span.scope.start('kv_get', SpanKind.CLIENT).end();
    a.endSpan(undefined);
    trace.end();
    t.finish(trace, { status: 200 }, 1);
    t.flush();
    const rpc = spans.find((s) => s.name === 'outpost.worker.rpc');
    assert.equal(rpc?.attributes['rpc.method'], 'm');
    assert.equal(
      spans.find((s) => s.name === 'kv_get')?.parentSpanContext?.spanId,
      rpc?.spanContext().spanId,
    );
    assert.equal(spans.filter((s) => s.name === 'outpost.worker.rpc').length, 1);
  });

  it('a second invocation under the same trace is made at once (one deferred a trace)', () => {
    const { t } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    newInvocation('a', undefined, undefined, trace);
    newInvocation('b', undefined, undefined, trace);
    assert.deepEqual(
      trace.spans.map((s) => s.name),
      ['GET', 'outpost.worker'],
    );
  });

  it('kept while still running: made then, ended (and exported) when its work ends, once', () => {
    const { t, spans } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    const a = newInvocation('hello', undefined, undefined, trace);
    trace.end();
    assert.equal(t.finish(trace, { status: 503 }, 1), true);
    t.flush();
    assert.deepEqual(
      spans.map((s) => s.name),
      ['GET'],
      'open: not exported yet',
    );
    a.endSpan(undefined);
    a.endSpan('again');
    t.flush();
    assert.deepEqual(
      spans.map((s) => s.name),
      ['GET', 'outpost.worker'],
    );
    assert.equal(spans[1].status.message, undefined);
  });

  it('a span deferred early keeps its place when the trace fills up after it', () => {
    const { t, spans } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    const a = newInvocation('hello', undefined, undefined, trace);
    for (let i = 0; i < MAX_SPANS_PER_TRACE + 10; i++) trace.start('kv_get', SpanKind.CLIENT).end();
    a.endSpan(undefined);
    trace.end();
    t.finish(trace, { status: 500 }, 1);
    t.flush();
    assert.equal(spans.length, MAX_SPANS_PER_TRACE);
    assert.ok(spans.some((s) => s.name === 'outpost.worker'));
  });

  it('a dropped trace lets go of what it held', () => {
    const { t } = tracer(0);
    const trace = t.begin(UNSAMPLED, undefined, 'GET');
    let made = 0;
    assert.equal(trace.defer({ materialize: () => made++ }), true);
    assert.equal(t.finish(trace, { status: 200 }, 1), false);
    trace.settle(); // were it still held, this would make it
    assert.equal(made, 0);
    assert.equal(trace.defer({ materialize: () => made++ }), false, 'decided: holds nothing more');
  });

  it('untraced: no span at all', () => {
    const a = newInvocation('hello', undefined, undefined, NO_TRACE);
    assert.equal(a.span.scope.recording, false);
    a.endSpan('x');
  });
});
