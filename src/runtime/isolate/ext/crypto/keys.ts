/**
 * node:crypto's KeyObject, key import/export, key pairs, sign/verify and RSA encryption.
 * A KeyObject holds its key's material (raw bytes, or SPKI / PKCS#8 DER) where tenant code
 * cannot reach it but through export(), as in Node; each use sends it to the host, which parses
 * and checks it again (src/runtime/bridge/node-crypto.ts).
 */
import { Buffer } from 'node:buffer';
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
  validateString,
} from './util.ts';

interface KeyInfo {
  type: 'secret' | 'public' | 'private';
  material: ArrayBuffer;
  asymmetricKeyType?: string;
  details?: Record<string, unknown>;
  symmetricKeySize?: number;
}

const infos = new WeakMap<object, KeyInfo>();
const token = Symbol('KeyObject');

export class KeyObject {
  constructor(type: unknown, handle?: unknown) {
    if (handle !== token || !isObject(type))
      throw nodeError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor');
    infos.set(this, type as unknown as KeyInfo);
  }
  static from(key: unknown): KeyObject {
    throw invalidArgType(
      'key',
      'an instance of CryptoKey (KeyObject.from is not available on Outpost: export the CryptoKey and import it)',
      key,
    );
  }
  get type(): string {
    return info(this).type;
  }
  get asymmetricKeyType(): string | undefined {
    return info(this).asymmetricKeyType;
  }
  get asymmetricKeyDetails(): Record<string, unknown> | undefined {
    const i = info(this);
    if (i.type === 'secret') return undefined;
    const d: Record<string, unknown> = { ...i.details };
    if (typeof d.publicExponent === 'number') d.publicExponent = BigInt(d.publicExponent);
    return d;
  }
  get symmetricKeySize(): number | undefined {
    return info(this).symmetricKeySize;
  }
  export(options?: Record<string, unknown>): any {
    const i = info(this);
    if (i.type === 'secret') {
      const raw = Buffer.from(i.material.slice(0));
      // The buffer package has no base64url.
      if (options?.format === 'jwk')
        return {
          kty: 'oct',
          k: raw.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
        };
      return raw;
    }
    if (!isObject(options)) throw invalidArgType('options', 'of type object', options);
    const o: Record<string, unknown> = { format: options.format ?? 'pem', type: options.type };
    if (options.cipher !== undefined) {
      o.cipher = validateString(options.cipher, 'options.cipher');
      o.passphrase = toHost(toBytes(options.passphrase, 'options.passphrase', options.encoding as string));
    }
    const r = sys('ncKeyExport', hostKey(this), o);
    return r instanceof ArrayBuffer ? Buffer.from(r) : r;
  }
  equals(other: unknown): boolean {
    if (!(other instanceof KeyObject))
      throw invalidArgType('otherKeyObject', 'an instance of KeyObject', other);
    const a = info(this);
    const b = info(other);
    if (a.type !== b.type || a.material.byteLength !== b.material.byteLength) return false;
    const x = new Uint8Array(a.material);
    const y = new Uint8Array(b.material);
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }
  get [Symbol.toStringTag](): string {
    return 'KeyObject';
  }
}

function info(k: object): KeyInfo {
  const i = infos.get(k);
  if (!i) throw invalidArgType('key', 'an instance of KeyObject', k);
  return i;
}

function make(i: KeyInfo): KeyObject {
  return new KeyObject(i, token);
}

/** What the host is sent for a key it should use. */
export function hostKey(k: KeyObject): { type: string; material: ArrayBuffer } {
  const i = info(k);
  return { type: i.type, material: i.material };
}

/** The raw bytes of a secret key, or of key data given as bytes/string. */
export function secretBytes(key: unknown, name = 'key', encoding?: string): Uint8Array {
  if (key instanceof KeyObject) {
    const i = info(key);
    if (i.type !== 'secret')
      throw nodeError(
        TypeError,
        'ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE',
        `Invalid key object type ${i.type}, expected secret.`,
      );
    return new Uint8Array(i.material.slice(0));
  }
  return toBytes(key, name, encoding);
}

export function createSecretKey(key: Data, encoding?: string): KeyObject {
  const b = toBytes(key, 'key', encoding).slice();
  return make({ type: 'secret', material: b.buffer as ArrayBuffer, symmetricKeySize: b.byteLength });
}

