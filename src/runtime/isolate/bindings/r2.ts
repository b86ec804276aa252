/**
 * R2 bucket bindings (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/):
 * R2Bucket with head, get (ranges, onlyIf), put (onlyIf, metadata, checksums), delete, list
 * (prefix, delimiter, cursor, include) and multipart uploads (R2MultipartUpload). Each call
 * crosses to the host as plain data (../../bindings/protocol.ts) and runs on src/r2/; R2's
 * failures come back as Workers throws them, `Error: put: <message> (<code>)`.
 */
import type { R2ObjectData } from '../../bindings/protocol.ts';
import { callBinding } from '../bridge.ts';
import { R2Object, R2ObjectBody } from './r2-object.ts';
import {
  checkPartNumber,
  getOptionsData,
  listOptionsData,
  multipartOptionsData,
  noSsecOptions,
  putOptionsData,
  valueBytes,
} from './r2-options.ts';

const kBinding = Symbol('r2 binding');

function keyOf(key: unknown): string {
  return String(key);
}

export class R2Bucket {
  readonly [kBinding]: string;

  constructor(binding: string) {
    this[kBinding] = binding;
  }

  async head(key: unknown): Promise<R2Object | null> {
    const d = await callBinding('r2', this[kBinding], 'head', keyOf(key));
    return d && new R2Object(d);
  }

  /** The object with its body; without one when `onlyIf` did not hold; null when there is none. */
  async get(key: unknown, options?: unknown): Promise<R2ObjectBody | R2Object | null> {
    const r = await callBinding('r2', this[kBinding], 'get', keyOf(key), getOptionsData(options));
    if (!r) return null;
    return r.body === null ? new R2Object(r.object) : new R2ObjectBody(r.object, r.body);
  }

  /** Store `value`; null when `onlyIf` did not hold (nothing was stored). */
  async put(key: unknown, value: unknown, options?: unknown): Promise<R2Object | null> {
    const k = keyOf(key);
    const data = putOptionsData(options);
    const bytes = await valueBytes(value, 'put');
    const d = await callBinding('r2', this[kBinding], 'put', k, bytes, data);
    return d && new R2Object(d);
  }

  async delete(keys: unknown): Promise<void> {
    await callBinding('r2', this[kBinding], 'delete', Array.isArray(keys) ? keysOf(keys) : keyOf(keys));
  }

  async list(options?: unknown): Promise<{
    objects: R2Object[];
    delimitedPrefixes: string[];
    truncated: boolean;
    cursor?: string;
  }> {
    const r = await callBinding('r2', this[kBinding], 'list', listOptionsData(options));
    return {
      objects: r.objects.map((d: R2ObjectData) => new R2Object(d)),
      delimitedPrefixes: r.delimitedPrefixes,
      truncated: r.truncated,
      ...(r.truncated && r.cursor !== undefined ? { cursor: r.cursor } : {}),
    };
  }

  async createMultipartUpload(key: unknown, options?: unknown): Promise<R2MultipartUpload> {
    const k = keyOf(key);
    const uploadId = await callBinding(
      'r2',
      this[kBinding],
      'createMultipartUpload',
      k,
      multipartOptionsData(options),
    );
    return new R2MultipartUpload(this, k, uploadId);
  }

  /** An upload started earlier (its id kept by the worker); nothing is checked until it is used. */
  resumeMultipartUpload(key: unknown, uploadId: unknown): R2MultipartUpload {
    return new R2MultipartUpload(this, keyOf(key), String(uploadId));
  }
}

export class R2MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly #bucket: R2Bucket;

  constructor(bucket: R2Bucket, key: string, uploadId: string) {
    this.#bucket = bucket;
    this.key = key;
    this.uploadId = uploadId;
  }

  async uploadPart(
    partNumber: unknown,
    value: unknown,
    options?: unknown,
  ): Promise<{ partNumber: number; etag: string }> {
    const n = Number(partNumber);
    checkPartNumber(n);
    noSsecOptions(options, 'uploadPart()');
    const bytes = await valueBytes(value, 'uploadPart');
    return callBinding('r2', this.#bucket[kBinding], 'uploadPart', this.key, this.uploadId, n, bytes);
  }

  async abort(): Promise<void> {
    await callBinding('r2', this.#bucket[kBinding], 'abortMultipartUpload', this.key, this.uploadId);
  }

  async complete(uploadedParts: unknown): Promise<R2Object> {
    if (!Array.isArray(uploadedParts))
      throw new TypeError(
        "Failed to execute 'complete' on 'R2MultipartUpload': parameter 1 is not of type 'Array'.",
      );
    if (uploadedParts.length > 10_000) throw new RangeError('complete() takes at most 10,000 parts');
    const parts = Array.from({ length: uploadedParts.length }, (_, i) => uploadedParts[i]).map((p) => {
      if (p === null || typeof p !== 'object')
        throw new TypeError('complete() takes the parts uploadPart() answered');
      const { partNumber, etag } = p as { partNumber?: unknown; etag?: unknown };
      const n = Number(partNumber);
      checkPartNumber(n);
      return { partNumber: n, etag: String(etag) };
    });
    return new R2Object(
      await callBinding(
        'r2',
        this.#bucket[kBinding],
        'completeMultipartUpload',
        this.key,
        this.uploadId,
        parts,
      ),
    );
  }
}

/**
 * delete()'s list of keys, read with a plain loop over a checked length: the array is the
 * worker's, and so are its methods (a replaced map could hand the host a 2^32-long array).
 */
function keysOf(list: unknown[]): string[] {
  const n = list.length;
  if (n > 1000) throw new RangeError('delete() takes at most 1000 keys');
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(keyOf(list[i]));
  return out;
}
