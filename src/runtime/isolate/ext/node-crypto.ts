/**
 * node:crypto (nodejs_compat), the part Workers offers that fits here: hashes and HMACs
 * (createHash, createHmac, hash, Hash.copy), pbkdf2/scrypt/hkdf (sync and callback), ciphers
 * (createCipheriv / createDecipheriv: AES-CBC/CTR/ECB/GCM, ChaCha20-Poly1305), KeyObject
 * (createSecretKey/createPublicKey/createPrivateKey: PEM, DER, JWK; export), sign/verify
 * (one-shot and createSign/createVerify: RSA, RSA-PSS, ECDSA, Ed25519), publicEncrypt and
 * friends, diffieHellman, generateKeyPair(Sync), generateKey(Sync), random bytes, numbers and
 * UUIDs, timingSafeEqual, getHashes/getCiphers/getCurves, constants, and WebCrypto.
 *
 * All of it is done by the host's node:crypto (src/runtime/bridge/node-crypto.ts), synchronously,
 * charged to the request as CPU, with every knob that scales one call's work capped
 * (src/runtime/bridge/crypto-limits.ts). The callback forms compute at once and call back in a
 * microtask.
 *
 * Not here (documented gaps): Cipher/Hash/Sign as streams (use update/final), the legacy
 * createCipher, DiffieHellman/ECDH classes, X509Certificate, Certificate, primes, KeyObject.from,
 * secureHeapUsed, passphrase-protected keys whose KDF settings cannot be read.
 */
import { Buffer } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  createSign,
  createVerify,
  diffieHellman,
  generateKey,
  generateKeyPair,
  generateKeyPairSync,
  generateKeySync,
  KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  Sign,
  secretBytes,
  sign,
  Verify,
  verify,
} from './crypto/keys.ts';
import {
  type Data,
  encodeOut,
  invalidArgType,
  isObject,
  later,
  nodeError,
  outOfRange,
  sys,
  toBytes,
  toHost,
  validateFunction,
  validateInt,
  validateString,
} from './crypto/util.ts';

export {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  createSign,
  createVerify,
  diffieHellman,
  generateKey,
  generateKeyPair,
  generateKeyPairSync,
  generateKeySync,
  KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  Sign,
  sign,
  Verify,
  verify,
};

// --- hashes ---

