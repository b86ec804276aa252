/**
 * Bounds on host crypto a tenant can ask for. Host crypto runs outside the isolate, where
 * neither the heap limit nor the CPU watchdog can stop it part-way (an OpenSSL call cannot be
 * interrupted): each knob that scales the work of one call is capped before the call starts,
 * and the time it does take is charged to the tenant (./crypto-gate.ts).
 *
 * Where workerd has a rule, it is reproduced with its error name and message
 * (workerd src/workerd/io/limit-enforcer.h, api/crypto/pbkdf2.c++, api/crypto/rsa.c++):
 *  - PBKDF2: iterations 1..100,000 (NotSupportedError above); length non-null, a multiple of 8,
 *    at most 255 hash blocks.
 *  - RSA generateKey: modulusLength a multiple of 8 in [256, 16384]; publicExponent 3 or 65537.
 *  - RSA keys imported: a public exponent must fit in 32 bits.
 * Where one call could still cost seconds, Outpost is stricter (documented deviations,
 * docs/workers-api.md#cryptosubtle): RSA generation up to 4096 bits (8192 takes 7–18 s of CPU here),
 * imported RSA keys up to 16384 bits (workerd's strict_crypto rule), PBKDF2 at most
 * 800,000 block-iterations per call (iterations × output blocks: 8 blocks at 100,000), HMAC
 * keys generated up to 65535 bits (workerd stores the length in 16 bits).
 */
import { NamedError } from './named-error.ts';

export const PBKDF2_MAX_ITERATIONS = 100_000;
export const PBKDF2_MAX_WORK = 800_000;
export const RSA_GENERATE_MAX_BITS = 4096;
export const RSA_IMPORT_MAX_BITS = 16384;
export const HMAC_GENERATE_MAX_BITS = 65535;

const HASH_BYTES: Record<string, number> = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
/** HMAC's default key length is the hash's block size. */
const HASH_BLOCK_BITS: Record<string, number> = {
  'SHA-1': 512,
  'SHA-256': 512,
  'SHA-384': 1024,
  'SHA-512': 1024,
};
const RSA = new Set(['RSASSA-PKCS1-V1_5', 'RSA-PSS', 'RSA-OAEP']);

type Params = Record<string, unknown>;

function nameOf(a: unknown): string {
  if (typeof a === 'string') return a.toUpperCase();
  const n = a && typeof a === 'object' ? (a as Params).name : undefined;
  return typeof n === 'string' ? n.toUpperCase() : '';
}

function paramsOf(a: unknown): Params {
  return a && typeof a === 'object' ? (a as Params) : {};
}

/** An unsigned big-endian integer, or null when it needs more than 32 bits. */
function uint32(bytes: Uint8Array): number | null {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (bytes.length - i > 4) return null;
  let v = 0;
  for (; i < bytes.length; i++) v = v * 256 + bytes[i];
  return v;
}

function operationError(message: string): NamedError {
  return new NamedError(message, 'OperationError');
}

/** PBKDF2 deriveBits / deriveKey: `lengthBits` is what will be derived (null: none given). */
function checkPbkdf2(params: Params, lengthBits: unknown): void {
  const iterations = params.iterations;
  // Not a number: the host's WebCrypto names the type error.
  if (typeof iterations !== 'number') return;
  if (!(iterations > 0))
    throw operationError(`PBKDF2 requires a positive iteration count (requested ${iterations}).`);
  if (iterations > PBKDF2_MAX_ITERATIONS)
    throw new NamedError(
      `Pbkdf2 failed: iteration counts above ${PBKDF2_MAX_ITERATIONS} are not supported (requested ${iterations}).`,
      'NotSupportedError',
    );
  if (lengthBits === null || lengthBits === undefined)
    throw operationError('PBKDF2 cannot derive a key with null length.');
  if (typeof lengthBits !== 'number') return;
  if (lengthBits % 8 !== 0)
    throw operationError(
      `PBKDF2 requires a derived key length that is a multiple of eight (requested ${lengthBits}).`,
    );
  const hashBytes = HASH_BYTES[nameOf(params.hash)];
  if (!hashBytes) return; // an unknown hash: refused by the host
  const blocks = Math.ceil(lengthBits / 8 / hashBytes);
  if (blocks > 255) throw operationError('Pbkdf2 failed: derived key length exceeds maximum for this hash');
  if (iterations * blocks > PBKDF2_MAX_WORK)
    throw operationError(
      `Pbkdf2 failed: iterations × output blocks above ${PBKDF2_MAX_WORK} are not supported on Outpost ` +
        `(requested ${iterations} × ${blocks}); derive fewer bits or use fewer iterations.`,
    );
}

