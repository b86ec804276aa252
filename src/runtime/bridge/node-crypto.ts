/**
 * The host side of node:crypto (src/runtime/isolate/ext/node-crypto.ts): key derivation
 * (pbkdf2, scrypt, hkdf), ciphers, key objects, sign/verify and key pair generation, done by the
 * host's node:crypto. Every call is a synchronous syscall charged to the request as CPU
 * (syscalls.ts, CHARGED), and every knob that scales one call's work is capped before it starts
 * (./crypto-limits.ts).
 *
 * Ciphers are handles in a table per isolate (like HashTable): at most CIPHERS_MAX unfinished,
 * each freed by final() or when the isolate goes. Keys are not kept: the isolate holds a key's
 * material (raw bytes, SPKI or PKCS#8 DER) and sends it back with each use; the host parses it
 * again, through a process-wide cache by hash, and checks its size again (material comes from
 * the isolate, which a tampered prelude could forge).
 *
 * Errors keep Node's codes: they cross as `[CODE] message` (crypto-limits.ts nodeError) and the
 * extension sets `err.code`.
 */
import * as nc from 'node:crypto';
import {
  checkNodePbkdf2,
  checkScrypt,
  NODE_RSA_SYNC_MAX_BITS,
  nodeError,
  RSA_IMPORT_MAX_BITS,
} from './crypto-limits.ts';
import { NamedError } from './named-error.ts';

/** Ciphers offered (createCipheriv / getCiphers): what Workers documents, nothing legacy. */
export const CIPHERS = [
  'aes-128-cbc',
  'aes-192-cbc',
  'aes-256-cbc',
  'aes-128-ctr',
  'aes-192-ctr',
  'aes-256-ctr',
  'aes-128-ecb',
  'aes-192-ecb',
  'aes-256-ecb',
  'aes-128-gcm',
  'aes-192-gcm',
  'aes-256-gcm',
  'chacha20-poly1305',
];
const AEAD = /-gcm$|^chacha20-poly1305$/;
const CIPHERS_MAX = 1000;
/** Private key encryption (KeyObject.export with a passphrase): a subset of CIPHERS. */
const EXPORT_CIPHERS = new Set(['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc']);

const HASHES = new Set(nc.getHashes().map((h) => h.toLowerCase()));

function digestOf(name: unknown): string {
  if (typeof name !== 'string')
    throw nodeError(
      'ERR_INVALID_ARG_TYPE',
      `The "digest" argument must be of type string. Received ${typeof name}`,
      'TypeError',
    );
  if (!HASHES.has(name.toLowerCase()))
    throw nodeError('ERR_CRYPTO_INVALID_DIGEST', `Invalid digest: ${name.slice(0, 100)}`, 'TypeError');
  return name;
}

function bytes(v: unknown, what: string): Buffer {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw nodeError('ERR_INVALID_ARG_TYPE', `The "${what}" argument must be a buffer`, 'TypeError');
}

function out(b: Buffer | ArrayBuffer): ArrayBuffer {
  if (b instanceof ArrayBuffer) return b;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function uint(v: unknown, what: string, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw nodeError(
      'ERR_OUT_OF_RANGE',
      `The value of "${what}" is out of range. It must be >= 0 && <= ${max}. Received ${String(v)}`,
    );
  return v;
}

/** Node's errors as they cross: code in the message, a JS error class as the name. */
function fromNode(err: unknown): NamedError {
  if (err instanceof NamedError) return err;
  const e = err as Error & { code?: string };
  const name = e?.name === 'TypeError' || e?.name === 'RangeError' ? e.name : 'Error';
  const message = String(e?.message ?? err);
  return e?.code ? nodeError(e.code, message, name) : new NamedError(message, name);
}

function guarded<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      throw fromNode(err);
    }
  };
}

// --- keys ---

type KeyType = 'secret' | 'public' | 'private';

/** What the isolate holds for a key (and sends back with each use). */
export interface KeyInfo {
  type: KeyType;
  material: ArrayBuffer;
  asymmetricKeyType?: string;
  details?: Record<string, unknown>;
  symmetricKeySize?: number;
}