class Hash {
  #id: number;
  #done = false;
  constructor(algorithm: string, key?: Data | KeyObject, from?: number) {
    if (from !== undefined) {
      this.#id = from;
      return;
    }
    validateString(algorithm, 'algorithm');
    try {
      this.#id = sys('hashNew', algorithm, key === undefined ? undefined : toHost(secretBytes(key)));
    } catch (err) {
      if ((err as Error)?.name === 'NotSupportedError')
        throw new Error(key === undefined ? 'Digest method not supported' : `Invalid digest: ${algorithm}`);
      throw err;
    }
  }
  update(data: Data, encoding?: string): this {
    if (this.#done) throw nodeError(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    sys('hashUpdate', this.#id, toHost(toBytes(data, 'data', encoding)));
    return this;
  }
  digest(encoding?: string): any {
    if (this.#done) throw nodeError(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    this.#done = true;
    return encodeOut(sys('hashDigest', this.#id), encoding);
  }
  copy(): Hash {
    if (this.#done) throw nodeError(Error, 'ERR_CRYPTO_HASH_FINALIZED', 'Digest already called');
    return new Hash('', undefined, sys('hashCopy', this.#id));
  }
}

export { Hash, Hash as Hmac };

export function createHash(algorithm: string): Hash {
  return new Hash(algorithm);
}
export function createHmac(algorithm: string, key: Data | KeyObject): Hash {
  if (key === undefined || key === null)
    throw invalidArgType('key', 'of type string or an instance of Buffer', key);
  return new Hash(algorithm, key);
}
export function hash(algorithm: string, data: Data, encoding = 'hex'): any {
  return new Hash(algorithm).update(data).digest(encoding);
}

const HASHES = [
  'RSA-MD5',
  'RSA-SHA1',
  'RSA-SHA256',
  'RSA-SHA384',
  'RSA-SHA512',
  'blake2b512',
  'blake2s256',
  'md5',
  'md5-sha1',
  'ripemd160',
  'sha1',
  'sha224',
  'sha256',
  'sha3-224',
  'sha3-256',
  'sha3-384',
  'sha3-512',
  'sha384',
  'sha512',
  'sha512-224',
  'sha512-256',
  'shake128',
  'shake256',
];
export const getHashes = (): string[] => [...HASHES];

// --- key derivation ---

function password(v: unknown, name: string): ArrayBuffer {
  if (v instanceof KeyObject) return toHost(secretBytes(v));
  return toHost(toBytes(v, name));
}

export function pbkdf2Sync(
  pass: Data,
  salt: Data,
  iterations: number,
  keylen: number,
  digest: string,
): Buffer {
  validateString(digest, 'digest');
  const p = password(pass, 'password');
  const s = password(salt, 'salt');
  validateInt(iterations, 'iterations', 1);
  validateInt(keylen, 'keylen', 0);
  return encodeOut(sys('ncPbkdf2', p, s, iterations, keylen, digest));
}

export function pbkdf2(
  pass: Data,
  salt: Data,
  iterations: number,
  keylen: number,
  digest: string,
  cb: (err: Error | null, key?: Buffer) => void,
): void {
  if (typeof digest === 'function') validateString(undefined, 'digest');
  validateFunction(cb, 'callback');
  validateString(digest, 'digest');
  validateInt(iterations, 'iterations', 1);
  validateInt(keylen, 'keylen', 0);
  later(cb, () => pbkdf2Sync(pass, salt, iterations, keylen, digest));
}

interface ScryptOptions {
  N?: number;
  r?: number;
  p?: number;
  cost?: number;
  blockSize?: number;
  parallelization?: number;
  maxmem?: number;
}

function scryptParams(options: ScryptOptions | undefined): [number, number, number, number] {
  let N = 16384;
  let r = 8;
  let p = 1;
  let maxmem = 32 << 20;
  if (isObject(options)) {
    const pick = (a: keyof ScryptOptions, b: keyof ScryptOptions, dflt: number): number => {
      if (options[a] !== undefined && options[b] !== undefined)
        throw nodeError(
          TypeError,
          'ERR_INVALID_ARG_VALUE',
          `The argument '${b}' is invalid. Received ${options[b]}`,
        );
      const v = options[a] ?? options[b];
      if (v === undefined) return dflt;
      validateInt(v, options[a] !== undefined ? a : b, 0, 2 ** 32 - 1);
      return v === 0 ? dflt : v;
    };
    N = pick('N', 'cost', N);
    r = pick('r', 'blockSize', r);
    p = pick('p', 'parallelization', p);
    if (options.maxmem !== undefined) {
      validateInt(options.maxmem, 'maxmem', 0, Number.MAX_SAFE_INTEGER);
      if (options.maxmem !== 0) maxmem = options.maxmem;
    }
  }
  return [N, r, p, maxmem];
}

export function scryptSync(pass: Data, salt: Data, keylen: number, options?: ScryptOptions): Buffer {
  const pw = password(pass, 'password');
  const s = password(salt, 'salt');
  validateInt(keylen, 'keylen', 0);
  const [N, r, p, maxmem] = scryptParams(options);
  return encodeOut(sys('ncScrypt', pw, s, keylen, N, r, p, maxmem));
}

export function scrypt(pass: Data, salt: Data, keylen: number, options: any, cb?: any): void {
  if (typeof options === 'function') {
    cb = options;
    options = undefined;
  }
  validateFunction(cb, 'callback');
  password(pass, 'password');
  password(salt, 'salt');
  validateInt(keylen, 'keylen', 0);
  scryptParams(options);
  later(cb, () => scryptSync(pass, salt, keylen, options));
}

export function hkdfSync(
  digest: string,
  ikm: Data | KeyObject,
  salt: Data,
  info: Data,
  keylen: number,
): ArrayBuffer {
  validateString(digest, 'digest');
  const k = password(ikm, 'ikm');
  const s = toHost(toBytes(salt, 'salt'));
  const i = toBytes(info, 'info');
  if (i.byteLength > 1024) throw outOfRange('info', 'must not contain more than 1024 bytes', i.byteLength);
  validateInt(keylen, 'length', 0);
  return sys('ncHkdf', digest, k, s, toHost(i), keylen);
}

export function hkdf(
  digest: string,
  ikm: Data | KeyObject,
  salt: Data,
  info: Data,
  keylen: number,
  cb: (err: Error | null, key?: ArrayBuffer) => void,
): void {
  validateFunction(cb, 'callback');
  validateString(digest, 'digest');
  validateInt(keylen, 'length', 0);
  later(cb, () => hkdfSync(digest, ikm, salt, info, keylen));
}

// --- ciphers ---

const CIPHERS = [
  'aes-128-cbc',
  'aes-128-ctr',
  'aes-128-ecb',
  'aes-128-gcm',
  'aes-192-cbc',
  'aes-192-ctr',
  'aes-192-ecb',
  'aes-192-gcm',
  'aes-256-cbc',
  'aes-256-ctr',
  'aes-256-ecb',
  'aes-256-gcm',
  'chacha20-poly1305',
];
export const getCiphers = (): string[] => [...CIPHERS];
export const getCurves = (): string[] => ['prime256v1', 'secp256k1', 'secp384r1', 'secp521r1'];

class CipherBase {
  #id: number;
  #done = false;
  #decipher: boolean;
  #decoder: any = null;
  #encoding = '';
  #tag: Buffer | null = null;
  constructor(
    decipher: boolean,
    algorithm: string,
    key: unknown,
    iv: unknown,
    options?: { authTagLength?: number },
  ) {
    validateString(algorithm, 'cipher');
    const k = toHost(secretBytes(key, 'key'));
    const i = iv === null || iv === undefined ? null : toHost(toBytes(iv, 'iv'));
    this.#decipher = decipher;
    this.#id = sys('ncCipherNew', decipher, algorithm, k, i, options?.authTagLength);
  }
  #out(b: ArrayBuffer, encoding: string | undefined, last: boolean): any {
    if (!encoding || encoding === 'buffer') return Buffer.from(b);
    if (!this.#decoder || this.#encoding !== encoding) {
      this.#decoder = new StringDecoder(encoding);
      this.#encoding = encoding;
    }
    return last ? this.#decoder.end(Buffer.from(b)) : this.#decoder.write(Buffer.from(b));
  }
  #state(op: string): void {
    if (this.#done) throw nodeError(Error, 'ERR_CRYPTO_INVALID_STATE', `Invalid state for operation ${op}`);
  }
  update(data: Data, inputEncoding?: string, outputEncoding?: string): any {
    this.#state('update');
    const b = toBytes(data, 'data', inputEncoding);
    return this.#out(sys('ncCipherUpdate', this.#id, toHost(b)), outputEncoding, false);
  }
  final(outputEncoding?: string): any {
    this.#state('final');
    this.#done = true;
    const r = sys('ncCipherFinal', this.#id);
    if (r.tag) this.#tag = Buffer.from(r.tag);
    return this.#out(r.out, outputEncoding, true);
  }
  setAutoPadding(autoPadding = true): this {
    this.#state('setAutoPadding');
    sys('ncCipherSet', this.#id, 'padding', !!autoPadding);
    return this;
  }
  setAAD(buffer: Data, options?: { plaintextLength?: number }): this {
    this.#state('setAAD');
    sys('ncCipherSet', this.#id, 'aad', toHost(toBytes(buffer, 'buffer')), options?.plaintextLength);
    return this;
  }
  getAuthTag(): Buffer {
    if (this.#decipher || !this.#tag)
      throw nodeError(Error, 'ERR_CRYPTO_INVALID_STATE', 'Invalid state for operation getAuthTag');
    return Buffer.from(this.#tag);
  }
  setAuthTag(tag: Data, encoding?: string): this {
    if (!this.#decipher)
      throw nodeError(Error, 'ERR_CRYPTO_INVALID_STATE', 'Invalid state for operation setAuthTag');
    this.#state('setAuthTag');
    sys('ncCipherSet', this.#id, 'tag', toHost(toBytes(tag, 'buffer', encoding)));
    return this;
  }
}

export class Cipheriv extends CipherBase {
  constructor(algorithm: string, key: unknown, iv: unknown, options?: { authTagLength?: number }) {
    super(false, algorithm, key, iv, options);
  }
}
export class Decipheriv extends CipherBase {
  constructor(algorithm: string, key: unknown, iv: unknown, options?: { authTagLength?: number }) {
    super(true, algorithm, key, iv, options);
  }
}
export const createCipheriv = (algorithm: string, key: unknown, iv: unknown, options?: any) =>
  new Cipheriv(algorithm, key, iv, options);
export const createDecipheriv = (algorithm: string, key: unknown, iv: unknown, options?: any) =>
  new Decipheriv(algorithm, key, iv, options);

// --- random ---

function fill(view: Uint8Array): void {
  for (let off = 0; off < view.length; off += 65536) crypto.getRandomValues(view.subarray(off, off + 65536));
}

export function randomBytes(size: number, cb?: (err: Error | null, buf: Buffer) => void): any {
  validateInt(size, 'size', 0, 2 ** 31 - 1);
  const buf = Buffer.alloc(size);
  fill(buf);
  if (cb === undefined) return buf;
  validateFunction(cb, 'callback');
  queueMicrotask(() => cb(null, buf));
}
export const pseudoRandomBytes = randomBytes;

function fillArgs(buf: unknown, offset: unknown, size: unknown): Uint8Array {
  if (!(buf instanceof ArrayBuffer) && !ArrayBuffer.isView(buf))
    throw invalidArgType('buf', 'an instance of ArrayBuffer or ArrayBufferView', buf);
  const all = toBytes(buf, 'buf');
  const off = offset === undefined ? 0 : validateInt(offset, 'offset', 0, all.length);
  const n = size === undefined ? all.length - off : validateInt(size, 'size', 0, all.length - off);
  return all.subarray(off, off + n);
}

export function randomFillSync<T>(buf: T, offset?: number, size?: number): T {
  fill(fillArgs(buf, offset, size));
  return buf;
}

export function randomFill(buf: any, offset?: any, size?: any, cb?: any): void {
  if (typeof offset === 'function') [cb, offset, size] = [offset, undefined, undefined];
  else if (typeof size === 'function') [cb, size] = [size, undefined];
  validateFunction(cb, 'callback');
  const view = fillArgs(buf, offset, size);
  fill(view);
  queueMicrotask(() => cb(null, buf));
}

export function randomInt(min: number, max?: any, cb?: any): any {
  if (typeof max === 'function' || max === undefined) {
    cb = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min)) throw invalidArgType('min', 'a safe integer', min);
  if (!Number.isSafeInteger(max)) throw invalidArgType('max', 'a safe integer', max);
  if (max <= min) throw outOfRange('max', `greater than the value of "min" (${min})`, max);
  const range = max - min;
  if (range > 2 ** 48 - 1) throw outOfRange('max - min', '<= 281474976710655', range);
  const limit = 2 ** 48 - (2 ** 48 % range);
  const six = new Uint8Array(6);
  let x: number;
  do {
    fill(six);
    x = six.reduce((a, b) => a * 256 + b, 0);
  } while (x >= limit);
  const n = min + (x % range);
  if (cb === undefined) return n;
  validateFunction(cb, 'callback');
  queueMicrotask(() => cb(null, n));
}

export function timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (!ArrayBuffer.isView(a) && !((a as unknown) instanceof ArrayBuffer))
    throw invalidArgType('buf1', 'an instance of ArrayBuffer, Buffer, TypedArray, or DataView', a);
  if (!ArrayBuffer.isView(b) && !((b as unknown) instanceof ArrayBuffer))
    throw invalidArgType('buf2', 'an instance of ArrayBuffer, Buffer, TypedArray, or DataView', b);
  const x = toBytes(a);
  const y = toBytes(b);
  if (x.byteLength !== y.byteLength)
    throw nodeError(
      RangeError,
      'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH',
      'Input buffers must have the same byte length',
    );
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

export const randomUUID = (): string => crypto.randomUUID();
export const getRandomValues = <T extends ArrayBufferView>(a: T): T => crypto.getRandomValues(a);
export const webcrypto = crypto;
export const subtle = crypto.subtle;
export const getFips = (): number => 0;

export const constants = Object.freeze({
  RSA_PKCS1_PADDING: 1,
  RSA_NO_PADDING: 3,
  RSA_PKCS1_OAEP_PADDING: 4,
  RSA_X931_PADDING: 5,
  RSA_PKCS1_PSS_PADDING: 6,
  RSA_PSS_SALTLEN_DIGEST: -1,
  RSA_PSS_SALTLEN_MAX_SIGN: -2,
  RSA_PSS_SALTLEN_AUTO: -2,
  POINT_CONVERSION_COMPRESSED: 2,
  POINT_CONVERSION_UNCOMPRESSED: 4,
  POINT_CONVERSION_HYBRID: 6,
});

export default {
  Cipheriv,
  Decipheriv,
  Hash,
  Hmac: Hash,
  KeyObject,
  Sign,
  Verify,
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  createSign,
  createVerify,
  diffieHellman,
  generateKey,
  generateKeyPair,
  generateKeyPairSync,
  generateKeySync,
  getCiphers,
  getCurves,
  getFips,
  getHashes,
  getRandomValues,
  hash,
  hkdf,
  hkdfSync,
  pbkdf2,
  pbkdf2Sync,
  privateDecrypt,
  privateEncrypt,
  pseudoRandomBytes,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  randomFill,
  randomFillSync,
  randomInt,
  randomUUID,
  scrypt,
  scryptSync,
  sign,
  subtle,
  timingSafeEqual,
  verify,
  webcrypto,
};
