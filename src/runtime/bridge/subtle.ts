/**
 * crypto.subtle, performed by the host's WebCrypto (node:crypto). Keys never enter the isolate:
 * each isolate has a key table and the isolate holds numbered handles plus a plain-data
 * description (type, algorithm, usages, extractable). Arguments arrive copied; every key
 * reference is looked up in the calling isolate's table, so one tenant cannot name another's key.
 *
 * Workers additions over WebCrypto (https://developers.cloudflare.com/workers/runtime-apis/web-crypto/):
 * MD5 for digest (non-cryptographic uses), and the legacy `NODE-ED25519` algorithm name.
 * Work whose cost a tenant could make unbounded is refused first (./crypto-limits.ts); the
 * caller (./crypto-gate.ts) times each call and charges it to the tenant.
 */
import { createHash, createHmac, getHashes, KeyObject, webcrypto } from 'node:crypto';
import { checkCryptoCall, checkKeyAlgorithm } from './crypto-limits.ts';
import { NamedError } from './named-error.ts';

const subtle = webcrypto.subtle as any;
// Node 20 exposes the class as a global only, not on webcrypto.
const HostCryptoKey = (globalThis as unknown as { CryptoKey: new () => webcrypto.CryptoKey }).CryptoKey;
type HostKey = webcrypto.CryptoKey;

const KEY_MARK = '__outpostKey';

export interface KeyDescriptor {
  [KEY_MARK]: KeyMaterial;
  type: string;
  extractable: boolean;
  algorithm: unknown;
  usages: string[];
}

const OPS = new Set([
  'digest',
  'encrypt',
  'decrypt',
  'sign',
  'verify',
  'generateKey',
  'importKey',
  'exportKey',
  'deriveBits',
  'deriveKey',
  'wrapKey',
  'unwrapKey',
]);

/**
 * What the isolate holds for a key: its key material (in a private field of the prelude's
 * CryptoKey, unreadable by tenant code) and how to import it again. The host keeps no table
 * per isolate, so keys the worker drops cost the host nothing: V8's garbage collector frees
 * them with the isolate's objects (an earlier per-isolate key table leaked, because isolated-vm
 * never runs FinalizationRegistry callbacks while the isolate is idle between calls).
 */
interface KeyMaterial {
  format: 'raw' | 'pkcs8' | 'spki';
  material: ArrayBuffer;
  algorithm: Record<string, unknown>;
  extractable: boolean;
  usages: string[];
}

/** Imported keys by the hash of their material and parameters, most recently used last. */
const imported = new Map<string, HostKey>();
const IMPORTED_MAX = 2000;

function describe(key: HostKey): KeyDescriptor {
  const ko = KeyObject.from(key);
  const format = key.type === 'secret' ? 'raw' : key.type === 'private' ? 'pkcs8' : 'spki';
  const der = (
    key.type === 'secret'
      ? ko.export()
      : ko.export({ format: 'der', type: key.type === 'private' ? 'pkcs8' : 'spki' } as never)
  ) as Buffer;
  const material = der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
  const algorithm = plainAlgorithm(key.algorithm) as Record<string, unknown>;
  const usages = [...key.usages];
  const m: KeyMaterial = { format, material, algorithm, extractable: key.extractable, usages };
  remember(cacheKey(m), key);
  return { [KEY_MARK]: m, type: key.type, extractable: key.extractable, algorithm, usages };
}

function cacheKey(m: KeyMaterial): string {
  return createHash('sha256')
    .update(JSON.stringify([m.format, m.algorithm, m.extractable, m.usages]))
    .update(new Uint8Array(m.material))
    .digest('base64');
}

function remember(k: string, key: HostKey): void {
  imported.delete(k);
  imported.set(k, key);
  if (imported.size > IMPORTED_MAX) imported.delete(imported.keys().next().value as string);
}

function isMaterial(v: unknown): v is KeyMaterial {
  const m = v as KeyMaterial;
  return (
    !!m &&
    typeof m === 'object' &&
    (m.format === 'raw' || m.format === 'pkcs8' || m.format === 'spki') &&
    m.material instanceof ArrayBuffer &&
    !!m.algorithm &&
    typeof m.algorithm === 'object' &&
    typeof m.extractable === 'boolean' &&
    Array.isArray(m.usages) &&
    m.usages.every((u) => typeof u === 'string')
  );
}

/** The host CryptoKey for a key the isolate sent back (imported again when not cached). */
async function resolveKey(v: unknown): Promise<HostKey> {
  if (!isMaterial(v)) throw new NamedError('parameter is not a valid CryptoKey', 'TypeError');
  const k = cacheKey(v);
  const hit = imported.get(k);
  if (hit) {
    remember(k, hit);
    return hit;
  }
  const alg = { ...v.algorithm } as Record<string, unknown>;
  // importKey derives these from the material; some algorithms refuse them as parameters.
  delete alg.publicExponent;
  delete alg.modulusLength;
  const key = (await subtle.importKey(v.format, v.material, alg, v.extractable, v.usages)) as HostKey;
  // Material comes from the isolate: a tampered prelude could send a key never checked.
  checkKeyAlgorithm(key.algorithm);
  remember(k, key);
  return key;
}

function plainAlgorithm(a: any): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (v instanceof Uint8Array) out[k] = new Uint8Array(v);
    else if (v && typeof v === 'object') out[k] = plainAlgorithm(v);
    else out[k] = v;
  }
  return out;
}

/** Replace key descriptors with host keys; map Workers' algorithm aliases. */
/** Entries of one list or object in algorithm parameters (a JWK's `oth`, key usages…). */
const MAX_PARAM_ENTRIES = 256;