const parsed = new Map<string, nc.KeyObject>();
const PARSED_MAX = 500;

/** Refuse a key whose every use would be unbounded (workerd's strict_crypto rule for RSA). */
function checkKey(ko: nc.KeyObject): nc.KeyObject {
  const d = ko.asymmetricKeyDetails;
  if (d?.modulusLength !== undefined && d.modulusLength > RSA_IMPORT_MAX_BITS)
    throw nodeError(
      'ERR_OUT_OF_RANGE',
      `Keys with a modulus above ${RSA_IMPORT_MAX_BITS} bits are not supported (this key has ${d.modulusLength}).`,
    );
  if (typeof d?.publicExponent === 'bigint' && d.publicExponent >= 2n ** 32n)
    throw nodeError('ERR_OUT_OF_RANGE', 'RSA public exponents larger than 2^32 are not supported.');
  return ko;
}

function describe(ko: nc.KeyObject): KeyInfo {
  if (ko.type === 'secret') {
    const raw = ko.export();
    return { type: 'secret', material: out(raw), symmetricKeySize: raw.byteLength };
  }
  const der = ko.export({ format: 'der', type: ko.type === 'private' ? 'pkcs8' : 'spki' } as never) as Buffer;
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ko.asymmetricKeyDetails ?? {}))
    details[k] = typeof v === 'bigint' ? Number(v) : v;
  return { type: ko.type, material: out(der), asymmetricKeyType: ko.asymmetricKeyType, details };
}

/** The host KeyObject for a key the isolate holds. */
function keyOf(v: unknown): nc.KeyObject {
  const k = v as KeyInfo;
  if (!k || typeof k !== 'object' || !['secret', 'public', 'private'].includes(k.type))
    throw nodeError('ERR_INVALID_ARG_TYPE', 'The "key" argument must be a KeyObject', 'TypeError');
  const material = bytes(k.material, 'key');
  const id = `${k.type}:${nc.createHash('sha256').update(material).digest('base64')}`;
  const hit = parsed.get(id);
  if (hit) {
    parsed.delete(id);
    parsed.set(id, hit);
    return hit;
  }
  const ko =
    k.type === 'secret'
      ? nc.createSecretKey(material)
      : k.type === 'public'
        ? nc.createPublicKey({ key: material, format: 'der', type: 'spki' })
        : nc.createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  checkKey(ko);
  parsed.set(id, ko);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value as string);
  return ko;
}

// A minimal DER reader: enough to find the key derivation settings of an encrypted PKCS#8 key.
interface Tlv {
  tag: number;
  start: number;
  end: number;
}
function tlv(b: Uint8Array, at: number): Tlv {
  if (at + 2 > b.length) throw new Error('truncated');
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > b.length) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  if (start + len > b.length) throw new Error('truncated');
  return { tag, start, end: start + len };
}
function children(b: Uint8Array, t: Tlv): Tlv[] {
  const list: Tlv[] = [];
  for (let at = t.start; at < t.end && list.length < 8; ) {
    const c = tlv(b, at);
    list.push(c);
    at = c.end;
  }
  return list;
}
function oid(b: Uint8Array, t: Tlv): string {
  return Buffer.from(b.subarray(t.start, t.end)).toString('hex');
}
function int(b: Uint8Array, t: Tlv): number {
  if (t.tag !== 0x02 || t.end - t.start > 6) return Number.POSITIVE_INFINITY;
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + b[i];
  return v;
}

const PBES2 = '2a864886f70d01050d';
const PBKDF2 = '2a864886f70d01050c';
const SCRYPT = '2b06010401da47040b';

/**
 * Refuse an encrypted PKCS#8 key whose key derivation would be unbounded host work (the
 * iteration count, or scrypt's N, r, p, are the key's author's to choose): PBES2 with PBKDF2
 * or scrypt under the caps of pbkdf2/scrypt, PBES1 and PKCS#12 schemes up to 100,000
 * iterations. `der` is the EncryptedPrivateKeyInfo.
 */
