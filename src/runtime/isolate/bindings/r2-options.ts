/**
 * The arguments of R2 calls as Workers takes them, turned into the plain data that crosses to
 * the host (../../bindings/protocol.ts): put() values into bytes (the whole body is read first;
 * see docs/r2.md), `onlyIf`, `range` and `httpMetadata` in their object or Headers forms,
 * checksums as hex. What Workers refuses before calling R2 is refused here, with its messages.
 */
import type { R2HttpFields, R2ListData, R2OnlyIf, R2PutData, R2RangeData } from '../../bindings/protocol.ts';
import { Blob, blobBytes } from '../blob.ts';
import { newState, readAll } from '../body.ts';
import { utf8Encode } from '../encoding.ts';
import { Headers } from '../headers.ts';
import { isReadableStream } from '../streams.ts';
import { toHex } from './r2-object.ts';

type Rec = Record<string, unknown>;

/** The bytes' own ArrayBuffer when they fill it (a stream's chunks joined), else a copy. */
function exact(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer)
    return b.buffer;
  return b.slice().buffer as ArrayBuffer;
}

/** The value of put() or uploadPart() as one ArrayBuffer. */
export async function valueBytes(value: unknown, op: 'put' | 'uploadPart'): Promise<ArrayBuffer> {
  if (value === null || value === undefined) {
    if (op === 'put') return new ArrayBuffer(0);
  } else if (typeof value === 'string') return utf8Encode(value).slice().buffer as ArrayBuffer;
  else if (value instanceof ArrayBuffer) return value.slice(0);
  else if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  else if (value instanceof Blob) return blobBytes(value).slice().buffer as ArrayBuffer;
  else if (isReadableStream(value)) return exact(await readAll(newState(value)));
  const owner = op === 'put' ? 'R2Bucket' : 'R2MultipartUpload';
  throw new TypeError(
    `Failed to execute '${op}' on '${owner}': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.`,
  );
}

function options(v: unknown, what: string): Rec {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object') throw new TypeError(`R2 ${what} options must be an object`);
  return v as Rec;
}

function date(v: unknown, what: string): number {
  if (!(v instanceof Date)) throw new TypeError(`${what} must be a Date`);
  return v.getTime();
}

/** SSE-C needs encryption at rest that Outpost does not do: refused rather than ignored. */
function noSsec(o: Rec): void {
  if (o.ssecKey !== undefined)
    throw new Error(
      'ssecKey: R2 server-side encryption with a customer key is not supported by Outpost (docs/r2.md)',
    );
}

export function onlyIfData(v: unknown): R2OnlyIf | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Headers) {
    const headers: Record<string, string> = {};
    for (const name of ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']) {
      const h = v.get(name);
      if (h !== null) headers[name] = h;
    }
    return { headers };
  }
  const c = options(v, 'onlyIf');
  const out: R2OnlyIf = {};
  if (c.etagMatches !== undefined) out.etagMatches = String(c.etagMatches);
  if (c.etagDoesNotMatch !== undefined) out.etagDoesNotMatch = String(c.etagDoesNotMatch);
  if (c.uploadedBefore !== undefined) out.uploadedBefore = date(c.uploadedBefore, 'onlyIf.uploadedBefore');
  if (c.uploadedAfter !== undefined) out.uploadedAfter = date(c.uploadedAfter, 'onlyIf.uploadedAfter');
  if (c.secondsGranularity !== undefined) out.secondsGranularity = Boolean(c.secondsGranularity);
  return out;
}

export function rangeData(v: unknown): R2RangeData | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Headers) {
    const header = v.get('range');
    return header === null ? undefined : { header };
  }
  const r = options(v, 'range');
  const out: { offset?: number; length?: number; suffix?: number } = {};
  if (r.offset !== undefined) out.offset = Number(r.offset);
  if (r.length !== undefined) out.length = Number(r.length);
  if (r.suffix !== undefined) out.suffix = Number(r.suffix);
  return out;
}

export function getOptionsData(v: unknown): { onlyIf?: R2OnlyIf; range?: R2RangeData } {
  const o = options(v, 'get()');
  noSsec(o);
  const onlyIf = onlyIfData(o.onlyIf);
  const range = rangeData(o.range);
  return { ...(onlyIf ? { onlyIf } : {}), ...(range ? { range } : {}) };
}

const HTTP_FIELDS = [
  'contentType',
  'contentLanguage',
  'contentDisposition',
  'contentEncoding',
  'cacheControl',
] as const;
const FROM_HEADER: [string, (typeof HTTP_FIELDS)[number]][] = [
  ['content-type', 'contentType'],
  ['content-language', 'contentLanguage'],
  ['content-disposition', 'contentDisposition'],
  ['content-encoding', 'contentEncoding'],
  ['cache-control', 'cacheControl'],
];