/** The length deriveKey will derive for `derived` (workerd's getKeyLength), when known. */
function derivedLength(derived: unknown): unknown {
  const name = nameOf(derived);
  const p = paramsOf(derived);
  if (name.startsWith('AES-')) return p.length;
  if (name === 'HMAC') return p.length ?? HASH_BLOCK_BITS[nameOf(p.hash)];
  return null;
}

function checkRsaGenerate(p: Params): void {
  const m = p.modulusLength;
  if (typeof m !== 'number') return; // the host names the type error
  if (!(m > 0)) throw operationError(`modulusLength must be greater than zero (requested ${m}).`);
  if (m % 8 !== 0 || m < 256 || m > 16384)
    throw operationError(
      `The modulus length must be a multiple of 8 and between 256 and 16k, but ${m} was requested.`,
    );
  if (m > RSA_GENERATE_MAX_BITS)
    throw operationError(
      `RSA key generation above ${RSA_GENERATE_MAX_BITS} bits is not supported on Outpost ` +
        `(requested ${m}): generate the key elsewhere and import it.`,
    );
  const e = p.publicExponent;
  if (!(e instanceof Uint8Array)) return;
  const v = uint32(e);
  if (v === null)
    throw operationError(
      'The "publicExponent" must be either 3 or 65537, but got a number larger than 2^32.',
    );
  if (v !== 3 && v !== 65537)
    throw operationError(`The "publicExponent" must be either 3 or 65537, but got ${v}.`);
}

/** Refuse a call whose cost is unbounded, before the host starts it. `args` are the host's. */
export function checkCryptoCall(op: string, args: unknown[]): void {
  const name = nameOf(args[0]);
  const p = paramsOf(args[0]);
  if (op === 'deriveBits' && name === 'PBKDF2') checkPbkdf2(p, args[2]);
  else if (op === 'deriveKey' && name === 'PBKDF2') checkPbkdf2(p, derivedLength(args[2]));
  else if (op === 'generateKey' && RSA.has(name)) checkRsaGenerate(p);
  else if (op === 'generateKey' && name === 'HMAC' && typeof p.length === 'number') {
    if (!(p.length > 0))
      throw operationError(
        `HMAC key length must be a non-zero unsigned long integer (requested ${p.length}).`,
      );
    if (p.length > HMAC_GENERATE_MAX_BITS)
      throw operationError(
        `HMAC key generation above ${HMAC_GENERATE_MAX_BITS} bits is not supported (requested ${p.length}).`,
      );
  }
}

/**
 * Refuse an RSA key whose later use is unbounded (a huge modulus makes each private-key
 * operation cost seconds; a huge exponent each public one): for keys imported, unwrapped or
 * sent back by the isolate. `algorithm` is the host key's.
 */
export function checkKeyAlgorithm(algorithm: unknown): void {
  if (!RSA.has(nameOf(algorithm))) return;
  const p = paramsOf(algorithm);
  const m = p.modulusLength;
  if (typeof m === 'number' && m > RSA_IMPORT_MAX_BITS)
    throw operationError(
      `The modulus length must be a multiple of 8 and between 256 and 16k, but ${m} was requested.`,
    );
  if (p.publicExponent instanceof Uint8Array && uint32(p.publicExponent) === null)
    throw operationError(
      'The "publicExponent" must be either 3 or 65537, but got a number larger than 2^32.',
    );
}