/** Key input as Node takes it (PEM string or bytes, or { key, format, type, passphrase }). */
function keyInput(key: unknown): Record<string, unknown> {
  if (typeof key === 'string') return { key, format: 'pem' };
  if (key instanceof ArrayBuffer || ArrayBuffer.isView(key))
    return { key: toHost(toBytes(key)), format: 'pem' };
  if (!isObject(key))
    throw invalidArgType(
      'key',
      'of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, or KeyObject',
      key,
    );
  const format = key.format ?? 'pem';
  const input: Record<string, unknown> = { format };
  if (format === 'jwk') {
    if (!isObject(key.key)) throw invalidArgType('key.key', 'of type object', key.key);
    input.key = JSON.parse(JSON.stringify(key.key));
  } else if (typeof key.key === 'string' && format === 'pem') input.key = key.key;
  else input.key = toHost(toBytes(key.key, 'key.key', key.encoding));
  if (key.type !== undefined) input.type = key.type;
  if (key.passphrase !== undefined) input.passphrase = toHost(toBytes(key.passphrase, 'key.passphrase'));
  return input;
}

export function createPublicKey(key: unknown): KeyObject {
  const k = isObject(key) && !(key instanceof KeyObject) && key.key instanceof KeyObject ? key.key : key;
  if (k instanceof KeyObject) {
    const i = info(k);
    if (i.type !== 'private')
      throw nodeError(
        TypeError,
        'ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE',
        `Invalid key object type ${i.type}, expected private.`,
      );
    return make(sys('ncKeyImport', 'public', null, hostKey(k)));
  }
  return make(sys('ncKeyImport', 'public', keyInput(key)));
}

export function createPrivateKey(key: unknown): KeyObject {
  if (key instanceof KeyObject) throw invalidArgType('key', 'of type string or an instance of Buffer', key);
  return make(sys('ncKeyImport', 'private', keyInput(key)));
}

function asKey(key: unknown, want: 'public' | 'private'): KeyObject {
  if (key instanceof KeyObject) return key;
  if (isObject(key) && key.key instanceof KeyObject) return key.key;
  // A public operation takes a private key too (its public half), as Node does.
  return want === 'public' ? createPublicKey(key) : createPrivateKey(key);
}

function signOptions(key: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (isObject(key) && !(key instanceof KeyObject))
    for (const k of ['padding', 'saltLength', 'dsaEncoding']) if (key[k] !== undefined) o[k] = key[k];
  return o;
}

function algorithm(alg: unknown): string | null {
  if (alg === null || alg === undefined) return null;
  return validateString(alg, 'algorithm');
}

export function sign(
  alg: unknown,
  data: Data,
  key: unknown,
  cb?: (err: Error | null, sig?: Buffer) => void,
): any {
  const run = () => {
    const k = asKey(key, 'private');
    return encodeOut(sys('ncSign', algorithm(alg), toHost(toBytes(data)), hostKey(k), signOptions(key)));
  };
  if (cb === undefined) return run();
  validateFunction(cb, 'callback');
  later(cb, run);
}

export function verify(
  alg: unknown,
  data: Data,
  key: unknown,
  signature: Data,
  cb?: (err: Error | null, ok?: boolean) => void,
): any {
  const run = (): boolean => {
    const k = asKey(key, 'public');
    return sys(
      'ncVerify',
      algorithm(alg),
      toHost(toBytes(data)),
      hostKey(k),
      signOptions(key),
      toHost(toBytes(signature, 'signature')),
    );
  };
  if (cb === undefined) return run();
  validateFunction(cb, 'callback');
  later(cb, run);
}

class Signer {
  protected chunks: Uint8Array[] = [];
  protected alg: string;
  constructor(alg: unknown) {
    this.alg = validateString(alg, 'algorithm');
  }
  update(data: Data, encoding?: string): this {
    this.chunks.push(toBytes(data, 'data', encoding).slice());
    return this;
  }
  protected data(): Uint8Array {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    return all;
  }
}

export class Sign extends Signer {
  sign(key: unknown, encoding?: string): any {
    const sig: Buffer = sign(this.alg, this.data(), key);
    return encoding && encoding !== 'buffer' ? sig.toString(encoding as BufferEncoding) : sig;
  }
}

export class Verify extends Signer {
  verify(key: unknown, signature: Data, encoding?: string): boolean {
    return verify(this.alg, this.data(), key, toBytes(signature, 'signature', encoding));
  }
}

export const createSign = (alg: string) => new Sign(alg);
export const createVerify = (alg: string) => new Verify(alg);

function rsaOp(op: string, want: 'public' | 'private') {
  return (key: unknown, buffer: Data): Buffer => {
    const k = asKey(key, want);
    const o: Record<string, unknown> = {};
    if (isObject(key) && !(key instanceof KeyObject)) {
      if (key.padding !== undefined) o.padding = key.padding;
      if (key.oaepHash !== undefined) o.oaepHash = key.oaepHash;
      if (key.oaepLabel !== undefined) o.oaepLabel = toHost(toBytes(key.oaepLabel, 'oaepLabel'));
    }
    return encodeOut(sys('ncRsa', op, hostKey(k), o, toHost(toBytes(buffer, 'buffer'))));
  };
}

