// Custom spans (`tracing` from cloudflare:workers, `ctx.tracing`): a worker written for the API
// runs unchanged — callbacks called with their arguments, results and errors passed through,
// the active span following async context — and its spans are non-recording (Outpost does not
// record custom spans yet: src/runtime/isolate/tracing.ts).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';

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
  assert.equal(out.sync, false, 'a synchronous callback’s result is returned as it is; spans are not traced');
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