function checkEncryptedPkcs8(der: Uint8Array): void {
  try {
    const [alg] = children(der, tlv(der, 0));
    const [algOid, params] = children(der, alg);
    if (oid(der, algOid) === PBES2) {
      const [kdf] = children(der, params);
      const [kdfOid, kdfParams] = children(der, kdf);
      const p = children(der, kdfParams);
      // A 32-byte key from a 20-byte hash at most: two blocks.
      if (oid(der, kdfOid) === PBKDF2) checkNodePbkdf2(int(der, p[1]), 32, 20);
      else if (oid(der, kdfOid) === SCRYPT)
        checkScrypt(int(der, p[1]), int(der, p[2]), int(der, p[3]), 64 * 1024 * 1024, 32);
      else throw new Error('unknown key derivation');
      return;
    }
    checkNodePbkdf2(int(der, children(der, params)[1]), 32, 20);
  } catch (err) {
    if (err instanceof NamedError) throw err;
    throw nodeError(
      'ERR_CRYPTO_OPERATION_FAILED',
      'Outpost cannot read the key derivation settings of this encrypted private key, so it does not decrypt it.',
      'Error',
    );
  }
}

const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----([\s\S]*?)-----END/;

interface KeyInput {
  key: string | ArrayBuffer | Record<string, unknown>;
  format?: string;
  type?: string;
  passphrase?: ArrayBuffer;
  encoding?: string;
}

