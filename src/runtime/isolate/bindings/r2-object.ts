/**
 * What R2 operations answer in a worker (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2object-definition):
 * R2Object (metadata: key, version, size, etag and httpEtag, uploaded as a Date, HTTP and custom
 * metadata, checksums as ArrayBuffers, storage class, range; writeHttpMetadata()), and
 * R2ObjectBody, which adds the body with the Body methods. Built from the plain data the host
 * sends (../../bindings/protocol.ts); a body is inline bytes or a host stream pulled chunk by
 * chunk, through the same body machinery Request and Response use (../body.ts).
 */
import type { R2Checksums as HexChecksums, R2HttpFields, R2ObjectData } from '../../bindings/protocol.ts';
import { Blob } from '../blob.ts';
import { type BodyState, bodyStream, HostBody, isUsed, kBody, newState, readAll } from '../body.ts';
import { utf8Decode } from '../encoding.ts';
import { Headers } from '../headers.ts';

export function fromHex(hex: string): ArrayBuffer {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out.buffer;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

const DIGESTS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;

export class R2Checksums {
  readonly md5?: ArrayBuffer;
  readonly sha1?: ArrayBuffer;
  readonly sha256?: ArrayBuffer;
  readonly sha384?: ArrayBuffer;
  readonly sha512?: ArrayBuffer;
  readonly #hex: HexChecksums;

  constructor(hex: HexChecksums) {
    this.#hex = { ...hex };
    const self = this as { -readonly [K in keyof HexChecksums]?: ArrayBuffer };
    for (const d of DIGESTS) if (hex[d] !== undefined) self[d] = fromHex(hex[d] as string);
  }

  /** The digests as hex strings (what JSON.stringify(object.checksums) shows). */
  toJSON(): HexChecksums {
    return { ...this.#hex };
  }
}

/** R2's HTTP metadata as the worker sees it: `cacheExpiry` is a Date. */
export interface R2HTTPMetadata {
  contentType?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  cacheExpiry?: Date;
}

function httpMetadataOf(f: R2HttpFields): R2HTTPMetadata {
  const { cacheExpiry, ...rest } = f;
  return cacheExpiry === undefined ? rest : { ...rest, cacheExpiry: new Date(cacheExpiry) };
}

const HEADER_OF: [keyof R2HTTPMetadata, string][] = [
  ['contentType', 'content-type'],
  ['contentLanguage', 'content-language'],
  ['contentDisposition', 'content-disposition'],
  ['contentEncoding', 'content-encoding'],
  ['cacheControl', 'cache-control'],
];

export class R2Object {
  readonly key: string;
  readonly version: string;
  readonly size: number;
  readonly etag: string;
  readonly httpEtag: string;
  readonly checksums: R2Checksums;
  readonly uploaded: Date;
  readonly httpMetadata?: R2HTTPMetadata;
  readonly customMetadata?: Record<string, string>;
  readonly range?: { offset: number; length: number };
  readonly storageClass: string;
  readonly ssecKeyMd5?: string;

  constructor(d: R2ObjectData) {
    this.key = d.key;
    this.version = d.version;
    this.size = d.size;
    this.etag = d.etag;
    this.httpEtag = `"${d.etag}"`;
    this.checksums = new R2Checksums(d.checksums);
    this.uploaded = new Date(d.uploaded);
    if (d.httpMetadata) this.httpMetadata = httpMetadataOf(d.httpMetadata);
    if (d.customMetadata) this.customMetadata = { ...d.customMetadata };
    if (d.range) this.range = { ...d.range };
    this.storageClass = d.storageClass;
  }

  /** Set the object's HTTP metadata on `headers` (Content-Type, …, Expires). */
  writeHttpMetadata(headers: Headers): void {
    if (!(headers instanceof Headers))
      throw new TypeError(
        "Failed to execute 'writeHttpMetadata' on 'R2Object': parameter 1 is not of type 'Headers'.",
      );
    const m = this.httpMetadata;
    if (!m)
      throw new TypeError(
        `HTTP metadata unknown for key \`${this.key}\`. Did you forget to add 'httpMetadata' to \`include\` when listing?`,
      );
    for (const [field, header] of HEADER_OF) {
      const v = m[field];
      if (typeof v === 'string') headers.set(header, v);
    }
    if (m.cacheExpiry) headers.set('expires', m.cacheExpiry.toUTCString());
  }
}

/** An object with its body (get()): read it once, as a stream or with one of the Body methods. */
export class R2ObjectBody extends R2Object {
  readonly [kBody]: BodyState;

  constructor(d: R2ObjectData, body: number | ArrayBuffer) {
    super(d);
    this[kBody] = newState(typeof body === 'number' ? new HostBody(body) : new Uint8Array(body));
  }

  get body(): unknown {
    return bodyStream(this[kBody]);
  }

  get bodyUsed(): boolean {
    return isUsed(this[kBody]);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await readAll(this[kBody])).slice().buffer as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return (await readAll(this[kBody])).slice();
  }

  async text(): Promise<string> {
    return utf8Decode(await readAll(this[kBody]), false);
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    return new Blob([await readAll(this[kBody])], { type: this.httpMetadata?.contentType ?? '' });
  }
}
