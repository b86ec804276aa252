/**
 * crypto.subtle inside the isolate: argument checks and conversion, then the host does the work
 * (src/runtime/bridge/subtle.ts). A CryptoKey holds its key material in a private field the
 * worker cannot read; the host imports it again (cached) for each operation.
 */

import { rejectedIntrinsic } from './async.ts';
import { callAsyncSealed, callSync, unseal } from './bridge.ts';
import { catchInFrame } from './context.ts';
import { DOMException } from './events.ts';

const KEY_MARK = '__outpostKey';
let constructing = false;

interface Descriptor {
  /** Key material and import parameters (see src/runtime/bridge/subtle.ts): never exposed. */
  __outpostKey: object;
  type: string;
  extractable: boolean;
  algorithm: Record<string, unknown>;
  usages: string[];
}

/** The material to send back to the host (prelude-internal; never on the class). */
let materialOf: (k: CryptoKey) => object;

export class CryptoKey {
  // A private field: tenant code has no way to read it, so a non-extractable key stays so.
  #material: object;
  readonly type!: string;
  readonly extractable!: boolean;
  readonly algorithm!: Readonly<Record<string, unknown>>;
  readonly usages!: readonly string[];
  constructor(d: Descriptor) {
    if (!constructing) throw new TypeError('Illegal constructor');
    this.#material = d[KEY_MARK];
    Object.defineProperties(this, {
      type: { value: d.type, enumerable: true },
      extractable: { value: d.extractable, enumerable: true },
      algorithm: { value: deepFreeze(d.algorithm), enumerable: true },
      usages: { value: Object.freeze(d.usages), enumerable: true },
    });
  }
  get [Symbol.toStringTag]() {
    return 'CryptoKey';
  }
  static {
    // Module-private: a static method would be reachable as the global CryptoKey.material().
    materialOf = (k) => k.#material;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !ArrayBuffer.isView(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const hasOwn = Object.hasOwn;
/**
 * `o[k]` if `o` has it as its own: a host descriptor holds a key's material, and a property it
 * lacks would be looked up on Object.prototype, where tenant code may have put a getter (handed
 * the descriptor as `this`).
 */
function own(o: any, k: string): any {
  return o !== null && typeof o === 'object' && hasOwn(o, k) ? o[k] : undefined;
}

function wrapKey(d: any): CryptoKey {
  constructing = true;
  try {
    return new CryptoKey({
      [KEY_MARK]: own(d, KEY_MARK),
      type: own(d, 'type'),
      extractable: own(d, 'extractable'),
      algorithm: own(d, 'algorithm'),
      usages: own(d, 'usages'),
    });
  } finally {
    constructing = false;
  }
}

function fromHost(r: any): any {
  if (own(r, KEY_MARK) !== undefined) return wrapKey(r);
  const publicKey = own(r, 'publicKey');
  const privateKey = own(r, 'privateKey');
  if (own(publicKey, KEY_MARK) !== undefined && own(privateKey, KEY_MARK) !== undefined)
    return { publicKey: wrapKey(publicKey), privateKey: wrapKey(privateKey) };
  return r;
}

function bufferSource(v: unknown, what: string): ArrayBuffer {
  if (v instanceof ArrayBuffer) return v.slice(0);
  if (ArrayBuffer.isView(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  throw new TypeError(
    `Failed to execute '${what}' on 'SubtleCrypto': parameter is not of type 'BufferSource'.`,
  );
}

function keyRef(k: unknown, what: string): { __outpostKey: object } {
  if (!(k instanceof CryptoKey))
    throw new TypeError(
      `Failed to execute '${what}' on 'SubtleCrypto': parameter is not of type 'CryptoKey'.`,
    );
  return { [KEY_MARK]: materialOf(k) };
}

/** Algorithm identifiers: strings pass; objects are copied with BufferSources and keys converted. */
function algorithm(a: unknown, what: string): unknown {
  if (typeof a === 'string') return a;
  if (!a || typeof a !== 'object')
    throw new TypeError(`Failed to execute '${what}' on 'SubtleCrypto': Algorithm: name is missing.`);
  // No prototype: an assignment to a key the worker chose must not reach a setter it put on
  // Object.prototype (a key reference holds the key's material).
  const out: Record<string, unknown> = { __proto__: null } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (v instanceof CryptoKey) out[k] = keyRef(v, what);
    else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) out[k] = bufferSource(v, what);
    else if (v && typeof v === 'object') out[k] = algorithm(v, what);
    else out[k] = v;
  }
  if (typeof out.name !== 'string')
    throw new TypeError(`Failed to execute '${what}' on 'SubtleCrypto': Algorithm: name is missing.`);
  return out;
}

function usages(u: unknown, what: string): string[] {
  if (!Array.isArray(u))
    throw new TypeError(`Failed to execute '${what}' on 'SubtleCrypto': keyUsages is not a sequence.`);
  return u.map(String);
}

function keyData(format: string, data: unknown, what: string): unknown {
  if (format === 'jwk') {
    if (!data || typeof data !== 'object' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer)
      throw new TypeError(
        `Failed to execute '${what}' on 'SubtleCrypto': keyData must be a JsonWebKey for format 'jwk'.`,
      );
    return JSON.parse(JSON.stringify(data));
  }
  return bufferSource(data, what);
}

async function call(op: string, args: unknown[]): Promise<any> {
  // Sealed: what the host answers (a key's material) is never readable from a value a promise
  // resolves to (bridge.ts).
  return fromHost(unseal(await callAsyncSealed('subtle', op, args)));
}

export class SubtleCrypto {
  constructor() {
    if (!constructing) throw new TypeError('Illegal constructor');
  }
  digest(alg: unknown, data: unknown) {
    return run(() => call('digest', [algorithm(alg, 'digest'), bufferSource(data, 'digest')]));
  }
  encrypt(alg: unknown, key: unknown, data: unknown) {
    return run(() =>
      call('encrypt', [algorithm(alg, 'encrypt'), keyRef(key, 'encrypt'), bufferSource(data, 'encrypt')]),
    );
  }
  decrypt(alg: unknown, key: unknown, data: unknown) {
    return run(() =>
      call('decrypt', [algorithm(alg, 'decrypt'), keyRef(key, 'decrypt'), bufferSource(data, 'decrypt')]),
    );
  }
  sign(alg: unknown, key: unknown, data: unknown) {
    return run(() => call('sign', [algorithm(alg, 'sign'), keyRef(key, 'sign'), bufferSource(data, 'sign')]));
  }
  verify(alg: unknown, key: unknown, signature: unknown, data: unknown) {
    return run(() =>
      call('verify', [
        algorithm(alg, 'verify'),
        keyRef(key, 'verify'),
        bufferSource(signature, 'verify'),
        bufferSource(data, 'verify'),
      ]),
    );
  }
  generateKey(alg: unknown, extractable: unknown, keyUsages: unknown) {
    return run(() =>
      call('generateKey', [algorithm(alg, 'generateKey'), !!extractable, usages(keyUsages, 'generateKey')]),
    );
  }
  importKey(format: unknown, data: unknown, alg: unknown, extractable: unknown, keyUsages: unknown) {
    return run(() => {
      const f = String(format);
      return call('importKey', [
        f,
        keyData(f, data, 'importKey'),
        algorithm(alg, 'importKey'),
        !!extractable,
        usages(keyUsages, 'importKey'),
      ]);
    });
  }
  exportKey(format: unknown, key: unknown) {
    return run(() => call('exportKey', [String(format), keyRef(key, 'exportKey')]));
  }
  deriveBits(alg: unknown, baseKey: unknown, length?: unknown) {
    return run(() =>
      call('deriveBits', [
        algorithm(alg, 'deriveBits'),
        keyRef(baseKey, 'deriveBits'),
        length === undefined || length === null ? null : Number(length),
      ]),
    );
  }
  deriveKey(alg: unknown, baseKey: unknown, derivedAlg: unknown, extractable: unknown, keyUsages: unknown) {
    return run(() =>
      call('deriveKey', [
        algorithm(alg, 'deriveKey'),
        keyRef(baseKey, 'deriveKey'),
        algorithm(derivedAlg, 'deriveKey'),
        !!extractable,
        usages(keyUsages, 'deriveKey'),
      ]),
    );
  }
  wrapKey(format: unknown, key: unknown, wrappingKey: unknown, wrapAlg: unknown) {
    return run(() =>
      call('wrapKey', [
        String(format),
        keyRef(key, 'wrapKey'),
        keyRef(wrappingKey, 'wrapKey'),
        algorithm(wrapAlg, 'wrapKey'),
      ]),
    );
  }
  unwrapKey(
    format: unknown,
    wrapped: unknown,
    unwrappingKey: unknown,
    unwrapAlg: unknown,
    keyAlg: unknown,
    extractable: unknown,
    keyUsages: unknown,
  ) {
    return run(() =>
      call('unwrapKey', [
        String(format),
        bufferSource(wrapped, 'unwrapKey'),
        keyRef(unwrappingKey, 'unwrapKey'),
        algorithm(unwrapAlg, 'unwrapKey'),
        algorithm(keyAlg, 'unwrapKey'),
        !!extractable,
        usages(keyUsages, 'unwrapKey'),
      ]),
    );
  }
  /** Workers' non-standard constant-time comparison (https://developers.cloudflare.com/workers/runtime-apis/web-crypto/#timingsafeequal). */
  timingSafeEqual(a: unknown, b: unknown): boolean {
    const x = new Uint8Array(bufferSource(a, 'timingSafeEqual'));
    const y = new Uint8Array(bufferSource(b, 'timingSafeEqual'));
    if (x.byteLength !== y.byteLength) throw new TypeError('Input buffers must have the same byte length.');
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }
}

/** Argument errors reject the returned promise (WebCrypto methods never throw synchronously). */
function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return rejectedIntrinsic(err);
  }
}