function keyInput(v: unknown): Record<string, unknown> {
  const k = v as KeyInput;
  if (!k || typeof k !== 'object') throw nodeError('ERR_INVALID_ARG_TYPE', 'invalid key input', 'TypeError');
  const format = k.format ?? 'pem';
  if (!['pem', 'der', 'jwk'].includes(format))
    throw nodeError('ERR_INVALID_ARG_VALUE', `The property 'key.format' is invalid. Received '${format}'`);
  const key =
    format === 'jwk'
      ? k.key
      : typeof k.key === 'string'
        ? k.key
        : k.key instanceof ArrayBuffer
          ? Buffer.from(k.key)
          : undefined;
  if (key === undefined || key === null)
    throw nodeError(
      'ERR_INVALID_ARG_TYPE',
      'The "key.key" property must be of type string or an instance of Buffer, TypedArray, DataView, or KeyObject.',
      'TypeError',
    );
  // Decrypting a private key runs its KDF with the key's own settings: checked before, whatever
  // form the key came in (PEM as text or as bytes, DER), every encrypted block of it.
  if (format === 'pem' && (typeof key === 'string' || Buffer.isBuffer(key))) {
    const text = typeof key === 'string' ? key : key.toString('latin1');
    for (const m of text.matchAll(new RegExp(ENCRYPTED_PEM.source, 'g')))
      checkEncryptedPkcs8(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  } else if (Buffer.isBuffer(key) && format === 'der' && k.passphrase !== undefined) {
    checkEncryptedPkcs8(key);
  }
  const input: Record<string, unknown> = { key, format };
  if (k.type !== undefined) input.type = k.type;
  if (k.passphrase !== undefined) input.passphrase = bytes(k.passphrase, 'passphrase');
  if (k.encoding !== undefined) input.encoding = k.encoding;
  return input;
}

/** createPublicKey / createPrivateKey. `from` is key input or a key the isolate holds. */
function keyImport(kind: unknown, from: unknown, held: unknown): KeyInfo {
  if (kind === 'secret') return describe(nc.createSecretKey(bytes(from, 'key')));
  if (kind !== 'public' && kind !== 'private') throw new NamedError('invalid key kind', 'TypeError');
  if (held) {
    // createPublicKey(privateKeyObject): the public half.
    if (kind !== 'public') throw new NamedError('invalid key kind', 'TypeError');
    return describe(checkKey(nc.createPublicKey(keyOf(held))));
  }
  const input = keyInput(from);
  const ko = kind === 'public' ? nc.createPublicKey(input as never) : nc.createPrivateKey(input as never);
  return describe(checkKey(ko));
}

function keyExport(held: unknown, options: unknown): unknown {
  const ko = keyOf(held);
  const o = (options ?? {}) as Record<string, unknown>;
  const opts: Record<string, unknown> = { format: o.format, type: o.type };
  if (o.cipher !== undefined) {
    if (typeof o.cipher !== 'string' || !EXPORT_CIPHERS.has(o.cipher.toLowerCase()))
      throw nodeError('ERR_CRYPTO_UNKNOWN_CIPHER', 'Unknown cipher', 'Error');
    opts.cipher = o.cipher;
    opts.passphrase = bytes(o.passphrase, 'passphrase');
  }
  const r = ko.export(opts as never) as unknown;
  return Buffer.isBuffer(r) ? out(r) : r;
}

const PAIR_TYPES = new Set(['rsa', 'rsa-pss', 'ec', 'ed25519', 'ed448', 'x25519', 'x448']);

function generatePair(type: unknown, options: unknown): { publicKey: KeyInfo; privateKey: KeyInfo } {
  if (typeof type !== 'string' || !PAIR_TYPES.has(type))
    throw nodeError(
      'ERR_INVALID_ARG_VALUE',
      `The argument 'type' must be a supported key type. Received ${String(type).slice(0, 50)} ` +
        `(Outpost generates ${[...PAIR_TYPES].join(', ')})`,
      'TypeError',
    );
  const o = { ...((options ?? {}) as Record<string, unknown>) };
  if (type === 'rsa' || type === 'rsa-pss') {
    const m = o.modulusLength;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 512 || m > NODE_RSA_SYNC_MAX_BITS)
      throw nodeError(
        'ERR_OUT_OF_RANGE',
        `The value of "options.modulusLength" is out of range. generateKeyPairSync makes RSA keys of 512 to ` +
          `${NODE_RSA_SYNC_MAX_BITS} bits on Outpost (it holds the host's main thread); generateKeyPair ` +
          `makes them up to 4096 bits. Received ${String(m)}`,
      );
    const e = o.publicExponent ?? 65537;
    if (e !== 3 && e !== 65537)
      throw nodeError(
        'ERR_OUT_OF_RANGE',
        `The value of "options.publicExponent" is out of range. It must be 3 or 65537. Received ${String(e)}`,
      );
  }
  for (const k of ['publicKeyEncoding', 'privateKeyEncoding', 'passphrase', 'cipher']) delete o[k];
  const pair = nc.generateKeyPairSync(type as never, o as never) as unknown as {
    publicKey: nc.KeyObject;
    privateKey: nc.KeyObject;
  };
  return { publicKey: describe(pair.publicKey), privateKey: describe(pair.privateKey) };
}

interface SignOptions {
  padding?: number;
  saltLength?: number;
  dsaEncoding?: string;
}

function signOptions(key: nc.KeyObject, v: unknown): Record<string, unknown> {
  const o = (v ?? {}) as SignOptions;
  const r: Record<string, unknown> = { key };
  if (o.padding !== undefined) r.padding = o.padding;
  if (o.saltLength !== undefined) r.saltLength = o.saltLength;
  if (o.dsaEncoding !== undefined) r.dsaEncoding = o.dsaEncoding;
  return r;
}

function algorithmOf(alg: unknown): string | null {
  return alg === null || alg === undefined ? null : digestOf(alg);
}

const RSA_OPS = new Set(['publicEncrypt', 'privateDecrypt', 'privateEncrypt', 'publicDecrypt']);

// --- ciphers ---

interface CipherEntry {
  c: nc.Cipher | nc.Decipher;
  decipher: boolean;
  aead: boolean;
}

/** One isolate's unfinished ciphers. */
export class CipherTable {
  #ciphers = new Map<number, CipherEntry>();
  #next = 1;

