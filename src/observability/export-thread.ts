/**
 * The export thread: a worker thread that turns batches of kept spans into OTLP/HTTP protobuf
 * requests (@opentelemetry/exporter-trace-otlp-proto) and answers how each went. Started by
 * span-export.ts when a tracer is made.
 *
 * Why a thread: exporting from the main thread cost a traced PoP ~8% of its throughput at 1%
 * sampling, far more than its CPU time. The exporter's HTTP client runs through the same Node
 * internals as the PoP's server (streams, sockets, timers, the outgoing-message header code), and
 * its objects made those functions polymorphic in the request path's optimised code. Here the
 * serialisation and the client requests run on their own heap and their own code, and the
 * request path never sees them (docs/observability.md, "What it costs").
 *
 * Messages in: `{ id, spans: SpanData[] }` (export), `{ shutdown: true }`. Out: `{ id, ok, error? }`
 * per batch, `{ shutdown: true }` once the exporter has shut down.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { type ExportConfig, resourceAttributes, type SpanData, toReadable } from './otlp-span.ts';

const config = workerData as ExportConfig;
const port = parentPort;
if (!port) throw new Error('export-thread.ts runs as a worker thread (span-export.ts starts it)');

const exporter = new OTLPTraceExporter({
  url: config.endpoint,
  timeoutMillis: config.timeoutMs,
  headers: config.headers,
  concurrencyLimit: config.concurrencyLimit,
});
const resource = resourceFromAttributes(resourceAttributes(config.serviceName));

port.on('message', (m: { id: number; spans: SpanData[] } | { shutdown: true }) => {
  if ('shutdown' in m) {
    exporter.shutdown().then(
      () => port.postMessage({ shutdown: true }),
      () => port.postMessage({ shutdown: true }),
    );
    return;
  }
  try {
    exporter.export(
      m.spans.map((d) => toReadable(d, resource)),
      (result) =>
        port.postMessage({
          id: m.id,
          ok: result.code === ExportResultCode.SUCCESS,
          ...(result.code === ExportResultCode.SUCCESS
            ? {}
            : { error: result.error?.message ?? 'unknown error' }),
        }),
    );
  } catch (e) {
    port.postMessage({ id: m.id, ok: false, error: (e as Error).message });
  }
});
