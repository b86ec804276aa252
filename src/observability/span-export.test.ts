import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../../test/otlp/receiver.ts';
import type { ExportConfig, SpanData } from './otlp-span.ts';
import { ThreadSink } from './span-export.ts';
import { SpanKind } from './trace.ts';

const config = (endpoint: string, timeoutMs = 10_000): ExportConfig => ({
  endpoint,
  timeoutMs,
  headers: {},
  concurrencyLimit: 2,
  serviceName: 'span-export-test',
});

const span = (over: Partial<SpanData> = {}): SpanData => ({
  name: 'GET',
  kind: SpanKind.SERVER,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  sampled: true,
  tracestate: 'vendor=x',
  parentId: 'aaaaaaaaaaaaaaaa',
  parentRemote: true,
  startMs: 1_700_000_000_000.5,
  endMs: 1_700_000_000_012.25,
  error: null,
  ok: false,
  attrs: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'outpost.isolate.cold': true },
  bytes: 300,
  ...over,
});

const exported = (sink: ThreadSink, batch: SpanData[]) =>
  new Promise<{ ok: boolean; error?: string }>((resolve) =>
    sink.export(batch, (ok, error) => resolve({ ok, error })),
  );

describe('the export thread (ThreadSink)', () => {
  // The thread is unreferenced (it keeps no process alive): while a test waits for its answer
  // something else must keep this one's event loop going.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1000);
  });
  after(() => clearInterval(keepAlive));

  it('sends batches as OTLP/HTTP protobuf: names, ids, parents, times, status and attributes as given', async () => {
    const receiver = await startReceiver();
    const sink = new ThreadSink(config(receiver.url));
    try {
      assert.deepEqual(
        await exported(sink, [span(), span({ spanId: '1111111111111111', error: 'boom', name: 'kv' })]),
        {
          ok: true,
          error: undefined,
        },
      );
      assert.deepEqual(
        await exported(sink, [
          span({
            spanId: '2222222222222222',
            ok: true,
            sampled: false,
            tracestate: undefined,
            parentRemote: false,
          }),
        ]),
        {
          ok: true,
          error: undefined,
        },
      );
      const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
      const root = byId.get('00f067aa0ba902b7');
      assert.ok(root, 'the first span arrived');
      assert.equal(root.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(root.parentSpanId, 'aaaaaaaaaaaaaaaa');
      assert.equal(root.kind, 2); // OTLP SERVER
      assert.equal(root.startNs, 1_700_000_000_000_500_000n);
      assert.equal(root.endNs, 1_700_000_000_012_250_000n);
      assert.deepEqual(root.attributes, {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'outpost.isolate.cold': true,
      });
      assert.equal(root.resource['service.name'], 'span-export-test');
      assert.equal(root.traceState, 'vendor=x');
      // Sampled (bit 0), whether the parent is remote is known (bit 8), and it is (bit 9).
      assert.equal(root.flags, 0x301);
      assert.deepEqual(byId.get('1111111111111111')?.status, { code: 2, message: 'boom' });
      assert.equal(byId.get('2222222222222222')?.status.code, 1);
      assert.equal(byId.get('2222222222222222')?.traceState, '');
      assert.equal(byId.get('2222222222222222')?.flags, 0x100, 'not sampled, a local parent');
      assert.equal(root.status.code, 0);
    } finally {
      await sink.shutdown(2000);
      await receiver.close();
    }
  });

  it('a collector that refuses connections fails the batch with the reason', async () => {
    const closed: Server = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const sink = new ThreadSink(config(`http://127.0.0.1:${port}/v1/traces`, 2000));
    try {
      const r = await exported(sink, [span()]);
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', /ECONNREFUSED|connect/i);
    } finally {
      await sink.shutdown(2000);
    }
  });

  it('shutdown with a collector that never answers returns within its wait and stops the thread', async () => {
    const hung: Server = createServer(() => {});
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    try {
      const sink = new ThreadSink(
        config(`http://127.0.0.1:${(hung.address() as AddressInfo).port}/v1/traces`),
      );
      const pending = exported(sink, [span()]);
      await new Promise((r) => setTimeout(r, 300));
      const started = performance.now();
      await Promise.all([sink.shutdown(500), sink.shutdown(500)]);
      const ms = performance.now() - started;
      assert.ok(ms < 1500, `shutdown took ${ms.toFixed(0)} ms`);
      // The batch the thread had is failed, not left hanging, once the thread is gone.
      const r = await pending;
      assert.equal(r.ok, false);
      assert.deepEqual(await exported(sink, [span()]), { ok: false, error: 'the tracer is closed' });
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  it('a thread that dies fails its batches and is not started again at once', async () => {
    let starts = 0;
    const sink = new ThreadSink(config('http://127.0.0.1:1/v1/traces'), async () => {
      starts++;
      return { file: '', code: "throw new Error('broken at start')" };
    });
    try {
      const first = await exported(sink, [span()]);
      assert.equal(first.ok, false);
      assert.match(first.error ?? '', /the export thread stopped \(broken at start\)/);
      // Failed at once, without a new thread (it would die the same way).
      let sync: { ok: boolean; error?: string } | null = null;
      sink.export([span()], (ok, error) => {
        sync = { ok, error };
      });
      assert.deepEqual(sync, first);
      assert.equal(starts, 1);
    } finally {
      await sink.shutdown(500);
    }
  });

  it('a tracer nobody closed does not keep its process alive', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const code = `import { ThreadSink } from ${JSON.stringify(join(here, 'span-export.ts'))};
const sink = new ThreadSink({ endpoint: 'http://127.0.0.1:1/v1/traces', timeoutMs: 1000, headers: {}, concurrencyLimit: 2, serviceName: 't' });
sink.export([], (ok) => console.log('answered', ok));
setTimeout(() => {}, 2000); // the process's own work: once it is over, the thread must not hold it`;
    const started = performance.now();
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.match(out, /answered (true|false)/);
    const ms = performance.now() - started;
    assert.ok(ms < 20_000, `the process exited after ${ms.toFixed(0)} ms`);
  });
});
