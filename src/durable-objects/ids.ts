/**
 * Durable Object ids: 64 hex digits, like Cloudflare's. The first 24 bytes identify the object
 * (from its name, deterministically per namespace, or random); the last 8 are a check made from
 * the namespace and those bytes, so `idFromString` can refuse a malformed id or one made for
 * another namespace. Not a secret: ids name objects, they do not authorize anything.
 */
import { createHash, randomBytes } from 'node:crypto';

const HEX64 = /^[0-9a-f]{64}$/;

function check(namespace: string, body: Buffer): Buffer {
  return createHash('sha256').update(`outpost-do-id\0${namespace}\0`).update(body).digest().subarray(0, 8);
}

function seal(namespace: string, body: Buffer): string {
  return Buffer.concat([body, check(namespace, body)]).toString('hex');
}

/** The id `idFromName(name)` gives in `namespace` (the same on every PoP and every run). */
export function idFromName(namespace: string, name: string): string {
  const body = createHash('sha256').update(`outpost-do-name\0${namespace}\0${name}`).digest().subarray(0, 24);
  return seal(namespace, body);
}

export function newUniqueId(namespace: string): string {
  return seal(namespace, randomBytes(24));
}

/** Why `text` is not an id of `namespace`, or null when it is one. */
export function invalidId(namespace: string, text: unknown): string | null {
  if (typeof text !== 'string' || !HEX64.test(text))
    return 'Invalid Durable Object ID: must be 64 hex digits';
  const raw = Buffer.from(text, 'hex');
  if (!raw.subarray(24).equals(check(namespace, raw.subarray(0, 24))))
    return 'Invalid Durable Object ID: ID is not for this Durable Object namespace.';
  return null;
}
