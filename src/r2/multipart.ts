/**
 * R2's multipart uploads (https://developers.cloudflare.com/r2/objects/multipart-objects/): an
 * upload is created with the object's metadata, parts (1 to 10,000) are uploaded as files of
 * their own, each with the md5 of its bytes as its etag, and complete() makes the object from
 * the parts it names, in part-number order, without copying them: the object's body is those
 * files. R2's rules apply at completion: every part but the last at least 5 MiB, all of them
 * the same size and the last no larger; the object's etag is the md5 of the parts' binary md5s
 * followed by `-<number of parts>`. Uploads left in progress are aborted after 7 days.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BodyFiles } from './files.ts';
import {
  metaOf,
  newVersion,
  type ObjectRow,
  type PartRow,
  type R2Index,
  type Segment,
  UPLOAD_IN_PROGRESS,
  type UploadRow,
} from './index-db.ts';
import { R2_LIMITS, R2InputError, r2Errors } from './limits.ts';
import type { R2MultipartOptions, R2ObjectMeta, R2UploadedPart } from './types.ts';
import { checkCustomMetadata, checkHttpMetadata, multipartEtag, storageClass } from './validate.ts';

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,200}$/;

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > R2_LIMITS.MAX_PARTS)
    throw new R2InputError(`Part number must be between 1 and 10000 (inclusive). Actual value was: ${n}`);
}

export class MultipartUploads {
  constructor(
    readonly index: R2Index,
    readonly files: BodyFiles,
    readonly minPartBytes: number,
  ) {}

  /** Abort uploads older than R2's lifecycle rule allows. */
  expire(now = Date.now()): void {
    void this.files.remove(this.index.expireUploads(now - R2_LIMITS.UPLOAD_EXPIRY_MS));
  }

  create(bucket: string, key: Buffer, options: R2MultipartOptions): string {
    checkCustomMetadata(options.customMetadata);
    checkHttpMetadata(options.httpMetadata);
    const sc = storageClass(options.storageClass);
    this.expire();
    const uploadId = randomBytes(48).toString('base64url');
    this.index.createUpload({
      upload_id: uploadId,
      bucket,
      key,
      http_metadata: JSON.stringify(options.httpMetadata ?? {}),
      custom_metadata: JSON.stringify(options.customMetadata ?? {}),
      storage_class: sc,
      state: UPLOAD_IN_PROGRESS,
      created: Date.now(),
    });
    return uploadId;
  }

  /** The upload, if it is one of this bucket and key; NoSuchUpload otherwise. */
  #own(u: UploadRow | undefined, bucket: string, key: Buffer): UploadRow {
    if (!u || u.bucket !== bucket || !u.key.equals(key)) throw r2Errors.noSuchUpload();
    return u;
  }

  #inProgress(u: UploadRow | undefined, bucket: string, key: Buffer): UploadRow {
    const own = this.#own(u, bucket, key);
    if (own.state !== UPLOAD_IN_PROGRESS) throw r2Errors.noSuchUpload();
    return own;
  }

  async uploadPart(
    bucket: string,
    key: Buffer,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<R2UploadedPart> {
    checkPartNumber(partNumber);
    if (!UPLOAD_ID.test(uploadId)) throw r2Errors.noSuchUpload();
    if (body.byteLength > R2_LIMITS.MAX_UPLOAD_BYTES)
      throw r2Errors.entityTooLarge(`a part holds at most ${R2_LIMITS.MAX_UPLOAD_BYTES} bytes`);
    // Refused before the part is written when it already cannot be stored.
    this.#inProgress(this.index.upload(uploadId), bucket, key);
    const etag = createHash('md5').update(body).digest('hex');
    const file = await this.files.write(body);
    let replaced: string | undefined;
    try {
      replaced = this.index.putPart(
        { upload_id: uploadId, part_number: partNumber, file, size: body.byteLength, etag },
        (u) => this.#inProgress(u, bucket, key),
      );
    } catch (err) {
      await this.files.remove([file]);
      throw err;
    }
    if (replaced !== undefined) await this.files.remove([replaced]);
    return { partNumber, etag };
  }

  async complete(
    bucket: string,
    key: Buffer,
    uploadId: string,
    given: R2UploadedPart[],
  ): Promise<R2ObjectMeta> {
    for (const p of given) checkPartNumber(p.partNumber);
    if (!UPLOAD_ID.test(uploadId)) throw r2Errors.noSuchUpload();
    const { row, freed } = this.index.complete(uploadId, (u, uploaded) => {
      const upload = this.#inProgress(u, bucket, key);
      return this.#object(upload, uploaded, given);
    });
    await this.files.remove(freed);
    return metaOf(row);
  }

  /** The completed object's row from the parts `given` names, checked as R2 checks them. */
  #object(
    upload: UploadRow,
    uploaded: PartRow[],
    given: R2UploadedPart[],
  ): { row: ObjectRow; used: Set<number> } {
    if (given.length === 0) throw r2Errors.invalidPart('complete() was given no parts');
    const byNumber = new Map(uploaded.map((p) => [p.part_number, p]));
    const used = new Set<number>();
    const chosen = given.map((g) => {
      if (used.has(g.partNumber)) throw r2Errors.internal(`part ${g.partNumber} is listed twice`);
      used.add(g.partNumber);
      const p = byNumber.get(g.partNumber);
      if (!p) throw r2Errors.invalidPart(`part ${g.partNumber} was not uploaded`);
      if (p.etag !== g.etag) throw r2Errors.invalidPart(`part ${g.partNumber} has another etag`);
      return p;
    });
    // In the order given first (a friendlier error), then in part-number order as R2 assembles.
    for (const p of chosen.slice(0, -1))
      if (p.size < this.minPartBytes)
        throw r2Errors.entityTooSmall(
          `part ${p.part_number} is ${p.size} bytes; every part but the last needs at least ${this.minPartBytes}`,
        );
    chosen.sort((a, b) => a.part_number - b.part_number);
    const size = chosen[0].size;
    for (const p of chosen.slice(0, -1))
      if (p.size !== size)
        throw r2Errors.badUpload(
          `all parts but the last must be the same size: part ${p.part_number} is ${p.size} bytes, part ${chosen[0].part_number} ${size}`,
        );
    const last = chosen[chosen.length - 1];
    if (chosen.length > 1 && (last.size > size || size < this.minPartBytes))
      throw r2Errors.badUpload(`the last part (${last.part_number}) may not be larger than the others`);
    const total = chosen.reduce((n, p) => n + p.size, 0);
    if (total > R2_LIMITS.MAX_OBJECT_BYTES) throw r2Errors.entityTooLarge();
    const files: Segment[] = chosen.map((p) => [p.file, p.size]);
    return {
      used,
      row: {
        bucket: upload.bucket,
        key: upload.key,
        version: newVersion(),
        size: total,
        etag: multipartEtag(chosen.map((p) => p.etag)),
        uploaded: Date.now(),
        http_metadata: upload.http_metadata,
        custom_metadata: upload.custom_metadata,
        checksums: '{}',
        storage_class: upload.storage_class,
        files: JSON.stringify(files),
      },
    };
  }

  /** Abort an upload; one already completed or aborted is left as it is. */
  async abort(bucket: string, key: Buffer, uploadId: string): Promise<void> {
    if (!UPLOAD_ID.test(uploadId)) throw r2Errors.noSuchUpload();
    this.#own(this.index.upload(uploadId), bucket, key);
    await this.files.remove(this.index.abort(uploadId));
  }
}
