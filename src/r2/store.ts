/**
 * R2 buckets on one machine: every bucket of a folder (`.outpost/r2/` in dev) in one SQLite
 * index (./index-db.ts) with the bodies as files beside it (./files.ts). Buckets are named by
 * id (the runtime's binding chooses it per account); a bucket exists once something is put in
 * it. The operations are the Workers API's (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/)
 * with R2's limits, conditions and error texts (./limits.ts); multipart uploads are in
 * ./multipart.ts.
 *
 * A put() is crash-safe: the body is written and fsynced to a file of its own first, then its
 * index row commits (replacing the old object's row, whose files are then removed).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionHolds, resolveRange } from './conditions.ts';
import { BodyFiles, type Piece } from './files.ts';
import { metaOf, newVersion, type ObjectRow, R2Index, type Segment, segmentsOf } from './index-db.ts';
import { R2_LIMITS, r2Errors } from './limits.ts';
import { MultipartUploads } from './multipart.ts';
import type {
  R2GetOptions,
  R2GetResult,
  R2ListOptions,
  R2ListResult,
  R2MultipartOptions,
  R2ObjectMeta,
  R2PutOptions,
  R2UploadedPart,
} from './types.ts';
import {
  checkChecksums,
  checkCustomMetadata,
  checkHttpMetadata,
  digest,
  keyBytes,
  storageClass,
} from './validate.ts';

/**
 * A bucket id: what the runtime names it (`<tenant>:<binding>`, `<account>/<bucket>`). Only a
 * column's value, never part of a path, so any printable text will do.
 */
const BUCKET_ID = /^[^\x00-\x1f\x7f]{1,600}$/;

export interface R2BucketsOptions {
  /** Smallest part of a multipart upload but the last (default R2's 5 MiB; tests use less). */
  minPartBytes?: number;
  /** Files no index row names are removed at open once this old (default 1 hour). */
  orphanGraceMs?: number;
}

/** The smallest key greater than every key starting with `prefix` (UTF-8 never holds 0xFF). */
function afterPrefix(prefix: Buffer): Buffer {
  const out = Buffer.from(prefix);
  out[out.length - 1]++;
  return out;
}

/** The smallest key greater than `key`. */
const justAfter = (key: Buffer) => Buffer.concat([key, Buffer.from([0])]);

const maxKey = (a: Buffer, b: Buffer) => (Buffer.compare(a, b) >= 0 ? a : b);

interface Open {
  index: R2Index;
  files: BodyFiles;
  multipart: MultipartUploads;
}

export class R2Buckets {
  readonly #dir: string | null;
  readonly #minPartBytes: number;
  readonly #orphanGraceMs: number;
  #madeDir: string | null = null;
  #open: Open | null = null;
  #closed = false;

