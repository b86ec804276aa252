/**
 * Workers Analytics Engine bindings (https://developers.cloudflare.com/analytics/analytics-engine/):
 * `env.NAME.writeDataPoint({ blobs, doubles, indexes })` returns undefined at once, as on
 * Cloudflare; the data point is checked here first, with workerd's conversions and errors
 * (src/workerd/api/analytics-engine-impl.h): blobs and indexes are strings, ArrayBuffers (or
 * views) or null, anything else through String(); doubles through Number(); at most 20 blobs
 * of 16,000 bytes together, 20 doubles, one index of 96 bytes; 250 calls per invocation, the
 * 251st throwing "Analytics Engine write limit exceeded." (a call counts even when its data
 * point is then refused, as in workerd).
 *
 * The data points written in one turn by one invocation cross to the host together, in a
 * microtask (../../bindings/protocol.ts), so a handler that writes and returns at once has its
 * points on the host before its response; the host checks them again and buffers them.
 */
import type { DataPointData } from '../../bindings/protocol.ts';
import { callBinding } from '../bridge.ts';
import { currentId, enter, frameFor, resolvedIntrinsic, thenIntrinsic } from '../context.ts';

/** As src/analytics/limits.ts (checked again on the host). */
const MAX_BLOBS = 20;
const MAX_DOUBLES = 20;
const MAX_INDEX_BYTES = 96;
const MAX_BLOB_BYTES = 16_000;
const MAX_POINTS = 250;
const PREFIX = 'writeDataPoint(): ';

/** Invocations whose calls are counted at once (ids only grow: the oldest go first). */
const MAX_COUNTED = 1024;
const counts = new Map<number, number>();

/** binding → invocation id → data points not sent yet. */
const pending = new Map<string, Map<number, DataPointData[]>>();
let scheduled = false;

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function fieldError(field: string): TypeError {
  return new TypeError(
    `Incorrect type for the '${field}' field on 'AnalyticsEngineDataPoint': the provided value is not of type 'Array'.`,
  );
}

function listOf(point: Record<string, unknown>, field: string): unknown[] | null {
  const v = point[field];
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw fieldError(field);
  return v;
}

/** A blob or index as it crosses: a string, a copy of its bytes, or null; and its size. */
function bytesOf(v: unknown): [string | ArrayBuffer | null, number] {
  if (v === null || v === undefined) return [null, 0];
  if (v instanceof ArrayBuffer) return [v.slice(0), v.byteLength];
  if (ArrayBuffer.isView(v)) {
    const copy = (v.buffer as ArrayBuffer).slice(v.byteOffset, v.byteOffset + v.byteLength);
    return [copy, copy.byteLength];
  }
  const s = typeof v === 'string' ? v : `${v}`;
  return [s, utf8Length(s)];
}

/** The data point as workerd reads it, or a TypeError with its text. */
function convert(event: unknown): DataPointData {
  const out: DataPointData = { indexes: [], blobs: [], doubles: [] };
  if (event === undefined) return out;
  if (event === null || typeof event !== 'object' || Array.isArray(event))
    throw new TypeError(
      "Failed to execute 'writeDataPoint' on 'AnalyticsEngineDataset': parameter 1 is not of type 'AnalyticsEngineDataPoint'.",
    );
  const p = event as Record<string, unknown>;
  const indexes = listOf(p, 'indexes');
  const doubles = listOf(p, 'doubles');
  const blobs = listOf(p, 'blobs');
  if (indexes) {
    if (indexes.length > 1) throw new TypeError(`${PREFIX}Maximum of 1 indexes supported.`);
    if (indexes.length === 1) {
      const [v, size] = bytesOf(indexes[0]);
      if (size > MAX_INDEX_BYTES)
        throw new TypeError(`${PREFIX}Size of indexes[0] exceeds ${MAX_INDEX_BYTES} bytes).`);
      out.indexes.push(v);
    }
  }
  if (blobs) {
    if (blobs.length > MAX_BLOBS) throw new TypeError(`${PREFIX}Maximum of ${MAX_BLOBS} blobs supported.`);
    let total = 0;
    for (let i = 0; i < blobs.length; i++) {
      const [v, size] = bytesOf(blobs[i]);
      total += size;
      if (total > MAX_BLOB_BYTES)
        throw new TypeError(`${PREFIX}Cumulative size of blobs exceeds ${MAX_BLOB_BYTES} bytes).`);
      out.blobs.push(v);
    }
  }
  if (doubles) {
    if (doubles.length > MAX_DOUBLES)
      throw new TypeError(`${PREFIX}Maximum of ${MAX_DOUBLES} doubles supported.`);
    for (let i = 0; i < doubles.length; i++) out.doubles.push(+(doubles[i] as number));
  }
  return out;
}

/** Send what this turn wrote: one call per binding and invocation, in that invocation. */
function send(): void {
  scheduled = false;
  const all = [...pending];
  pending.clear();
  for (const [binding, byId] of all)
    for (const [id, points] of byId)
      enter(frameFor(id), () => {
        // Fire-and-forget: a refusal (the invocation ended) has no one to tell.
        thenIntrinsic(callBinding('analytics_engine', binding, 'write', points), undefined, () => {});
      });
}

export class AnalyticsEngineDataset {
  readonly #binding: string;

  constructor(binding: string) {
    this.#binding = binding;
  }

  writeDataPoint(event?: unknown): void {
    const id = currentId();
    if (id === 0)
      throw new Error(
        'Analytics Engine writes are only possible while handling a request, not at the top level of the module.',
      );
    const used = (counts.get(id) ?? 0) + 1;
    counts.set(id, used);
    if (counts.size > MAX_COUNTED) counts.delete(counts.keys().next().value as number);
    if (used > MAX_POINTS) throw new Error('Analytics Engine write limit exceeded.');
    const point = convert(event);
    let byId = pending.get(this.#binding);
    if (!byId) {
      byId = new Map();
      pending.set(this.#binding, byId);
    }
    const list = byId.get(id);
    if (list) list.push(point);
    else byId.set(id, [point]);
    if (!scheduled) {
      scheduled = true;
      thenIntrinsic(resolvedIntrinsic(), send);
    }
  }

  get [Symbol.toStringTag](): string {
    return 'AnalyticsEngineDataset';
  }
}
