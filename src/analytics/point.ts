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

/**
 * A blob or index as text, and its size in bytes, which counts toward the limits. Sizes are
 * measured without copying: a string of more UTF-16 units than `max` is over it whatever it
 * holds (every unit is at least one UTF-8 byte), and is refused before it is measured.
 */
function textOf(v: unknown, field: string, max: number): [string, number] | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return [v, v.length > max ? v.length : Buffer.byteLength(v, 'utf8')];
  let bytes: Uint8Array;
  if (v instanceof ArrayBuffer) bytes = new Uint8Array(v);
  else if (ArrayBuffer.isView(v)) bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  else throw new TypeError(`invalid Analytics Engine call: ${field} must be strings or ArrayBuffers`);
  return [bytes.byteLength > max ? '' : decoder.decode(bytes), bytes.byteLength];
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
    const t = textOf(indexes[0], 'indexes', AE_LIMITS.MAX_INDEX_BYTES);
    if (t && t[1] > AE_LIMITS.MAX_INDEX_BYTES) throw new TypeError(AE_ERRORS.indexTooBig);
    if (t) index1 = t[0];
  }
  const outBlobs: string[] = new Array(AE_LIMITS.MAX_BLOBS).fill('');
  let total = 0;
  for (let i = 0; i < blobs.length; i++) {
    const t = textOf(blobs[i], 'blobs', AE_LIMITS.MAX_BLOB_BYTES - total);
    if (!t) continue;
    total += t[1];
    if (total > AE_LIMITS.MAX_BLOB_BYTES) throw new TypeError(AE_ERRORS.blobsTooBig);
    outBlobs[i] = t[0];
  }
  const outDoubles: (number | null)[] = new Array(AE_LIMITS.MAX_DOUBLES).fill(0);
  for (let i = 0; i < doubles.length; i++) {
    const d = doubles[i];
    if (typeof d !== 'number') throw new TypeError('invalid Analytics Engine call: doubles must be numbers');
    outDoubles[i] = Number.isNaN(d) ? null : d;
  }
  return { index1, blobs: outBlobs, doubles: outDoubles };
}
