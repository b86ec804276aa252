/**
 * A kept span as plain data (what the tracer queues and posts to the export thread: it survives
 * a structured clone), and its OpenTelemetry form (ReadableSpan), which the OTLP exporter takes.
 * Both the export thread (span-export.ts) and a test's in-process exporter convert with
 * `toReadable`, so what a collector receives does not depend on where the export ran.
 */

import { type HrTime, type SpanContext, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Attrs, SpanKind } from './trace.ts';

export interface SpanData {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  /** The trace's head decision (the sampled flag of its context). */
  sampled: boolean;
  /** The trace's `tracestate` (cleaned), if any. */
  tracestate: string | undefined;
  /** The parent span's id; null for a root that starts its trace here. */
  parentId: string | null;
  /** The parent is the incoming `traceparent`'s span (another process's). */
  parentRemote: boolean;
  /** Epoch ms. */
  startMs: number;
  endMs: number;
  /** The status: set by the platform's error, else the worker's failure; `ok`: marked succeeded. */
  error: string | null;
  ok: boolean;
  attrs: Attrs;
  /** Its estimated size (tracer.ts bounds its queue and batches by it). */
  bytes: number;
}

/** Where the export thread's exporter sends, and what it says about itself. */
export interface ExportConfig {
  endpoint: string;
  timeoutMs: number;
  headers: Record<string, string>;
  concurrencyLimit: number;
  serviceName: string;
}

/** The OpenTelemetry form of a span, under `resource`. */
export function toReadable(d: SpanData, resource: Resource): ReadableSpan {
  const flags = d.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE;
  const state = d.tracestate ? { traceState: new TraceState(d.tracestate) } : {};
  const context: SpanContext = { traceId: d.traceId, spanId: d.spanId, traceFlags: flags, ...state };
  const parent: SpanContext | undefined = d.parentId
    ? { traceId: d.traceId, spanId: d.parentId, traceFlags: flags, isRemote: d.parentRemote }
    : undefined;
  return {
    name: d.name,
    kind: d.kind,
    spanContext: () => context,
    ...(parent ? { parentSpanContext: parent } : {}),
    startTime: hr(d.startMs),
    endTime: hr(d.endMs),
    duration: hr(Math.max(0, d.endMs - d.startMs)),
    status:
      d.error !== null
        ? { code: SpanStatusCode.ERROR, message: d.error }
        : { code: d.ok ? SpanStatusCode.OK : SpanStatusCode.UNSET },
    attributes: d.attrs,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: { name: 'outpost' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** The resource attributes every exported span carries. */
export function resourceAttributes(serviceName: string): Attrs {
  return { 'service.name': serviceName, 'telemetry.sdk.name': 'outpost' };
}

/** Epoch (or duration) milliseconds as OpenTelemetry's [seconds, nanoseconds]. */
function hr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.min(999_999_999, Math.round((ms - s * 1000) * 1e6))];
}
