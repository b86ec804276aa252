/**
 * Synchronous host calls that act on no isolate's state: URL parsing and updates the prelude's
 * fast path (isolate/url-fast.ts) leaves to the host, and random bytes. Each validates what the
 * isolate sent; what they throw crosses as `Name: message` (syscalls.ts, crossing).
 */
import { randomBytes } from 'node:crypto';
import { URL_PARTS } from '../url-parts.ts';
import { isolateError } from './named-error.ts';

const URL_SETTABLE = new Set<string>(URL_PARTS.filter((p) => p !== 'origin'));
const MAX_URL = 64 * 1024;

function parts(u: URL): string[] {
  return URL_PARTS.map((k) => u[k]);
}

export function urlParse(input: unknown, base: unknown): string[] | null {
  if (typeof input !== 'string' || input.length > MAX_URL) return null;
  if (base !== undefined && (typeof base !== 'string' || base.length > MAX_URL)) return null;
  try {
    return parts(new URL(input, base as string | undefined));
  } catch {
    return null;
  }
}

export function urlSet(href: unknown, prop: unknown, value: unknown): string[] {
  if (
    typeof href !== 'string' ||
    typeof prop !== 'string' ||
    typeof value !== 'string' ||
    !URL_SETTABLE.has(prop)
  ) {
    throw isolateError('TypeError: invalid URL update');
  }
  const u = new URL(href);
  if (prop === 'href') {
    try {
      return parts(new URL(value));
    } catch {
      throw isolateError(`TypeError: Invalid URL: ${value.slice(0, 200)}`);
    }
  }
  (u as unknown as Record<string, string>)[prop] = value;
  return parts(u);
}

export function random(n: unknown): ArrayBuffer {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65536)
    throw isolateError('RangeError: invalid byte count');
  const b = randomBytes(n);
  return b.buffer.slice(b.byteOffset, b.byteOffset + n) as ArrayBuffer;
}
