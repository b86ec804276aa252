/**
 * node:crypto (nodejs_compat): hashes and HMACs computed by the host (node:crypto), random
 * bytes, timingSafeEqual, and WebCrypto. Not here (documented gap): ciphers (createCipheriv),
 * key objects, sign/verify streams, scrypt/pbkdf2 sync, DH — use crypto.subtle.
 */
import { Buffer } from 'node:buffer';

type Data = string | ArrayBufferView | ArrayBuffer;

function bytes(data: Data, encoding?: string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, (encoding ?? 'utf8') as BufferEncoding);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(
    'The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView.',
  );
}

class Hash {
  #id: number;
  #done = false;
  constructor(algorithm: string, key?: Data) {
    this.#id = outpost.sys(
      'hashNew',
      String(algorithm),
      key === undefined ? undefined : bytes(key).slice().buffer,
    );
  }
  update(data: Data, encoding?: string): this {
    if (this.#done) throw new Error('Digest already called');
    outpost.sys('hashUpdate', this.#id, bytes(data, encoding).slice().buffer);
    return this;
  }
  digest(encoding?: string): any {
    if (this.#done) throw new Error('Digest already called');
    this.#done = true;
    const out = Buffer.from(outpost.sys('hashDigest', this.#id) as ArrayBuffer);
    return encoding ? out.toString(encoding as BufferEncoding) : out;
  }
}

export function createHash(algorithm: string): Hash {
  return new Hash(algorithm);
}
export function createHmac(algorithm: string, key: Data): Hash {
  return new Hash(algorithm, key);
}
export function hash(algorithm: string, data: Data, encoding = 'hex'): any {
  return new Hash(algorithm).update(data).digest(encoding);
}
export function getHashes(): string[] {
  return ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
}

export function randomBytes(size: number, cb?: (err: Error | null, buf: Buffer) => void): any {
  if (!Number.isInteger(size) || size < 0 || size > 2 ** 31 - 1)
    throw new RangeError(`The value of "size" is out of range. Received ${size}`);
  const buf = Buffer.alloc(size);
  for (let off = 0; off < size; off += 65536)
    crypto.getRandomValues(new Uint8Array(buf.buffer, buf.byteOffset + off, Math.min(65536, size - off)));
  if (cb) {
    queueMicrotask(() => cb(null, buf));
    return undefined;
  }
  return buf;
}

export function randomInt(min: number, max?: number): number {
  if (max === undefined) {
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min)
    throw new RangeError('The "max" argument must be greater than "min" and both safe integers');
  const range = max - min;
  const limit = 2 ** 48 - (2 ** 48 % range);
  for (;;) {
    const b = randomBytes(6);
    const x = b.readUIntBE(0, 6);
    if (x < limit) return min + (x % range);
  }
}

export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) throw new RangeError('Input buffers must have the same byte length');
  const x = bytes(a);
  const y = bytes(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

export const randomUUID = () => crypto.randomUUID();
export const getRandomValues = <T extends ArrayBufferView>(a: T) => crypto.getRandomValues(a as any) as T;
export const webcrypto = crypto;
export const subtle = crypto.subtle;

export default {
  createHash,
  createHmac,
  hash,
  getHashes,
  randomBytes,
  randomInt,
  randomUUID,
  getRandomValues,
  timingSafeEqual,
  webcrypto,
  subtle,
};