function httpMetadataData(v: unknown): R2HttpFields | undefined {
  if (v === undefined || v === null) return undefined;
  const out: R2HttpFields = {};
  if (v instanceof Headers) {
    for (const [header, field] of FROM_HEADER) {
      const h = v.get(header);
      if (h !== null) out[field] = h;
    }
    const expires = v.get('expires');
    if (expires !== null) {
      const ms = Date.parse(expires);
      if (!Number.isFinite(ms))
        throw new TypeError(`httpMetadata: Expires is not a valid HTTP date: ${expires}`);
      out.cacheExpiry = ms;
    }
    return out;
  }
  const m = options(v, 'httpMetadata');
  for (const f of HTTP_FIELDS) if (m[f] !== undefined) out[f] = String(m[f]);
  if (m.cacheExpiry !== undefined) out.cacheExpiry = date(m.cacheExpiry, 'httpMetadata.cacheExpiry');
  return out;
}

function customMetadataData(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const m = options(v, 'customMetadata');
  const out: Record<string, string> = {};
  for (const k of Object.keys(m)) out[k] = String(m[k]);
  return out;
}

const HASHES: [field: 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512', name: string, bytes: number][] = [
  ['md5', 'MD5', 16],
  ['sha1', 'SHA-1', 20],
  ['sha256', 'SHA-256', 32],
  ['sha384', 'SHA-384', 48],
  ['sha512', 'SHA-512', 64],
];

function checksumsData(o: Rec): R2PutData['checksums'] {
  let out: R2PutData['checksums'];
  for (const [field, name, bytes] of HASHES) {
    const v = o[field];
    if (v === undefined) continue;
    if (out) throw new TypeError('You cannot specify multiple hashing algorithms.');
    if (typeof v === 'string') {
      if (v.length !== bytes * 2)
        throw new TypeError(`${name} is ${bytes * 2} hex characters, not ${v.length}`);
      if (!/^[0-9a-fA-F]*$/.test(v)) throw new TypeError(`Provided ${name} wasn't a valid hex string`);
      out = { [field]: v.toLowerCase() };
    } else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const b =
        v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      if (b.byteLength !== bytes) throw new TypeError(`${name} is ${bytes} bytes, not ${b.byteLength}`);
      out = { [field]: toHex(b) };
    } else throw new TypeError(`${name} must be an ArrayBuffer, an ArrayBufferView or a hex string`);
  }
  return out;
}

function metadataData(o: Rec): {
  httpMetadata?: R2HttpFields;
  customMetadata?: Record<string, string>;
  storageClass?: string;
} {
  const httpMetadata = httpMetadataData(o.httpMetadata);
  const customMetadata = customMetadataData(o.customMetadata);
  return {
    ...(httpMetadata ? { httpMetadata } : {}),
    ...(customMetadata ? { customMetadata } : {}),
    ...(o.storageClass !== undefined ? { storageClass: String(o.storageClass) } : {}),
  };
}

export function putOptionsData(v: unknown): R2PutData {
  const o = options(v, 'put()');
  noSsec(o);
  const onlyIf = onlyIfData(o.onlyIf);
  const checksums = checksumsData(o);
  return { ...metadataData(o), ...(onlyIf ? { onlyIf } : {}), ...(checksums ? { checksums } : {}) };
}

export function multipartOptionsData(v: unknown): ReturnType<typeof metadataData> {
  const o = options(v, 'createMultipartUpload()');
  noSsec(o);
  return metadataData(o);
}

export function noSsecOptions(v: unknown, what: string): void {
  noSsec(options(v, what));
}

export function listOptionsData(v: unknown): R2ListData {
  const o = options(v, 'list()');
  const out: R2ListData = {};
  for (const f of ['prefix', 'cursor', 'delimiter', 'startAfter'] as const)
    if (o[f] !== undefined) out[f] = String(o[f]);
  if (o.limit !== undefined) out.limit = Number(o.limit);
  if (o.include !== undefined) {
    if (!Array.isArray(o.include)) throw new TypeError('list() include must be an array');
    if (o.include.length > 2) throw new RangeError('list() include takes at most 2 values');
    out.include = Array.from({ length: o.include.length }, (_, i) => (o.include as unknown[])[i]).map((i) => {
      const s = String(i);
      if (s !== 'httpMetadata' && s !== 'customMetadata')
        throw new RangeError(`Unsupported include value ${s}`);
      return s;
    });
  }
  return out;
}

export function checkPartNumber(n: number): void {
  if (!(Number.isInteger(n) && n >= 1 && n <= 10000))
    throw new TypeError(`Part number must be between 1 and 10000 (inclusive). Actual value was: ${n}`);
}
