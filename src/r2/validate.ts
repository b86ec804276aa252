/**
 * The checks R2 makes of what is stored, with its error texts: keys (1 to 1,024 bytes of
 * UTF-8), custom metadata (8,192 bytes), storage classes, and the checksums a put() gives,
 * computed over the body and compared.
 */
import { createHash } from 'node:crypto';
import { R2_LIMITS, R2InputError, r2Errors, STORAGE_CLASSES } from './limits.ts';
import { HASH_FIELDS, type HashField, type R2HexChecksums, type R2HttpFields } from './types.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The key as stored (UTF-8 bytes, so listing orders as R2 does); InvalidObjectName if it cannot be one. */
export function keyBytes(key: string): Buffer {
  if (key === '') throw r2Errors.invalidObjectName('the key is empty');
  if (LONE_SURROGATE.test(key)) throw r2Errors.invalidObjectName('the key is not valid UTF-8');
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.byteLength > R2_LIMITS.MAX_KEY_BYTES)
    throw r2Errors.invalidObjectName(
      `the key is ${bytes.byteLength} bytes, the limit is ${R2_LIMITS.MAX_KEY_BYTES}`,
    );
  return bytes;
}

export function checkCustomMetadata(m: Record<string, string> | undefined): void {
  if (!m) return;
  let bytes = 0;
  for (const [k, v] of Object.entries(m)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (bytes > R2_LIMITS.MAX_METADATA_BYTES) throw r2Errors.metadataTooLarge();
}

/**
 * HTTP metadata has the same bound as custom metadata, counted apart: R2 documents 8,192 bytes
 * of object metadata, and a tenant must not store megabytes in a Content-Type.
 */
export function checkHttpMetadata(m: R2HttpFields | undefined): void {
  if (!m) return;
  let bytes = 0;
  for (const v of Object.values(m)) if (typeof v === 'string') bytes += Buffer.byteLength(v);
  if (bytes > R2_LIMITS.MAX_METADATA_BYTES) throw r2Errors.metadataTooLarge();
}

export function storageClass(v: string | undefined): string {
  if (v === undefined) return 'Standard';
  if (!(STORAGE_CLASSES as readonly string[]).includes(v))
    throw r2Errors.invalidArgument(`storage class ${JSON.stringify(v)}: use ${STORAGE_CLASSES.join(' or ')}`);
  return v;
}

const DIGEST: Record<HashField, { algorithm: string; name: string; hexLength: number }> = {
  md5: { algorithm: 'md5', name: 'MD5', hexLength: 32 },
  sha1: { algorithm: 'sha1', name: 'SHA-1', hexLength: 40 },
  sha256: { algorithm: 'sha256', name: 'SHA-256', hexLength: 64 },
  sha384: { algorithm: 'sha384', name: 'SHA-384', hexLength: 96 },
  sha512: { algorithm: 'sha512', name: 'SHA-512', hexLength: 128 },
};

/** A checksum as put() may give it: lower- or upper-case hex of the right length. */
export function checkChecksums(c: R2HexChecksums | undefined): void {
  if (!c) return;
  const given = HASH_FIELDS.filter((f) => c[f] !== undefined);
  if (given.length > 1) throw new R2InputError('You cannot specify multiple hashing algorithms.');
  for (const f of given) {
    const v = c[f] as string;
    const { name, hexLength } = DIGEST[f];
    if (v.length !== hexLength)
      throw new R2InputError(`${name} is ${hexLength} hex characters, not ${v.length}`);
    if (!/^[0-9a-fA-F]*$/.test(v)) throw new R2InputError(`Provided ${name} wasn't a valid hex string`);
  }
}

/**
 * The body's checksums: md5 always, and each one `given` names, which must match
 * (BadDigest otherwise). Returned in lower-case hex.
 */
export function digest(body: Uint8Array, given: R2HexChecksums | undefined): R2HexChecksums {
  const out: R2HexChecksums = {};
  for (const f of HASH_FIELDS) {
    if (f !== 'md5' && given?.[f] === undefined) continue;
    const hex = createHash(DIGEST[f].algorithm).update(body).digest('hex');
    const want = given?.[f]?.toLowerCase();
    if (want !== undefined && want !== hex) throw r2Errors.badDigest(DIGEST[f].name, want, hex);
    out[f] = hex;
  }
  return out;
}

/** The etag of a completed multipart upload: md5 of the parts' binary md5s, then `-<parts>`. */
export function multipartEtag(partMd5s: string[]): string {
  const h = createHash('md5');
  for (const m of partMd5s) h.update(Buffer.from(m, 'hex'));
  return `${h.digest('hex')}-${partMd5s.length}`;
}
