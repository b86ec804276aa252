/**
 * The `crypto` global: getRandomValues / randomUUID with randomness from the host's CSPRNG,
 * crypto.subtle (./subtle.ts) and Workers' crypto.DigestStream.
 */
import { host } from './bridge.ts';
import { DOMException } from './events.ts';
import { lazyGlobal } from './modules.ts';
import { makeDigestStream, makeSubtle } from './subtle.ts';

const INTEGER_ARRAYS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

export function getRandomValues<T extends ArrayBufferView>(array: T): T {
  if (
    !ArrayBuffer.isView(array) ||
    !INTEGER_ARRAYS.includes(Object.prototype.toString.call(array).slice(8, -1))
  ) {
    throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
  }
  if (array.byteLength > 65536) {
    throw new DOMException(
      `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`,
      'QuotaExceededError',
    );
  }
  const bytes = new Uint8Array(host.random(array.byteLength));
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(bytes);
  return array;
}

export function randomUUID(): string {
  const b = new Uint8Array(host.random(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

class Crypto {
  constructor() {
    throw new TypeError('Illegal constructor');
  }
}

export const crypto: any = Object.create(Crypto.prototype);
Object.defineProperties(crypto, {
  getRandomValues: { value: getRandomValues, enumerable: true },
  randomUUID: { value: randomUUID, enumerable: true },
  subtle: { value: makeSubtle(), enumerable: true },
});
// DigestStream extends WritableStream: defined on first use so streams load lazily.
lazyGlobal(crypto, 'DigestStream', makeDigestStream);
export { Crypto };
