/**
 * The shapes of R2 objects and of the options of each operation, as plain data (dates as ms
 * since the epoch, digests as lower-case hex). The runtime's binding turns them into the
 * Workers API's classes (src/runtime/isolate/bindings/r2*.ts).
 */

/** The HTTP metadata stored with an object (`R2HTTPMetadata`). */
export interface R2HttpFields {
  contentType?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  /** ms since the epoch */
  cacheExpiry?: number;
}

export const HASH_FIELDS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;
export type HashField = (typeof HASH_FIELDS)[number];

/** Hex digests: md5 of every single-part object, the others when a put() gave them. */
export type R2HexChecksums = Partial<Record<HashField, string>>;

/** What head(), put(), list() and a conditional get() answer (`R2Object`). */
export interface R2ObjectMeta {
  key: string;
  version: string;
  size: number;
  /** md5 hex of the body, or `<md5 of the parts' md5s>-<parts>` for a multipart object. */
  etag: string;
  /** ms since the epoch */
  uploaded: number;
  /** Absent in a list() that did not `include` it. */
  httpMetadata?: R2HttpFields;
  customMetadata?: Record<string, string>;
  checksums: R2HexChecksums;
  storageClass: string;
  /** The bytes a get() returned (head(): the whole object); absent for put() and list(). */
  range?: { offset: number; length: number };
}

/** An etag of a condition: `*`, a strong one, or a weak one (`W/"…"`). */
export type R2EtagCondition = { type: 'wildcard' } | { type: 'strong' | 'weak'; value: string };

/** onlyIf, resolved (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations). */
export interface R2Conditional {
  etagMatches?: R2EtagCondition[];
  etagDoesNotMatch?: R2EtagCondition[];
  /** ms since the epoch */
  uploadedBefore?: number;
  uploadedAfter?: number;
  /** Compare upload times in whole seconds (always so for the Headers form). */
  secondsGranularity?: boolean;
}

/** A range as get() takes it: offset and/or length, a suffix, or a Range header's value. */
export type R2RangeRequest = { offset?: number; length?: number; suffix?: number } | { header: string };

export interface R2GetOptions {
  onlyIf?: R2Conditional;
  range?: R2RangeRequest;
}

export interface R2PutOptions {
  onlyIf?: R2Conditional;
  httpMetadata?: R2HttpFields;
  customMetadata?: Record<string, string>;
  /** Hex digests the body must have (put() takes at most one; each given one is checked). */
  checksums?: R2HexChecksums;
  storageClass?: string;
}

export interface R2MultipartOptions {
  httpMetadata?: R2HttpFields;
  customMetadata?: Record<string, string>;
  storageClass?: string;
}

export interface R2ListOptions {
  prefix?: string;
  delimiter?: string;
  cursor?: string;
  startAfter?: string;
  /** 1 to 1000 (default 1000). */
  limit?: number;
  include?: ('httpMetadata' | 'customMetadata')[];
}

export interface R2ListResult {
  objects: R2ObjectMeta[];
  delimitedPrefixes: string[];
  truncated: boolean;
  /** Present when truncated: where the next page starts. */
  cursor?: string;
}

export interface R2UploadedPart {
  partNumber: number;
  etag: string;
}

/** An object's body, read from its files on demand. Iterate it, or `bytes()`; `cancel()` if neither. */
export interface R2Body extends AsyncIterable<Uint8Array> {
  /** Bytes it holds (the range asked for). */
  readonly length: number;
  bytes(): Promise<Uint8Array>;
  cancel(): void;
}

export interface R2GetResult {
  object: R2ObjectMeta;
  /** null: onlyIf did not hold, so R2 answers the object's metadata without its body. */
  body: R2Body | null;
}