export function makeSubtle(): SubtleCrypto {
  constructing = true;
  try {
    return new SubtleCrypto();
  } finally {
    constructing = false;
  }
}

const DIGESTS = new Set(['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'MD5']);

/**
 * crypto.DigestStream (Workers): a WritableStream whose `digest` promise resolves with the hash
 * of everything written. Hashing is incremental on the host.
 */
export function makeDigestStream(): any {
  const { WritableStream } = globalThis as any;
  return class DigestStream extends WritableStream {
    readonly digest: Promise<ArrayBuffer>;
    constructor(alg: unknown) {
      const name = (typeof alg === 'string' ? alg : ((alg as any)?.name ?? '')).toUpperCase();
      if (!DIGESTS.has(name))
        throw new DOMException(`Unrecognized algorithm name: ${String(name)}`, 'NotSupportedError');
      const id: number = callSync('hashNew', name);
      let resolve!: (b: ArrayBuffer) => void;
      let reject!: (e: unknown) => void;
      const digest = new Promise<ArrayBuffer>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A write that fails errors the stream without calling abort(): the host's hash is
      // dropped and `digest` rejects here, or the hash stayed on the host (1,000 such and the
      // isolate could make no more) and `digest` never settled.
      const fail = (err: unknown) => {
        callSync('hashDrop', id);
        reject(err);
        throw err;
      };
      super({
        write(chunk: unknown) {
          try {
            callSync('hashUpdate', id, bufferSource(chunk, 'write'));
          } catch (err) {
            fail(err);
          }
        },
        close() {
          try {
            resolve(callSync('hashDigest', id));
          } catch (err) {
            fail(err);
          }
        },
        abort(reason: unknown) {
          callSync('hashDrop', id);
          reject(reason);
        },
      });
      catchInFrame(digest, () => {});
      this.digest = digest;
    }
  };
}