/**
 * node:crypto's key derivations (./node-crypto.ts). They run on the host's main thread while
 * the calling isolate waits (the Node APIs are synchronous), so one call is held to a few hundred
 * milliseconds of CPU at most; all of it is charged to the request.
 *  - pbkdf2: iterations 1..100,000 (workerd's limit for node:crypto too), iterations × output
 *    blocks ≤ 400,000 (4 SHA-256 blocks at 100,000 is ~80 ms; SHA-512 ~200 ms).
 *  - scrypt: Node's own rule first (128·r·(N+p+2) ≤ maxmem, maxmem 32 MiB unless given), then
 *    Outpost's: memory 128·N·r ≤ 64 MiB whatever maxmem says, work N·r·p ≤ 2^19 (4× Node's
 *    default N=16384, r=8, p=1; ~170 ms), output ≤ 256 KiB.
 *  - generateKeyPairSync: RSA moduli 512..2048 bits (~0.1–0.5 s on the main thread). Larger ones
 *    (to crypto.subtle's 4096) come from generateKeyPair, which the extension makes with
 *    crypto.subtle on the thread pool.
 */
export const NODE_PBKDF2_MAX_WORK = 400_000;
export const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;
export const SCRYPT_MAX_WORK = 2 ** 19;
export const SCRYPT_MAX_KEYLEN = 256 * 1024;
export const NODE_RSA_SYNC_MAX_BITS = 2048;

/** An error for node:crypto: its Node code travels in the message (`[CODE] text`). */
export function nodeError(code: string, message: string, name = 'RangeError'): NamedError {
  return new NamedError(`[${code}] ${message}`, name);
}

export function checkNodePbkdf2(iterations: number, keylen: number, hashBytes: number): void {
  if (iterations > PBKDF2_MAX_ITERATIONS)
    throw nodeError(
      'ERR_OUT_OF_RANGE',
      `The value of "iterations" is out of range. Pbkdf2 iteration counts above ${PBKDF2_MAX_ITERATIONS} ` +
        `are not supported (as on Cloudflare Workers). Received ${iterations}`,
    );
  const blocks = Math.ceil(keylen / hashBytes);
  if (iterations * blocks > NODE_PBKDF2_MAX_WORK)
    throw nodeError(
      'ERR_OUT_OF_RANGE',
      `Pbkdf2 iterations × output blocks above ${NODE_PBKDF2_MAX_WORK} are not supported on Outpost ` +
        `(requested ${iterations} × ${blocks}); derive fewer bytes or use fewer iterations.`,
    );
}

export function checkScrypt(N: number, r: number, p: number, maxmem: number, keylen: number): void {
  // Node's rules (OpenSSL's EVP_PBE_scrypt), with the message Node gives. All of them are checked
  // here so that Node's scrypt never fails: a failed one leaves an OpenSSL error queued on the
  // main thread that the next crypto call there reports as its own (Node 20).
  if (
    N < 2 ||
    (N & (N - 1)) !== 0 ||
    r < 1 ||
    p < 1 ||
    (16 * r < 64 && N >= 2 ** (16 * r)) ||
    128 * r * (N + p + 2) > maxmem
  )
    throw nodeError(
      'ERR_CRYPTO_INVALID_SCRYPT_PARAMS',
      'Invalid scrypt params: error:030000AC:digital envelope routines::memory limit exceeded',
    );
  if (128 * N * r > SCRYPT_MAX_MEMORY || N * r * p > SCRYPT_MAX_WORK)
    throw nodeError(
      'ERR_CRYPTO_INVALID_SCRYPT_PARAMS',
      `Invalid scrypt params: Outpost allows at most ${SCRYPT_MAX_MEMORY >> 20} MiB of memory ` +
        `(128·N·r) and N·r·p ≤ ${SCRYPT_MAX_WORK} (requested N=${N}, r=${r}, p=${p}).`,
    );
  if (keylen > SCRYPT_MAX_KEYLEN)
    throw nodeError(
      'ERR_OUT_OF_RANGE',
      `The value of "keylen" is out of range. Outpost derives at most ${SCRYPT_MAX_KEYLEN} bytes with scrypt. Received ${keylen}`,
    );
}