async function fromIsolate(v: unknown, depth = 0): Promise<unknown> {
  if (depth > 8) throw new NamedError('Algorithm parameters are nested too deeply', 'TypeError');
  if (v === null || typeof v !== 'object') return v;
  // Uint8Array, not ArrayBuffer: some parameters (RSA publicExponent) must be one.
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return v;
  // Sizes checked before anything walks them: a sparse array of length 2^32 or an object of a
  // million keys is cheap to send and held the host's main thread (found by the bridge fuzz).
  if (Array.isArray(v)) {
    if (v.length > MAX_PARAM_ENTRIES)
      throw new NamedError(
        `Algorithm parameters hold a list of more than ${MAX_PARAM_ENTRIES} entries`,
        'TypeError',
      );
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(await fromIsolate(v[i], depth + 1));
    return out;
  }
  const o = v as Record<string, unknown>;
  if (KEY_MARK in o) return resolveKey(o[KEY_MARK]);
  const keys = Object.keys(o);
  if (keys.length > MAX_PARAM_ENTRIES)
    throw new NamedError(`Algorithm parameters hold more than ${MAX_PARAM_ENTRIES} fields`, 'TypeError');
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = await fromIsolate(o[k], depth + 1);
  if (out.name === 'NODE-ED25519') {
    out.name = 'Ed25519';
    delete out.namedCurve;
  }
  return out;
}

function algName(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && typeof (a as any).name === 'string') return (a as any).name;
  return '';
}

function toIsolate(result: unknown): unknown {
  if (result instanceof HostCryptoKey) {
    // Imported or unwrapped keys: one with a huge RSA modulus makes every later use costly.
    checkKeyAlgorithm(result.algorithm);
    return describe(result);
  }
  if (result && typeof result === 'object' && 'privateKey' in result && 'publicKey' in result) {
    const pair = result as webcrypto.CryptoKeyPair;
    return { publicKey: describe(pair.publicKey), privateKey: describe(pair.privateKey) };
  }
  return result; // ArrayBuffer, boolean, or a JWK (plain data)
}

function asBytes(v: unknown): Uint8Array {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new NamedError('data must be a BufferSource', 'TypeError');
}

/** Run one crypto.subtle operation for an isolate. Errors keep WebCrypto's names. */
export async function subtleCall(op: unknown, args: unknown): Promise<unknown> {
  if (typeof op !== 'string' || !OPS.has(op) || !Array.isArray(args) || args.length > 8)
    throw new NamedError('invalid crypto.subtle call', 'TypeError');
  if (op === 'digest' && algName(args[0]).toUpperCase() === 'MD5') {
    const h = createHash('md5').update(asBytes(args[1])).digest();
    return h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength);
  }
  try {
    const hostArgs = await Promise.all(args.map((a) => fromIsolate(a)));
    checkCryptoCall(op, hostArgs);
    return toIsolate(await subtle[op](...hostArgs));
  } catch (err) {
    if (err instanceof NamedError) throw err;
    const e = err as Error & { code?: string };
    // Node's argument validation errors (ERR_INVALID_ARG_TYPE…) are TypeErrors in WebCrypto terms.
    // Node names some errors 'InvalidAccessException'; WebCrypto says 'InvalidAccessError'.
    const name =
      e.name === 'DOMException' || !e.name ? 'OperationError' : e.name.replace(/Exception$/, 'Error');
    throw new NamedError(e.message, name);
  }
}

const HASHES: Record<string, string> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  MD5: 'md5',
};

/** Every digest the host's Node offers (node:crypto's createHash, getHashes). */
export const NODE_HASHES: ReadonlySet<string> = new Set(getHashes().map((h) => h.toLowerCase()));

/** Node-style and streaming hashes (crypto.DigestStream, node:crypto createHash/createHmac). */
export class HashTable {
  #hashes = new Map<number, ReturnType<typeof createHash>>();
  #next = 1;
  create(algorithm: unknown, hmacKey?: unknown): number {
    if (typeof algorithm !== 'string') throw new NamedError('algorithm must be a string', 'TypeError');
    // WebCrypto's names (crypto.DigestStream checks its own list first), or any of Node's.
    const name = HASHES[algorithm.toUpperCase()] ?? algorithm.toLowerCase();
    if (!NODE_HASHES.has(name))
      throw new NamedError(`Unrecognized hash algorithm: ${algorithm.slice(0, 100)}`, 'NotSupportedError');
    if (this.#hashes.size >= 1000)
      throw new NamedError('Too many unfinished hashes in this isolate (limit 1000)', 'QuotaExceededError');
    const id = this.#next++;
    // createHmac returns an Hmac, which has the same update/digest shape.
    const h =
      hmacKey === undefined
        ? createHash(name)
        : (createHmac(name, asBytes(hmacKey)) as unknown as ReturnType<typeof createHash>);
    this.#hashes.set(id, h);
    return id;
  }
  update(id: unknown, data: unknown): void {
    this.#get(id).update(asBytes(data));
  }
  digest(id: unknown): ArrayBuffer {
    const h = this.#get(id);
    this.#hashes.delete(id as number);
    const d = h.digest();
    return d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer;
  }
  /** node:crypto's Hash.copy(): a new handle with the same state. */
  copy(id: unknown): number {
    const h = this.#get(id);
    if (this.#hashes.size >= 1000)
      throw new NamedError('Too many unfinished hashes in this isolate (limit 1000)', 'QuotaExceededError');
    const next = this.#next++;
    this.#hashes.set(next, h.copy());
    return next;
  }
  drop(id: unknown): void {
    if (typeof id === 'number') this.#hashes.delete(id);
  }
  clear(): void {
    this.#hashes.clear();
  }
  #get(id: unknown) {
    const h = typeof id === 'number' ? this.#hashes.get(id) : undefined;
    if (!h) throw new NamedError('Digest already called', 'Error');
    return h;
  }
}