  /**
   * `dir` null: a temporary folder (tests, a runtime given none). Nothing is made on disk until
   * the first operation, so a project without R2 bindings gets no index.
   */
  constructor(dir: string | null, options: R2BucketsOptions = {}) {
    this.#dir = dir;
    this.#minPartBytes = options.minPartBytes ?? R2_LIMITS.MIN_PART_BYTES;
    if (!Number.isInteger(this.#minPartBytes) || this.#minPartBytes < 1)
      throw new RangeError(
        `R2Buckets minPartBytes must be a positive integer, received ${this.#minPartBytes}`,
      );
    this.#orphanGraceMs = options.orphanGraceMs ?? 3600_000;
  }

  get dir(): string {
    this.#madeDir ??= this.#dir ?? mkdtempSync(join(tmpdir(), 'outpost-r2-'));
    return this.#madeDir;
  }

  /** The index and files, opened on first use: uploads past their lifetime go, orphan files are swept. */
  #use(): Open {
    if (this.#closed) throw new Error('these R2 buckets are closed');
    if (this.#open) return this.#open;
    mkdirSync(this.dir, { recursive: true });
    const index = new R2Index(join(this.dir, 'index.sqlite'));
    const files = new BodyFiles(join(this.dir, 'bodies'));
    const multipart = new MultipartUploads(index, files, this.#minPartBytes);
    multipart.expire();
    files.sweep(index.knownFiles(), this.#orphanGraceMs);
    this.#open = { index, files, multipart };
    return this.#open;
  }

  #row(bucket: string, key: string): ObjectRow | undefined {
    return this.#use().index.object(bucketId(bucket), keyBytes(key));
  }

  async head(bucket: string, key: string): Promise<R2ObjectMeta | null> {
    const row = this.#row(bucket, key);
    return row ? { ...metaOf(row), range: { offset: 0, length: row.size } } : null;
  }

  /**
   * The object and a reader of its body (or of the range asked for); null when there is none.
   * When `onlyIf` does not hold, the object without a body, as R2 answers.
   */
  async get(bucket: string, key: string, options: R2GetOptions = {}): Promise<R2GetResult | null> {
    const row = this.#row(bucket, key);
    if (!row) return null;
    const whole = { offset: 0, length: row.size };
    if (options.onlyIf && !conditionHolds(options.onlyIf, row))
      return { object: { ...metaOf(row), range: whole }, body: null };
    const range = resolveRange(options.range, row.size) ?? whole;
    // Open now, before a concurrent overwrite can remove the files.
    const body = this.#use().files.reader(pieces(segmentsOf(row), range.offset, range.length));
    return { object: { ...metaOf(row), range }, body };
  }

  /** Store an object; null when `onlyIf` does not hold for what is there (nothing changes). */
  async put(
    bucket: string,
    key: string,
    body: Uint8Array,
    options: R2PutOptions = {},
  ): Promise<R2ObjectMeta | null> {
    const { index, files: bodies } = this.#use();
    const id = bucketId(bucket);
    const k = keyBytes(key);
    if (body.byteLength > R2_LIMITS.MAX_UPLOAD_BYTES)
      throw r2Errors.entityTooLarge(
        `${body.byteLength} bytes; one put() takes at most ${R2_LIMITS.MAX_UPLOAD_BYTES}, larger objects need a multipart upload`,
      );
    checkCustomMetadata(options.customMetadata);
    checkHttpMetadata(options.httpMetadata);
    checkChecksums(options.checksums);
    const sc = storageClass(options.storageClass);
    const checksums = digest(body, options.checksums);
    // Checked again under the write lock; this spares writing a body that cannot be stored.
    if (options.onlyIf && !conditionHolds(options.onlyIf, index.object(id, k))) return null;
    const files: Segment[] = body.byteLength > 0 ? [[await bodies.write(body), body.byteLength]] : [];
    const row: ObjectRow = {
      bucket: id,
      key: k,
      version: newVersion(),
      size: body.byteLength,
      etag: checksums.md5 as string,
      uploaded: Date.now(),
      http_metadata: JSON.stringify(options.httpMetadata ?? {}),
      custom_metadata: JSON.stringify(options.customMetadata ?? {}),
      checksums: JSON.stringify(checksums),
      storage_class: sc,
      files: JSON.stringify(files),
    };
    let freed: string[] | null;
    try {
      freed = index.replace(row, options.onlyIf);
    } catch (err) {
      await bodies.remove(files.map((f) => f[0]));
      throw err;
    }
    if (freed === null) {
      await bodies.remove(files.map((f) => f[0]));
      return null;
    }
    await bodies.remove(freed);
    return metaOf(row);
  }

  /** Delete objects (missing keys are no error); at most 1,000 keys a call. */
  async delete(bucket: string, keys: string | string[]): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    if (list.length > R2_LIMITS.MAX_DELETE_KEYS)
      throw r2Errors.invalidArgument(
        `${list.length} keys; one delete() takes at most ${R2_LIMITS.MAX_DELETE_KEYS}`,
      );
    const { index, files } = this.#use();
    const id = bucketId(bucket);
    const ks = list.map(keyBytes);
    await files.remove(index.delete(id, ks));
  }

  /**
   * Objects in key order (UTF-8 bytes), from `startAfter` or the cursor, those under `prefix`;
   * with a `delimiter`, keys that hold it after the prefix are rolled up into
   * `delimitedPrefixes`, each counting once towards `limit`.
   */
  list(bucket: string, options: R2ListOptions = {}): R2ListResult {
    const { index } = this.#use();
    const id = bucketId(bucket);
    const limit = options.limit ?? R2_LIMITS.MAX_LIST_KEYS;
    if (!Number.isInteger(limit) || limit < 1 || limit > R2_LIMITS.MAX_LIST_KEYS)
      throw r2Errors.invalidMaxKeys();
    const include = {
      http: options.include?.includes('httpMetadata') ?? false,
      custom: options.include?.includes('customMetadata') ?? false,
    };
    const prefix = Buffer.from(options.prefix ?? '', 'utf8');
    const delimiter = options.delimiter ? Buffer.from(options.delimiter, 'utf8') : null;
    const upper = prefix.length > 0 ? afterPrefix(prefix) : null;
    let from: Buffer = prefix;
    if (options.startAfter !== undefined)
      from = maxKey(from, justAfter(Buffer.from(options.startAfter, 'utf8')));
    if (options.cursor !== undefined) from = maxKey(from, decodeCursor(options.cursor));

    const objects: R2ObjectMeta[] = [];
    const delimitedPrefixes: string[] = [];
    const full = () => objects.length + delimitedPrefixes.length >= limit;
    let more = false;
    scan: while (true) {
      const rows = index.range(id, from, upper, limit + 1);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (full()) {
          more = true;
          break scan;
        }
        const at = delimiter ? row.key.indexOf(delimiter, prefix.length) : -1;
        if (at >= 0) {
          // Every key under this delimited prefix rolls up into it: go on after all of them.
          const group = row.key.subarray(0, at + (delimiter as Buffer).length);
          delimitedPrefixes.push(group.toString('utf8'));
          from = afterPrefix(group);
          continue scan;
        }
        objects.push(metaOf(row, include));
        from = justAfter(row.key);
      }
      if (rows.length <= limit) break;
    }
    return {
      objects,
      delimitedPrefixes,
      truncated: more,
      ...(more ? { cursor: from.toString('base64url') } : {}),
    };
  }

  createMultipartUpload(bucket: string, key: string, options: R2MultipartOptions = {}): string {
    return this.#use().multipart.create(bucketId(bucket), keyBytes(key), options);
  }

  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<R2UploadedPart> {
    return this.#use().multipart.uploadPart(bucketId(bucket), keyBytes(key), uploadId, partNumber, body);
  }

  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: R2UploadedPart[],
  ): Promise<R2ObjectMeta> {
    return this.#use().multipart.complete(bucketId(bucket), keyBytes(key), uploadId, parts);
  }

  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.#use().multipart.abort(bucketId(bucket), keyBytes(key), uploadId);
  }

  close(): void {
    this.#closed = true;
    this.#open?.index.close();
    this.#open = null;
  }
}

function bucketId(id: string): string {
  if (!BUCKET_ID.test(id)) throw r2Errors.invalidArgument(`bucket id ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

function decodeCursor(cursor: string): Buffer {
  if (cursor === '' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw r2Errors.invalidArgument('cursor');
  return Buffer.from(cursor, 'base64url');
}

/** The parts of an object's files holding bytes [offset, offset + length). */
function pieces(segments: Segment[], offset: number, length: number): Piece[] {
  const out: Piece[] = [];
  const end = offset + length;
  let at = 0;
  for (const [name, size] of segments) {
    const s = Math.max(offset, at);
    const e = Math.min(end, at + size);
    if (e > s) out.push({ name, start: s - at, end: e - at });
    at += size;
    if (at >= end) break;
  }
  return out;
}
