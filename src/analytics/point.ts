/**
 * The host's check of one data point from the isolate (untrusted: tenant code can call the
 * syscall with anything), with workerd's rules and texts (./limits.ts), and what is stored:
 * blobs and the index as text (bytes decoded as UTF-8, as the SQL API answers them as strings),
 * unset ones as '' and unset doubles as 0, which is what Cloudflare's columns hold for them.
 */
import { AE_ERRORS, AE_LIMITS } from './limits.ts';

/** One stored data point, without its dataset and time. */
export interface PointRow {
  index1: string;
  /** Always MAX_BLOBS long. */
  blobs: string[];
  /** Always MAX_DOUBLES long; NaN is kept as null (SQLite has no NaN). */
  doubles: (number | null)[];
}

const decoder = new TextDecoder();

function listOf(v: unknown, field: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new TypeError(
      `Incorrect type for the '${field}' field on 'AnalyticsEngineDataPoint': the provided value is not of type 'Array'.`,
    );
  return v;
}

/** A blob or index as bytes: its size counts toward the limits before it is decoded. */
function bytesOf(v: unknown, field: string): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`invalid Analytics Engine call: ${field} must be strings or ArrayBuffers`);
}

/** Check one untrusted data point; throws a TypeError with workerd's text. */
export function checkPoint(raw: unknown): PointRow {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new TypeError('invalid Analytics Engine call: a data point must be an object');
  const p = raw as Record<string, unknown>;
  // Lengths first: a sparse array of 2^32 entries is cheap to send and slow to walk.
  const indexes = listOf(p.indexes, 'indexes');
  if (indexes.length > AE_LIMITS.MAX_INDEXES) throw new TypeError(AE_ERRORS.tooManyIndexes);
  const blobs = listOf(p.blobs, 'blobs');
  if (blobs.length > AE_LIMITS.MAX_BLOBS) throw new TypeError(AE_ERRORS.tooManyBlobs);
  const doubles = listOf(p.doubles, 'doubles');
  if (doubles.length > AE_LIMITS.MAX_DOUBLES) throw new TypeError(AE_ERRORS.tooManyDoubles);

  let index1 = '';
  if (indexes.length === 1) {
    const b = bytesOf(indexes[0], 'indexes');
    if (b && b.byteLength > AE_LIMITS.MAX_INDEX_BYTES) throw new TypeError(AE_ERRORS.indexTooBig);
    if (b) index1 = decoder.decode(b);
  }
  const outBlobs: string[] = new Array(AE_LIMITS.MAX_BLOBS).fill('');
  let total = 0;
  for (let i = 0; i < blobs.length; i++) {
    const b = bytesOf(blobs[i], 'blobs');
    if (!b) continue;
    total += b.byteLength;
    if (total > AE_LIMITS.MAX_BLOB_BYTES) throw new TypeError(AE_ERRORS.blobsTooBig);
    outBlobs[i] = decoder.decode(b);
  }
  const outDoubles: (number | null)[] = new Array(AE_LIMITS.MAX_DOUBLES).fill(0);
  for (let i = 0; i < doubles.length; i++) {
    const d = doubles[i];
    if (typeof d !== 'number') throw new TypeError('invalid Analytics Engine call: doubles must be numbers');
    outDoubles[i] = Number.isNaN(d) ? null : d;
  }
  return { index1, blobs: outBlobs, doubles: outDoubles };
}