  create(decipher: unknown, algorithm: unknown, key: unknown, iv: unknown, authTagLength: unknown): number {
    if (typeof algorithm !== 'string')
      throw nodeError('ERR_INVALID_ARG_TYPE', 'The "cipher" argument must be of type string.', 'TypeError');
    const alg = algorithm.toLowerCase();
    if (!CIPHERS.includes(alg)) throw nodeError('ERR_CRYPTO_UNKNOWN_CIPHER', 'Unknown cipher', 'Error');
    if (this.#ciphers.size >= CIPHERS_MAX)
      throw new NamedError(
        `Too many unfinished ciphers in this isolate (limit ${CIPHERS_MAX}): call final()`,
        'Error',
      );
    const options =
      authTagLength === undefined ? undefined : { authTagLength: uint(authTagLength, 'authTagLength', 16) };
    const ivBytes = iv === null ? null : bytes(iv, 'iv');
    const c = decipher
      ? nc.createDecipheriv(alg, bytes(key, 'key'), ivBytes, options as never)
      : nc.createCipheriv(alg, bytes(key, 'key'), ivBytes, options as never);
    const id = this.#next++;
    this.#ciphers.set(id, { c, decipher: !!decipher, aead: AEAD.test(alg) });
    return id;
  }

  update(id: unknown, data: unknown): ArrayBuffer {
    return out(this.#get(id).c.update(bytes(data, 'data')));
  }

  /** final(): the last bytes, and the tag of an AEAD encryption. The handle is gone after. */
  final(id: unknown): { out: ArrayBuffer; tag?: ArrayBuffer } {
    const e = this.#get(id);
    this.#ciphers.delete(id as number);
    const last = out(e.c.final());
    if (e.aead && !e.decipher) return { out: last, tag: out((e.c as nc.CipherGCM).getAuthTag()) };
    return { out: last };
  }

  set(id: unknown, what: unknown, value: unknown, plaintextLength: unknown): void {
    const e = this.#get(id);
    if (what === 'padding') {
      e.c.setAutoPadding(value !== false);
      return;
    }
    if (!e.aead)
      throw nodeError('ERR_CRYPTO_INVALID_STATE', `Invalid state for operation ${String(what)}`, 'Error');
    if (what === 'aad') {
      const opts =
        plaintextLength === undefined
          ? undefined
          : { plaintextLength: uint(plaintextLength, 'plaintextLength') };
      (e.c as nc.CipherGCM).setAAD(bytes(value, 'buffer'), opts as never);
    } else if (what === 'tag' && e.decipher) {
      (e.c as nc.DecipherGCM).setAuthTag(bytes(value, 'buffer'));
    } else {
      throw nodeError('ERR_CRYPTO_INVALID_STATE', `Invalid state for operation ${String(what)}`, 'Error');
    }
  }

  drop(id: unknown): void {
    if (typeof id === 'number') this.#ciphers.delete(id);
  }

  clear(): void {
    this.#ciphers.clear();
  }

  get size(): number {
    return this.#ciphers.size;
  }

  #get(id: unknown): CipherEntry {
    const e = typeof id === 'number' ? this.#ciphers.get(id) : undefined;
    if (!e)
      throw nodeError(
        'ERR_CRYPTO_INVALID_STATE',
        'Invalid state for operation: the cipher is finished',
        'Error',
      );
    return e;
  }
}

/** What a call gets first: the calling isolate's cipher table (made on first use). */
type CryptoHost = { readonly ciphers: CipherTable };
type CryptoCall = (host: CryptoHost, ...args: any[]) => unknown;

/**
 * node:crypto's synchronous syscalls, each given the calling isolate's host first. All
 * are charged to the request as CPU (syscalls.ts adds their names to CHARGED).
 */
export const NODE_CRYPTO: Record<string, CryptoCall> = {
  ncPbkdf2: guarded((_host, password, salt, iterations, keylen, digest) => {
    const name = digestOf(digest);
    const it = uint(iterations, 'iterations');
    const len = uint(keylen, 'keylen');
    if (it < 1)
      throw nodeError(
        'ERR_OUT_OF_RANGE',
        `The value of "iterations" is out of range. It must be >= 1 && <= 2147483647. Received ${it}`,
      );
    checkNodePbkdf2(it, len, nc.createHash(name).digest().byteLength || 32);
    return out(nc.pbkdf2Sync(bytes(password, 'password'), bytes(salt, 'salt'), it, len, name));
  }),
  ncScrypt: guarded((_host, password, salt, keylen, N, r, p, maxmem) => {
    const len = uint(keylen, 'keylen');
    const [n, rr, pp] = [uint(N, 'N', 2 ** 32 - 1), uint(r, 'r', 2 ** 32 - 1), uint(p, 'p', 2 ** 32 - 1)];
    const mem = typeof maxmem === 'number' && maxmem > 0 ? maxmem : 32 * 1024 * 1024;
    checkScrypt(n, rr, pp, mem, len);
    return out(
      nc.scryptSync(bytes(password, 'password'), bytes(salt, 'salt'), len, {
        N: n,
        r: rr,
        p: pp,
        maxmem: Math.max(mem, 128 * rr * (n + pp + 2)),
      }),
    );
  }),
  ncHkdf: guarded((_host, digest, ikm, salt, info, keylen) =>
    out(
      Buffer.from(
        nc.hkdfSync(
          digestOf(digest),
          bytes(ikm, 'ikm'),
          bytes(salt, 'salt'),
          bytes(info, 'info'),
          uint(keylen, 'keylen'),
        ),
      ),
    ),
  ),
  ncCipherNew: guarded((h, decipher, alg, key, iv, tagLength) =>
    h.ciphers.create(decipher, alg, key, iv, tagLength),
  ),
  ncCipherUpdate: guarded((h, id, data) => h.ciphers.update(id, data)),
  ncCipherFinal: guarded((h, id) => h.ciphers.final(id)),
  ncCipherSet: guarded((h, id, what, value, plaintextLength) =>
    h.ciphers.set(id, what, value, plaintextLength),
  ),
  ncCipherDrop: (h, id) => h.ciphers.drop(id),
  ncKeyImport: guarded((_host, kind, from, held) => keyImport(kind, from, held)),
  ncKeyExport: guarded((_host, held, options) => keyExport(held, options)),
  ncKeyPair: guarded((_host, type, options) => generatePair(type, options)),
  ncSign: guarded((_host, alg, data, held, options) => {
    const key = keyOf(held);
    return out(nc.sign(algorithmOf(alg), bytes(data, 'data'), signOptions(key, options) as never));
  }),
  ncVerify: guarded((_host, alg, data, held, options, signature) => {
    const key = keyOf(held);
    return nc.verify(
      algorithmOf(alg),
      bytes(data, 'data'),
      signOptions(key, options) as never,
      bytes(signature, 'signature'),
    );
  }),
  ncRsa: guarded((_host, op, held, options, data) => {
    if (typeof op !== 'string' || !RSA_OPS.has(op)) throw new NamedError('invalid operation', 'TypeError');
    const o = (options ?? {}) as Record<string, unknown>;
    const input: Record<string, unknown> = { key: keyOf(held) };
    if (o.padding !== undefined) input.padding = o.padding;
    if (o.oaepHash !== undefined) input.oaepHash = digestOf(o.oaepHash);
    if (o.oaepLabel !== undefined) input.oaepLabel = bytes(o.oaepLabel, 'oaepLabel');
    const fn = (nc as unknown as Record<string, (k: unknown, d: Buffer) => Buffer>)[op];
    return out(fn(input, bytes(data, 'buffer')));
  }),
  ncDiffieHellman: guarded((_host, privateHeld, publicHeld) =>
    out(nc.diffieHellman({ privateKey: keyOf(privateHeld), publicKey: keyOf(publicHeld) })),
  ),
};

/** Names of node:crypto's syscalls: all charged as CPU. */
export const NODE_CRYPTO_CALLS: ReadonlySet<string> = new Set(Object.keys(NODE_CRYPTO));