export const publicEncrypt = rsaOp('publicEncrypt', 'public');
export const publicDecrypt = rsaOp('publicDecrypt', 'public');
export const privateEncrypt = rsaOp('privateEncrypt', 'private');
export const privateDecrypt = rsaOp('privateDecrypt', 'private');

export function diffieHellman(options: { privateKey: KeyObject; publicKey: KeyObject }): Buffer {
  if (!isObject(options)) throw invalidArgType('options', 'of type object', options);
  if (!(options.privateKey instanceof KeyObject))
    throw invalidArgType('options.privateKey', 'an instance of KeyObject', options.privateKey);
  if (!(options.publicKey instanceof KeyObject))
    throw invalidArgType('options.publicKey', 'an instance of KeyObject', options.publicKey);
  return encodeOut(sys('ncDiffieHellman', hostKey(options.privateKey), hostKey(options.publicKey)));
}

function plainOptions(options: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (!isObject(options)) return o;
  for (const [k, v] of Object.entries(options)) {
    if (k === 'publicKeyEncoding' || k === 'privateKeyEncoding') continue;
    if (typeof v === 'bigint') o[k] = Number(v);
    else if (v === null || typeof v !== 'object') o[k] = v;
  }
  return o;
}

export function generateKeyPairSync(type: string, options?: Record<string, any>): any {
  validateString(type, 'type');
  const pair = sys('ncKeyPair', type, plainOptions(options));
  const publicKey = make(pair.publicKey);
  const privateKey = make(pair.privateKey);
  return {
    publicKey: options?.publicKeyEncoding ? publicKey.export(options.publicKeyEncoding) : publicKey,
    privateKey: options?.privateKeyEncoding ? privateKey.export(options.privateKeyEncoding) : privateKey,
  };
}

export function generateKeyPair(type: string, options: any, cb?: any): void {
  if (typeof options === 'function') {
    cb = options;
    options = undefined;
  }
  validateFunction(cb, 'callback');
  const m = options?.modulusLength;
  if (type === 'rsa' && typeof m === 'number' && m > 2048) {
    // Larger RSA keys take the host seconds: made with crypto.subtle, on the host's thread pool
    // (crypto-gate.ts), not on its main thread as generateKeyPairSync's are.
    subtleRsaPair(m, options).then(
      (pair) => cb(null, pair.publicKey, pair.privateKey),
      (err) => cb(err),
    );
    return;
  }
  let pair: any;
  try {
    pair = generateKeyPairSync(type, options);
  } catch (err) {
    queueMicrotask(() => cb(err));
    return;
  }
  queueMicrotask(() => cb(null, pair.publicKey, pair.privateKey));
}

async function subtleRsaPair(modulusLength: number, options: Record<string, any>): Promise<any> {
  const e = options.publicExponent ?? 65537;
  if (e !== 3 && e !== 65537) throw outOfRange('options.publicExponent', '3 or 65537', e);
  const subtle = crypto.subtle as any;
  const pair = await subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength,
      publicExponent: new Uint8Array(e === 3 ? [3] : [1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  );
  const der = await subtle.exportKey('pkcs8', pair.privateKey);
  const privateKey = createPrivateKey({ key: new Uint8Array(der), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return {
    publicKey: options.publicKeyEncoding ? publicKey.export(options.publicKeyEncoding) : publicKey,
    privateKey: options.privateKeyEncoding ? privateKey.export(options.privateKeyEncoding) : privateKey,
  };
}

/** generateKeySync('hmac' | 'aes', { length }): random bytes made here. */
export function generateKeySync(type: string, options: { length: number }): KeyObject {
  validateString(type, 'type');
  if (!isObject(options)) throw invalidArgType('options', 'of type object', options);
  const length = options.length;
  if (type === 'hmac') {
    if (!Number.isInteger(length) || length < 8 || length > 65536)
      throw outOfRange('options.length', '>= 8 && <= 65536 (Outpost)', length);
  } else if (type === 'aes') {
    if (length !== 128 && length !== 192 && length !== 256)
      throw nodeError(
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        `The property 'options.length' must be one of: 128, 192, 256. Received ${length}`,
      );
  } else {
    throw nodeError(
      TypeError,
      'ERR_INVALID_ARG_VALUE',
      `The argument 'type' must be a supported key type. Received '${type}'`,
    );
  }
  const b = new Uint8Array(Math.floor(length / 8));
  for (let off = 0; off < b.length; off += 65536) crypto.getRandomValues(b.subarray(off, off + 65536));
  return createSecretKey(b);
}

export function generateKey(
  type: string,
  options: { length: number },
  cb: (e: Error | null, k?: KeyObject) => void,
) {
  validateFunction(cb, 'callback');
  later(cb, () => generateKeySync(type, options));
}
