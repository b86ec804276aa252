// Custom spans (`tracing` from cloudflare:workers, `ctx.tracing`): a worker written for the API
// runs unchanged — callbacks called with their arguments, results and errors passed through,
// the active span following async context; untraced, its spans are non-recording; traced, they
// are spans of the request's trace, exported over OTLP and decoded here
// (src/runtime/isolate/tracing.ts, src/runtime/bridge/custom-spans.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';
import { type ReceivedSpan, type Receiver, startReceiver } from './otlp/receiver.ts';

describe('custom spans, tracing off', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('custom-spans');
  });
  after(() => dev?.close());

  it('enterSpan, startActiveSpan, startSpan and getActiveSpan behave as Workers documents them', async () => {
    const res = await fetch(`${dev.url}/some/path`);
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as {
      same: boolean;
      result: unknown;
      sync: boolean;
      outside: boolean;
      context: unknown;
      errors: string[];
      rejected: string;
    };
    assert.equal(out.same, true, 'ctx.tracing is the module’s tracing');
    assert.deepEqual(out.result, {
      a: 'x',
      b: 2,
      inner: { activeIsInner: true, fromHelper: true },
      activeAfter: true,
    });
    assert.equal(
      out.sync,
      false,
      'a synchronous callback’s result is returned as it is; spans are not traced',
    );
    assert.equal(out.outside, true, 'outside any span, the invocation’s own');
    assert.deepEqual(out.context, { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
    assert.deepEqual(out.errors, [
      'TypeError: tracing.enterSpan: the name must be a non-empty string',
      'TypeError: tracing.enterSpan: the callback must be a function',
      'TypeError: span.setAttribute("k"): the value must be a string, number, boolean or an array of them',
      'TypeError: span.setStatus: status.code must be "unset", "ok" or "error"',
    ]);
    assert.equal(out.rejected, 'RangeError: inside');
  });

  it('while the dashboard traces requests (a tail with traces=1), the worker still sees itself untraced', async () => {
    const ac = new AbortController();
    const tail = await fetch(`${dev.url}/__outpost/tail?traces=1`, {
      headers: { authorization: `Bearer ${dev.adminToken}` },
      signal: ac.signal,
    });
    assert.equal(tail.status, 200);
    try {
      const res = await fetch(`${dev.url}/some/path`);
      const out = (await res.json()) as { sync: boolean; context: unknown };
      assert.equal(out.sync, false, 'its spans say they are not traced');
      assert.deepEqual(out.context, { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
      // Yet the request was traced, for the dashboard.
      const ray = res.headers.get('cf-ray');
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (
          await fetch(`${dev.url}/__outpost/traces?ray=${ray}`, {
            headers: { authorization: `Bearer ${dev.adminToken}` },
          })
        ).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(status, 200);
    } finally {
      ac.abort();
    }
  });
});

describe('custom spans, traced', () => {
  let dev: TestDev;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    dev = await startFixture('custom-spans', {
      tracing: { endpoint: receiver.url, sampleRatio: 1, flushMs: 50 },
    });
  });
  after(async () => {
    await dev?.close();
    await receiver?.close();
  });

  it('are spans of the request’s trace, nested as they ran, with what the worker set on them', async () => {
    const trace = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const res = await fetch(`${dev.url}/traced/path`, {
      headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as {
      sync: boolean;
      context: { traceId: string; spanId: string; traceFlags: number };
    };
    assert.equal(out.sync, true, 'span.isTraced');
    const spans = await receiver.trace(
      trace,
      (s) =>
        s.some((x) => x.name === 'load-profile') &&
        s.some((x) => x.name === 'left-open') &&
        s.some((x) => x.kind === 2),
    );
    const one = (name: string): ReceivedSpan => {
      const found = spans.filter((s) => s.name === name);
      assert.equal(found.length, 1, `${name}: ${spans.map((s) => s.name).join(', ')}`);
      return found[0];
    };
    // The worker's span (internal; the PoP's server span carries faas.name too).
    const worker = spans.find((s) => s.attributes['faas.name'] === 'custom-spans' && s.kind === 1);
    assert.ok(worker, 'the worker span');
    assert.equal(worker.name, 'GET /', 'renamed by getActiveSpan().updateName()');
    assert.equal(worker.attributes['user.id'], '42');
    const outer = one('outer');
    assert.equal(outer.parentSpanId, worker.spanId);
    assert.equal(outer.attributes['url.path'], '/traced/path');
    assert.equal(outer.attributes.n, 1);
    const inner = one('inner');
    assert.equal(inner.parentSpanId, outer.spanId, 'nested across awaits');
    assert.ok(inner.startNs >= outer.startNs && inner.endNs <= outer.endNs);
    // Platform calls nest under the custom span active where they were made, as in Workers.
    const kvInside = spans.find((s) => s.name === 'kv_get' && s.parentSpanId === inner.spanId);
    assert.ok(
      kvInside,
      `a kv_get under 'inner': ${spans.map((s) => `${s.name}<${s.parentSpanId}`).join(', ')}`,
    );
    assert.ok(
      spans.some((s) => s.name === 'cache_match' && s.parentSpanId === inner.spanId),
      "the Cache API's span under 'inner'",
    );
    const kvSpans = spans.filter((s) => s.name === 'kv_get');
    assert.equal(kvSpans.length, 2);
    assert.ok(
      kvSpans.some((s) => s.parentSpanId === worker.spanId),
      "the call made outside any custom span stays under the worker's span",
    );
    assert.equal(one('sync').parentSpanId, worker.spanId);
    assert.equal(one('stream').status.code, 1, 'setStatus ok');
    const loose = one('load-profile');
    assert.equal(loose.attributes['exception.type'], 'Error');
    assert.equal(loose.attributes['exception.message'], 'x');
    assert.deepEqual(out.context, { traceId: trace, spanId: loose.spanId, traceFlags: 1 });
    one('fails');
    assert.equal(one('left-open').attributes['outpost.span.unended'], true);
  });
});
