import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { recordHops, serverTiming } from './hops.ts';
import { memoryObserver } from './logger.ts';
import { cleanTracestate, MAX_SPANS_PER_TRACE, NO_TRACE, parseTraceparent, SpanKind } from './trace.ts';
import { Tracer } from './tracer.ts';

function memoryExporter(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export(batch, done) {
      spans.push(...batch);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: async () => {},
  };
}

function tracer(sampleRatio: number, slowMs = 1000) {
  const exporter = memoryExporter();
  const t = new Tracer(
    { endpoint: 'http://127.0.0.1:1/v1/traces', sampleRatio, slowMs, exporter },
    memoryObserver(),
  );
  return { t, exporter };
}

const SPAN = '00f067aa0ba902b7';
/** A trace id whose last 8 hex digits put it at `share` of the ratio range. */
const idAt = (share: number) =>
  `${'1'.repeat(24)}${Math.floor(share * 0xffffffff)
    .toString(16)
    .padStart(8, '0')}`;

describe('traceparent (W3C Trace Context §3.2)', () => {
  it('reads version 00 and the sampled flag', () => {
    assert.deepEqual(parseTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-${SPAN}-01`), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: SPAN,
      sampled: true,
    });
    assert.equal(parseTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-${SPAN}-00`)?.sampled, false);
  });
  it('refuses what the spec calls invalid', () => {
    for (const bad of [
      `ff-4bf92f3577b34da6a3ce929d0e0e4736-${SPAN}-01`, // version ff
      `00-00000000000000000000000000000000-${SPAN}-01`, // zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero span id
      `00-4BF92F3577B34DA6A3CE929D0E0E4736-${SPAN}-01`, // upper case
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${SPAN}-01-extra`, // version 00 has four fields
      '00-4bf92f-00f067aa-01',
      '',
      undefined,
    ])
      assert.equal(parseTraceparent(bad), null, String(bad));
  });
  it('reads a later version by its first four fields', () => {
    assert.equal(parseTraceparent(`01-4bf92f3577b34da6a3ce929d0e0e4736-${SPAN}-01-future`)?.spanId, SPAN);
  });
  it('passes on a well-formed tracestate and drops a malformed one', () => {
    assert.equal(
      cleanTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7'),
      'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    );
    assert.equal(cleanTracestate('no equals sign'), undefined);
    assert.equal(cleanTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')), undefined);
  });
});

describe('sampling', () => {
  it('at 1%, the ratio applies to the trace id; errors and slow requests are kept anyway', () => {
    const { t, exporter } = tracer(0.01, 500);
    assert.equal(t.headSample(idAt(0.005)), true, 'inside the 1%');
    assert.equal(t.headSample(idAt(0.5)), false, 'outside the 1%');
    const run = (status: number, ms: number) => {
      // Not sampled at the head (the caller said so, as the 99% are).
      const trace = t.begin(`00-${idAt(0.5)}-${SPAN}-00`, undefined, 'GET');
      trace.end();
      return t.finish(trace, { status }, ms);
    };
    assert.equal(run(200, 1), false, 'a quick success');
    assert.equal(run(503, 1), true, 'an error');
    assert.equal(run(200, 600), true, 'a slow request');
    t.flush();
    assert.equal(exporter.spans.length, 2);
  });
  it('the head decision of a new trace follows its id, about the configured share of traces', () => {
    const { t } = tracer(0.01);
    let sampled = 0;
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const trace = t.begin(undefined, undefined);
      assert.match(trace.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(trace.traceId.slice(-8), '00000000');
      ids.add(trace.traceId);
      assert.equal(trace.sampled, t.headSample(trace.traceId), trace.traceId);
      if (trace.sampled) sampled++;
    }
    assert.ok(sampled > 120 && sampled < 300, `${sampled} of 20,000 sampled at 1%`);
    assert.equal(ids.size, 20_000, 'trace ids repeat');
  });
  it('at 0%, an exception is kept even with a 2xx status', () => {
    const { t } = tracer(0);
    const trace = t.begin(undefined, undefined, 'GET');
    trace.end();
    assert.equal(t.finish(trace, { status: 200 }, 1), false);
    const failed = t.begin(undefined, undefined, 'GET');
    failed.end();
    assert.equal(t.finish(failed, { status: 200, error: 'worker threw' }, 1), true);
  });
});

describe('spans', () => {
  it('parent where they were recorded; hops render Server-Timing in path order', () => {
    const { t, exporter } = tracer(1);
    const root = t.begin(`00-${'a'.repeat(32)}-${SPAN}-01`, 'k=v', 'ROOT');
    const trace = root;
    const hops = { hops: [], shield: [], objects: [] };
    const rec = recordHops(hops, root.scope);
    const cache = rec.begin('outpost.cache');
    cache.recorder.hop({ name: 'shield', ms: 2, desc: 'FRA to eu-west MISS' });
    const origin = cache.recorder.begin('GET', SpanKind.CLIENT);
    assert.match(origin.traceparent ?? '', new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-01$`));
    origin.end({ name: 'origin', ms: 5, desc: '/x' });
    cache.end({ name: 'cache', ms: 8, desc: 'MISS /x' });
    root.end();
    t.finish(trace, { status: 200 }, 10);
    t.flush();
    assert.equal(
      serverTiming(hops.hops),
      'cache;dur=8.0;desc="MISS /x", shield;dur=2.0;desc="FRA to eu-west MISS", origin;dur=5.0;desc="/x"',
    );
    const byName = new Map(exporter.spans.map((s) => [s.name, s]));
    const id = (name: string) => byName.get(name)?.spanContext().spanId;
    assert.equal(byName.get('ROOT')?.parentSpanContext?.spanId, SPAN);
    assert.equal(byName.get('ROOT')?.parentSpanContext?.isRemote, true);
    assert.equal(byName.get('outpost.cache')?.parentSpanContext?.spanId, id('ROOT'));
    assert.equal(byName.get('outpost.shield')?.parentSpanContext?.spanId, id('outpost.cache'));
    assert.equal(byName.get('GET')?.parentSpanContext?.spanId, id('outpost.cache'));
    assert.equal(byName.get('GET')?.parentSpanContext?.isRemote, false);
    assert.equal(byName.get('GET')?.spanContext().spanId, origin.traceparent?.split('-')[2]);
    assert.equal(byName.get('ROOT')?.spanContext().traceState?.get('k'), 'v');
  });
  it('a hop begun and never ended is not rendered', () => {
    const hops = { hops: [], shield: [], objects: [] };
    const { t } = tracer(1);
    const rec = recordHops(hops, t.begin(undefined, undefined));
    rec.begin('outpost.cache');
    rec.hop({ name: 'kv', ms: 1, desc: 'GET KV' });
    assert.equal(serverTiming(hops.hops), 'kv;dur=1.0;desc="GET KV"');
  });
  it('a trace keeps at most MAX_SPANS_PER_TRACE spans and says how many it dropped', () => {
    const { t, exporter } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET');
    const root = trace;
    for (let i = 0; i < MAX_SPANS_PER_TRACE + 50; i++) root.scope.start('kv_get', SpanKind.INTERNAL).end();
    root.end();
    t.finish(trace, { status: 200 }, 1);
    t.flush();
    assert.equal(exporter.spans.length, MAX_SPANS_PER_TRACE);
    assert.equal(exporter.spans[0].attributes['outpost.trace.dropped_spans'], 51);
  });
  it('attributes set at a span end, before or after it was queued for export, are all exported in order', () => {
    const { t, exporter } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET');
    const root = trace;
    const early = root.scope.start('early', SpanKind.INTERNAL, { a: 1 });
    early.set({ b: 1 });
    early.end({ b: 2, c: 1 });
    early.end({ c: 2 }); // a second end adds attributes, as the first did
    root.end();
    t.finish(trace, { status: 200 }, 1);
    // Ended (so queued) first, then ended again with more: an error, then the CPU it used.
    const late = root.scope.start('late', SpanKind.INTERNAL);
    late.end(undefined, 'boom');
    late.end({ 'outpost.worker.cpu_ms': 1.5 });
    t.flush();
    const byName = new Map(exporter.spans.map((s) => [s.name, s]));
    assert.deepEqual({ ...byName.get('early')?.attributes }, { a: 1, b: 2, c: 2 });
    assert.deepEqual({ ...byName.get('late')?.attributes }, { 'outpost.worker.cpu_ms': 1.5 });
    assert.equal(byName.get('late')?.status.message, 'boom');
  });
  it('spans made after the trace was decided count against the same cap', () => {
    const { t, exporter } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET');
    const root = trace;
    root.end();
    t.finish(trace, { status: 200 }, 1);
    for (let i = 0; i < 5000; i++) root.scope.start('kv_get', SpanKind.INTERNAL).end();
    t.flush();
    assert.equal(exporter.spans.length, MAX_SPANS_PER_TRACE);
    assert.equal(trace.dropped, 5001 - MAX_SPANS_PER_TRACE);
  });
  it('a hop that ends unshown gives its Server-Timing place back', () => {
    const hops = { hops: [], shield: [], objects: [] };
    const rec = recordHops(hops, NO_TRACE, 4);
    for (let i = 0; i < 10; i++) rec.begin('fetch').end(null);
    for (let i = 0; i < 4; i++) rec.hop({ name: 'kv', ms: 1, desc: `GET ${i}` });
    assert.equal(serverTiming(hops.hops).split(', ').length, 4);
  });
  it('a span that ends after the response (waitUntil work) follows its trace: exported if it was kept', () => {
    const { t, exporter } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET');
    const root = trace;
    const late = root.scope.start('kv_put', SpanKind.INTERNAL);
    root.end();
    t.finish(trace, { status: 200 }, 1);
    late.end();
    t.flush();
    assert.deepEqual(exporter.spans.map((s) => s.name).sort(), ['GET', 'kv_put']);
  });
  it('a deferred span is made only for a kept trace, once, before the trace closes', () => {
    const { t, exporter } = tracer(0.01);
    let made = 0;
    const deferredTo = (trace: ReturnType<typeof t.begin>) => ({
      materialize() {
        made++;
        trace.start('outpost.worker', SpanKind.INTERNAL, undefined, trace.startMs).end({ w: 1 });
      },
    });
    // Dropped at its end: never made.
    const quick = t.begin(`00-${idAt(0.5)}-${SPAN}-00`, undefined, 'GET');
    assert.equal(quick.defer(deferredTo(quick)), true);
    assert.equal(
      quick.defer(deferredTo(quick)),
      false,
      'one deferred span a trace; the next is made at once',
    );
    quick.end();
    assert.equal(t.finish(quick, { status: 200 }, 1), false);
    assert.equal(made, 0);
    assert.equal(quick.defer(deferredTo(quick)), false, 'a decided trace holds nothing');
    // Kept for its error: made as the trace is kept, exported with it.
    const failed = t.begin(`00-${idAt(0.5)}-${SPAN}-00`, undefined, 'GET');
    failed.defer(deferredTo(failed));
    failed.end();
    assert.equal(t.finish(failed, { status: 503 }, 1), true);
    assert.equal(made, 1);
    failed.settle();
    assert.equal(made, 1, 'made once');
    t.flush();
    const worker = exporter.spans.find((s) => s.name === 'outpost.worker');
    assert.deepEqual({ ...worker?.attributes }, { w: 1 });
    assert.equal(
      worker?.parentSpanContext?.spanId,
      exporter.spans.find((s) => s.name === 'GET')?.spanContext().spanId,
    );
  });
  it('a span ended at a given time keeps it', () => {
    const { t, exporter } = tracer(1);
    const trace = t.begin(undefined, undefined, 'GET', SpanKind.SERVER, 1_000_000);
    trace.start('w', SpanKind.INTERNAL, undefined, 1_000_001).end(undefined, undefined, 1_000_003.5);
    trace.end(undefined, undefined, 1_000_004);
    t.finish(trace, { status: 200 }, 1);
    t.flush();
    const w = exporter.spans.find((s) => s.name === 'w');
    assert.deepEqual(w?.duration, [0, 2_500_000]);
  });
  it('export batches and the queue are bounded in bytes as well as in spans', () => {
    // A collector that never answers: at most two batches in flight, the rest queued.
    const batches: ReadableSpan[][] = [];
    const t = new Tracer(
      {
        endpoint: 'http://127.0.0.1:1/v1/traces',
        sampleRatio: 1,
        maxQueueBytes: 6 * 1024 * 1024,
        exporter: { export: (b) => void batches.push(b), shutdown: async () => {} },
      },
      memoryObserver(),
    );
    const big = 'x'.repeat(512 * 1024); // 1 MiB as the bounds count it (UTF-16)
    for (let i = 0; i < 20; i++) {
      const trace = t.begin(undefined, undefined, 'GET');
      trace.end({ big, i });
      t.finish(trace, { status: 200 }, 1);
    }
    assert.equal(batches.length, 2, 'two batches in flight');
    for (const b of batches) assert.ok(b.length >= 1 && b.length <= 3, `a batch of ${b.length} 1 MiB spans`);
    const sent = batches.reduce((n, b) => n + b.length, 0);
    assert.ok(t.queued <= 5, `${t.queued} spans of 1 MiB queued (at most 6 MiB)`);
    assert.equal(t.stats.dropped, 20 - sent - t.queued);
    assert.ok(t.stats.dropped >= 11);
  });
  it('refuses a bad configuration, naming it', () => {
    assert.throws(() => tracer(1.5), /sample ratio must be a number from 0 to 1, received 1.5/);
    assert.throws(
      () => new Tracer({ endpoint: 'ftp://x' }, memoryObserver()),
      /endpoint must be an http\(s\) URL, received "ftp:\/\/x"/,
    );
  });
});
