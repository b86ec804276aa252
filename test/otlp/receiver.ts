/**
 * A real OTLP/HTTP trace receiver for tests: it decodes each export request with the
 * OpenTelemetry protobuf definitions (the `ExportTraceServiceRequest` message as generated from
 * opentelemetry-proto, via @opentelemetry/otlp-transformer@0.212's protobufjs root) and keeps
 * the spans, ids as hex.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);
const root = require('otlp-proto-decode/build/src/generated/root.js');
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

export type AttrValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a span without a parent. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, AttrValue>;
  /** The span's `tracestate` ('' when none). */
  traceState: string;
  /** OTLP's span flags: the W3C trace flags (bit 0: sampled), bit 8 "is remote known", bit 9 the parent is remote. */
  flags: number;
}

export interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  requests: number;
  /** Spans of one trace, waiting until `until` holds of them (or failing after `ms`). */
  trace(traceId: string, until: (spans: ReceivedSpan[]) => boolean, ms?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

function value(v: any): AttrValue {
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  return JSON.stringify(v);
}

function attrs(list: any[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = value(kv.value ?? {});
  return out;
}

/** `behave` may delay or fail requests (a slow or broken collector). */
export async function startReceiver(
  behave?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const state = { requests: 0 };
  const server: Server = createServer(async (req, res) => {
    state.requests++;
    if (behave?.(req, res)) return;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
      res.writeHead(400).end();
      return;
    }
    const msg = ExportTraceServiceRequest.decode(Buffer.concat(chunks));
    for (const rs of msg.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          spans.push({
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            name: s.name,
            kind: s.kind,
            startNs: BigInt(s.startTimeUnixNano.toString()),
            endNs: BigInt(s.endTimeUnixNano.toString()),
            attributes: attrs(s.attributes),
            status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
            resource,
            traceState: s.traceState ?? '',
            flags: s.flags ?? 0,
          });
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end(ExportTraceServiceResponse.encode({}).finish());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return {
    url,
    spans,
    get requests() {
      return state.requests;
    },
    async trace(traceId, until, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const mine = spans.filter((s) => s.traceId === traceId);
        if (until(mine)) return mine;
        if (Date.now() > deadline)
          throw new Error(
            `trace ${traceId}: ${mine.length} spans after ${ms} ms: ${mine.map((s) => s.name).join(', ')}`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
