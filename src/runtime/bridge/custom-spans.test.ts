import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type OpenSpan, RequestTrace, SpanKind } from '../../observability/index.ts';
import type { HopRecorder } from '../types.ts';
import { CustomSpans, cleanAttrs, type SpanOwner, spanName } from './custom-spans.ts';

describe('custom spans: what crosses from the isolate', () => {
  it('keeps strings (cut), finite numbers, booleans and short arrays (as JSON); drops the rest', () => {
    assert.deepEqual(
      cleanAttrs({
        s: 'x'.repeat(5000),
        n: 1.5,
        b: false,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        obj: { a: 1 },
        arr: ['a', 1, true],
        mixed: ['a', { b: 1 }],
        '': 'empty key',
      }),
      { s: 'x'.repeat(4096), n: 1.5, b: false, arr: '["a",1,true]' },
    );
    for (const v of [null, undefined, 'str', 5, []]) assert.deepEqual(cleanAttrs(v), {});
  });

  it("cuts a span's name to its first 64 bytes of UTF-8 without splitting a character, as workerd does", () => {
    assert.equal(spanName('load'), 'load');
    assert.equal(spanName('x'.repeat(64)), 'x'.repeat(64));
    assert.equal(spanName('x'.repeat(65)), 'x'.repeat(64));
    assert.equal(spanName('é'.repeat(40)), 'é'.repeat(32)); // 2 bytes each
    assert.equal(spanName(`${'x'.repeat(62)}€`), 'x'.repeat(62)); // € is 3 bytes: 65 in all
    assert.equal(spanName(`${'x'.repeat(60)}😀😀`), `${'x'.repeat(60)}😀`); // 4 bytes, one surrogate pair
    assert.equal(spanName('日本語'.repeat(30)).length, 21); // 63 bytes
    for (const v of ['', 5, null, undefined, {}]) assert.equal(spanName(v), 'span');
    for (const v of ['ab€😀'.repeat(50), '\ud800'.repeat(100)])
      assert.ok(new TextEncoder().encode(spanName(v)).length <= 64);
  });

  it('keeps at most 64 attributes and stops looking after a bound, however large the object', () => {
    const big: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) big[`k${i}`] = i;
    assert.equal(Object.keys(cleanAttrs(big)).length, 64);
    const junk: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) junk[`j${i}`] = { no: i };
    junk.late = 'never reached';
    assert.deepEqual(cleanAttrs(junk), {});
  });
});

describe('custom spans: each belongs to its invocation', () => {
  /** Two invocations (1 and 2) of one isolate, each with its trace and worker span. */
  function setup() {
    const traces = new Map([1, 2].map((ctx) => [ctx, new RequestTrace(null, undefined, 0xffffffff)]));
    const roots = new Map([...traces].map(([ctx, t]) => [ctx, t.start('outpost.worker', SpanKind.INTERNAL)]));
    const owner: SpanOwner = {
      hops: (ctx) => ({ trace: roots.get(ctx as number)?.scope }) as unknown as HopRecorder,
      invocationSpan: (ctx) => roots.get(ctx as number) ?? null,
    };
    return { spans: new CustomSpans(() => owner), traces, roots };
  }

  it('another invocation cannot end, read or start under a span it did not start', () => {
    const { spans, traces } = setup();
    const a = spans.start(1, 'a', 0);
    assert.ok(a > 0);
    spans.end(2, a, { x: 1 }, null, null);
    assert.equal(traces.get(1)?.spans.find((s) => s.name === 'a')?.endMs, 0, 'still open');
    assert.equal(spans.context(2, a), null);
    assert.equal(spans.start(2, 'child', a), 0);
    assert.ok(spans.context(1, a));
    spans.end(1, a, { x: 1 }, ['ok', ''], 'renamed');
    const done = traces.get(1)?.spans.find((s) => s.name === 'renamed');
    assert.ok(done && done.endMs > 0 && done.attrs.x === 1 && done.ok === true);
    assert.ok(spans.context(1, a), 'its context is still there after end()');
    assert.equal(spans.context(2, a), null);
  });

  it("a call's scope is the open span of its own invocation only (not another's, not an ended one, not a forged id)", () => {
    const { spans } = setup();
    const a = spans.start(1, 'a', 0);
    assert.ok(spans.scopeOf(1, a)?.recording, 'its own open span');
    assert.equal(spans.scopeOf(2, a), null, "another invocation's span");
    assert.equal(spans.scopeOf(1, a + 1000), null, 'an id never given');
    spans.end(1, a, {}, null, null);
    assert.equal(spans.scopeOf(1, a), null, 'ended: the call goes under the worker span');
  });

  it('spans an invocation leaves open end with it, marked; at most 256 open per invocation', () => {
    const { spans, traces } = setup();
    const ids = Array.from({ length: 300 }, (_, i) => spans.start(1, `s${i}`, 0));
    assert.equal(ids.filter((id) => id > 0).length, 256);
    spans.release(1);
    const recorded = (traces.get(1)?.spans ?? []).filter((s) => s.name.startsWith('s'));
    // The trace itself keeps 256 spans, its root (the server span) and the worker's among them.
    assert.equal(recorded.length, 254);
    assert.ok(recorded.every((s) => s.endMs > 0 && s.attrs['outpost.span.unended'] === true));
  });

  it("the worker's own span: 64 attributes in all, never the platform's names; the platform's error wins", () => {
    const { spans, roots } = setup();
    for (let i = 0; i < 10; i++) {
      const attrs: Record<string, number> = {};
      for (let j = 0; j < 10; j++) attrs[`k${i}_${j}`] = j;
      assert.equal(spans.root(1, attrs, null, null), true);
    }
    spans.root(
      1,
      { 'faas.name': 'evil', 'outpost.pop': 'X', 'cloudflare.ray_id': 'r' },
      ['error', 'mine'],
      null,
    );
    const root = roots.get(1) as unknown as {
      attrs: Record<string, unknown>;
      failed: string | null;
      error: string | null;
    };
    assert.equal(Object.keys(root.attrs).length, 64);
    assert.equal(root.attrs['faas.name'], undefined);
    assert.equal(root.failed, 'mine');
    (roots.get(1) as OpenSpan).end(undefined, 'Worker exceeded CPU time limit.');
    assert.equal(root.error, 'Worker exceeded CPU time limit.');
  });
});
