// Attacks on custom spans (src/runtime/isolate/tracing.ts → src/runtime/bridge/custom-spans.ts):
// a request reaching another request's span through a forged id or a shared object, attributes
// and names far past the bounds, thousands of spans never ended. The trace of each request is
// decoded from OTLP: nothing of the attacker lands in the victim's trace, the host stays up.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startFixture, type TestDev } from '../helpers.ts';
import { type Receiver, startReceiver } from '../otlp/receiver.ts';

let dev: TestDev;
let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
  dev = await startFixture('spans-attack', {
    tracing: { endpoint: receiver.url, sampleRatio: 1, flushMs: 50 },
  });
});
after(async () => {
  await dev?.close();
  await receiver?.close();
});

const VICTIM = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const ATTACKER = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
const tp = (trace: string) => ({ traceparent: `00-${trace}-00f067aa0ba902b7-01` });

it("another request cannot end, rename, annotate or read a request's span", async () => {
  const victim = fetch(`${dev.url}/hold?ms=500`, { headers: tp(VICTIM) });
  await new Promise((r) => setTimeout(r, 100));
  const res = await fetch(`${dev.url}/forge`, { headers: tp(ATTACKER) });
  const out = (await res.json()) as { contexts: string[]; heldContext?: string };
  assert.ok(
    out.contexts.every((c) => c === '0000000000000000'),
    'no forged id reads a span',
  );
  assert.equal(out.heldContext, '0000000000000000', "the victim's span object is not the attacker's to read");
  assert.deepEqual(await (await victim).json(), { traced: true });
  const spans = await receiver.trace(
    VICTIM,
    (s) => s.some((x) => x.name === 'victim') && s.some((x) => x.kind === 2),
  );
  const v = spans.find((s) => s.name === 'victim');
  assert.ok(v, spans.map((s) => s.name).join(', '));
  assert.equal(v.attributes['victim.after'], 'yes', 'it was still open for its own request');
  assert.equal(v.attributes.forged, undefined);
  // (A span object the worker itself shares between its requests is its own to annotate: it
  // ends with what any of them set, as it would on Workers. Only the host's ids are fenced.)
  assert.equal(v.status.code, 0);
  assert.ok(spans.every((s) => s.name !== 'hijacked'));
});

it("a request's platform calls never nest under another request's custom span", async () => {
  const victimTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa04';
  const attackerTrace = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb05';
  const victim = fetch(`${dev.url}/hold?ms=500`, { headers: tp(victimTrace) });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await (await fetch(`${dev.url}/nest`, { headers: tp(attackerTrace) })).text(), 'done');
  await (await victim).text();
  const theirs = await receiver.trace(
    attackerTrace,
    (s) => s.filter((x) => x.name === 'kv_get').length === 65 && s.some((x) => x.kind === 2),
  );
  const attacker = theirs.find((s) => s.name === 'attacker');
  assert.ok(attacker);
  const kv = theirs.filter((s) => s.name === 'kv_get');
  assert.equal(kv.filter((s) => s.parentSpanId === attacker.spanId).length, 1);
  const agains = new Set(theirs.filter((s) => s.name === 'again').map((s) => s.spanId));
  assert.equal(
    kv.filter((s) => agains.has(s.parentSpanId)).length,
    64,
    'each under its own request’s span, whatever span object was touched',
  );
  const ours = await receiver.trace(victimTrace, (s) => s.some((x) => x.name === 'victim'));
  assert.ok(
    ours.every((s) => s.name !== 'kv_get' && s.attributes.forged === undefined),
    'nothing of the other request lands in the victim’s trace',
  );
});

it('attributes, names and open spans far past the bounds: cut, the host up, the trace bounded', async () => {
  const trace = 'cccccccccccccccccccccccccccccc03';
  const res = await fetch(`${dev.url}/huge`, { headers: tp(trace) });
  assert.equal(await res.text(), 'survived');
  const spans = await receiver.trace(
    trace,
    (s) => s.some((x) => x.kind === 2) && s.some((x) => x.name.startsWith('leak')),
  );
  assert.ok(spans.length <= 256, `${spans.length} spans`);
  const wide = spans.find(
    (s) =>
      s.attributes['outpost.span.unended'] === undefined &&
      s.attributes['faas.name'] === undefined &&
      s.name.startsWith('x'),
  );
  assert.ok(wide, 'the renamed span');
  assert.ok(new TextEncoder().encode(wide.name).length <= 64, 'names are cut to 64 bytes');
  assert.ok(Object.keys(wide.attributes).length <= 64);
  assert.ok(Object.values(wide.attributes).every((v) => typeof v !== 'string' || v.length <= 4096));
  assert.ok(wide.status.message.length <= 4096);
  const worker = spans.find((s) => s.kind === 1 && s.attributes['faas.name'] === 'spans-attack');
  assert.ok(worker && Object.keys(worker.attributes).length <= 64 + 8);
  // Spans never ended are closed with the request, marked.
  assert.ok(
    spans
      .filter((s) => s.name.startsWith('leak'))
      .every((s) => s.attributes['outpost.span.unended'] === true),
  );
  // And the host still serves.
  assert.equal((await fetch(`${dev.url}/nothing`)).status, 404);
});

it('traces of the largest spans a worker may make: the export queue stays bounded in bytes, the export thread keeps exporting', async () => {
  const tracer = dev.tracer;
  assert.ok(tracer);
  const dropped = tracer.stats.dropped;
  for (let i = 0; i < 3; i++) {
    const trace = `dddddddddddddddddddddddddddddd${String(i).padStart(2, '0')}`;
    const res = await fetch(`${dev.url}/widest`, { headers: tp(trace) });
    assert.equal(await res.text(), 'exported?');
  }
  // ~420 MB of spans as the bounds count them: most were dropped (counted), not queued.
  assert.ok(tracer.stats.dropped > dropped, 'spans past the queue bound were dropped');
  // The bound is in bytes (spans as the tracer sizes them: a widest one ~557 KB, most far smaller).
  assert.ok(tracer.queuedBytes <= 32 * 1024 * 1024, `${tracer.queuedBytes} bytes queued`);
  // The export thread is still up: a later request's trace arrives.
  const after = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeee01';
  assert.equal((await fetch(`${dev.url}/nothing`, { headers: tp(after) })).status, 404);
  const spans = await receiver.trace(after, (s) => s.some((x) => x.kind === 2), 15_000);
  assert.ok(spans.length >= 1);
});
