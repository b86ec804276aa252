/**
 * The arguments of R2 calls as the host receives them: untrusted (tenant code can call the
 * binding syscall with anything), checked here for shape and turned into the storage part's
 * options (src/r2/). The isolate side (src/runtime/isolate/bindings/r2*.ts) already refuses what
 * Workers refuses, with Workers' messages; what reaches these checks was not sent by it, so one
 * TypeError naming the argument is enough.
 */
import {
  conditionalFromFields,
  conditionalFromHeaders,
  HASH_FIELDS,
  type R2Conditional,
  type R2GetOptions,
  type R2HexChecksums,
  type R2HttpFields,
  type R2ListOptions,
  type R2MultipartOptions,
  type R2PutOptions,
  type R2RangeRequest,
  type R2UploadedPart,
} from '../../r2/index.ts';
import { NamedError } from '../bridge/named-error.ts';

const bad = (what: string) => new NamedError(`invalid R2 call: ${what}`, 'TypeError');

type Rec = Record<string, unknown>;

function record(v: unknown, what: string): Rec {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(what);
  return v as Rec;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw bad(what);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw bad(what);
  return v;
}

/** Only these keys, each checked. */
function fields<T extends object>(
  v: unknown,
  what: string,
  spec: { [K in keyof T]-?: (v: unknown, what: string) => T[K] },
): T {
  const r = record(v, what);
  const out: Rec = {};
  for (const k of Object.keys(r)) {
    if (!Object.hasOwn(spec, k)) throw bad(`${what}.${k}`);
    const check = spec[k as keyof T] as (v: unknown, what: string) => unknown;
    if (r[k] !== undefined) out[k] = check(r[k], `${what}.${k}`);
  }
  return out as T;
}

export function key(v: unknown): string {
  return str(v, 'key');
}

export function keys(v: unknown): string | string[] {
  if (typeof v === 'string') return v;
  // The length first: a sparse array of 2^32 entries is cheap to send and slow to walk.
  if (!Array.isArray(v) || v.length > 1000) throw bad('keys (at most 1000)');
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') throw bad('keys');
  return v;
}

export function bytes(v: unknown, what = 'value'): Uint8Array {
  if (!(v instanceof ArrayBuffer)) throw bad(what);
  return new Uint8Array(v);
}

function stringDict(v: unknown, what: string): Record<string, string> {
  const r = record(v, what);
  for (const [k, x] of Object.entries(r)) str(x, `${what}.${k}`);
  return r as Record<string, string>;
}

function httpFields(v: unknown, what: string): R2HttpFields {
  return fields<R2HttpFields>(v, what, {
    contentType: str,
    contentLanguage: str,
    contentDisposition: str,
    contentEncoding: str,
    cacheControl: str,
    cacheExpiry: num,
  });
}

function onlyIf(v: unknown, what: string): R2Conditional {
  const r = record(v, what);
  if ('headers' in r)
    return conditionalFromHeaders(
      fields(r.headers, `${what}.headers`, {
        'if-match': str,
        'if-none-match': str,
        'if-modified-since': str,
        'if-unmodified-since': str,
      }),
    );
  return conditionalFromFields(
    fields(r, what, {
      etagMatches: str,
      etagDoesNotMatch: str,
      uploadedBefore: num,
      uploadedAfter: num,
      secondsGranularity: (x, w) => {
        if (typeof x !== 'boolean') throw bad(w);
        return x;
      },
    }),
  );
}

function range(v: unknown, what: string): R2RangeRequest {
  const r = record(v, what);
  if ('header' in r) return { header: str(r.header, `${what}.header`) };
  return fields<{ offset?: number; length?: number; suffix?: number }>(r, what, {
    offset: num,
    length: num,
    suffix: num,
  });
}

function checksums(v: unknown, what: string): R2HexChecksums {
  return fields<R2HexChecksums>(
    v,
    what,
    Object.fromEntries(HASH_FIELDS.map((f) => [f, str])) as Record<keyof R2HexChecksums, typeof str>,
  );
}

export function getOptions(v: unknown): R2GetOptions {
  return fields<R2GetOptions>(v, 'options', { onlyIf, range });
}

export function putOptions(v: unknown): R2PutOptions {
  return fields<R2PutOptions>(v, 'options', {
    onlyIf,
    httpMetadata: httpFields,
    customMetadata: stringDict,
    checksums,
    storageClass: str,
  });
}

export function multipartOptions(v: unknown): R2MultipartOptions {
  return fields<R2MultipartOptions>(v, 'options', {
    httpMetadata: httpFields,
    customMetadata: stringDict,
    storageClass: str,
  });
}

const INCLUDE = new Set(['httpMetadata', 'customMetadata']);

export function listOptions(v: unknown): R2ListOptions {
  return fields<R2ListOptions>(v, 'options', {
    prefix: str,
    delimiter: str,
    cursor: str,
    startAfter: str,
    limit: num,
    include: (x, w) => {
      if (!Array.isArray(x) || x.length > 2) throw bad(w);
      for (let i = 0; i < x.length; i++) if (!INCLUDE.has(x[i])) throw bad(w);
      return x as R2ListOptions['include'];
    },
  });
}

export function uploadId(v: unknown): string {
  return str(v, 'uploadId');
}

export function partNumber(v: unknown): number {
  return num(v, 'partNumber');
}

export function uploadedParts(v: unknown): R2UploadedPart[] {
  if (!Array.isArray(v) || v.length > 10_000) throw bad('parts');
  return v.map((p, i) => {
    const r = record(p, `parts[${i}]`);
    return { partNumber: num(r.partNumber, `parts[${i}].partNumber`), etag: str(r.etag, `parts[${i}].etag`) };
  });
}
