/**
 * Stream classes built on TransformStream: TextEncoderStream / TextDecoderStream
 * (https://encoding.spec.whatwg.org/#interface-textencoderstream) and Workers'
 * IdentityTransformStream / FixedLengthStream
 * (https://developers.cloudflare.com/workers/runtime-apis/streams/transformstream/).
 * Each is created on first use, since TransformStream itself loads lazily.
 */
import { TextDecoder, toBytes, utf8Encode } from './encoding.ts';
import { streams } from './streams.ts';

/** Streams whose length is declared (FixedLengthStream): a response carries Content-Length. */
export const declaredLength = new WeakMap<object, number>();

function bytesOf(chunk: unknown, what: string): Uint8Array {
  if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) return toBytes(chunk, what);
  throw new TypeError(
    `${what}: This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.`,
  );
}

export function makeTextEncoderStream(): any {
  const { TransformStream } = streams();
  return class TextEncoderStream {
    readonly readable: any;
    readonly writable: any;
    constructor() {
      let pending = '';
      const t = new TransformStream({
        transform(chunk: unknown, c: any) {
          let s = pending + String(chunk);
          pending = '';
          // A high surrogate at the end waits for its pair in the next chunk.
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pending = s.slice(-1);
            s = s.slice(0, -1);
          }
          if (s.length) c.enqueue(utf8Encode(s));
        },
        flush(c: any) {
          if (pending) c.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
      this.readable = t.readable;
      this.writable = t.writable;
    }
    get encoding() {
      return 'utf-8';
    }
  };
}

export function makeTextDecoderStream(): any {
  const { TransformStream } = streams();
  return class TextDecoderStream {
    readonly readable: any;
    readonly writable: any;
    readonly #decoder: TextDecoder;
    constructor(label = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      const t = new TransformStream({
        transform(chunk: unknown, c: any) {
          const s = decoder.decode(bytesOf(chunk, 'TextDecoderStream'), { stream: true });
          if (s) c.enqueue(s);
        },
        flush(c: any) {
          const s = decoder.decode();
          if (s) c.enqueue(s);
        },
      });
      this.readable = t.readable;
      this.writable = t.writable;
    }
    get encoding() {
      return this.#decoder.encoding;
    }
    get fatal() {
      return this.#decoder.fatal;
    }
    get ignoreBOM() {
      return this.#decoder.ignoreBOM;
    }
  };
}

function byteTransform(expected: number | null): { readable: any; writable: any } {
  const { TransformStream } = streams();
  let seen = 0;
  return new TransformStream({
    transform(chunk: unknown, c: any) {
      const b = bytesOf(chunk, expected === null ? 'IdentityTransformStream' : 'FixedLengthStream');
      seen += b.byteLength;
      if (expected !== null && seen > expected)
        throw new TypeError(`FixedLengthStream: more than the declared ${expected} bytes were written.`);
      if (b.byteLength) c.enqueue(b.slice());
    },
    flush() {
      if (expected !== null && seen !== expected)
        throw new TypeError(`FixedLengthStream: ${seen} bytes were written, ${expected} were declared.`);
    },
  });
}

export function makeIdentityTransformStream(): any {
  return class IdentityTransformStream {
    readonly readable: any;
    readonly writable: any;
    constructor() {
      const t = byteTransform(null);
      this.readable = t.readable;
      this.writable = t.writable;
    }
  };
}

export function makeFixedLengthStream(): any {
  return class FixedLengthStream {
    readonly readable: any;
    readonly writable: any;
    constructor(length: number | bigint) {
      const n = Number(length);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new TypeError('FixedLengthStream requires a non-negative integer length.');
      const t = byteTransform(n);
      this.readable = t.readable;
      this.writable = t.writable;
      declaredLength.set(this.readable, n);
    }
  };
}
