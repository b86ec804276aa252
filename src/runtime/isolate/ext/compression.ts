/**
 * CompressionStream / DecompressionStream (https://compression.spec.whatwg.org/) with fflate's
 * streaming codecs. Formats: gzip, deflate (zlib wrapper, RFC 1950), deflate-raw (RFC 1951).
 * The codec runs in the isolate, so its CPU counts against the worker's limit.
 */
import { Deflate, Gunzip, Gzip, Inflate, Unzlib, Zlib } from 'fflate';

const FORMATS = ['gzip', 'deflate', 'deflate-raw'];

function checkFormat(format: unknown, what: string): string {
  const f = String(format);
  if (!FORMATS.includes(f))
    throw new TypeError(`Failed to construct '${what}': Unsupported compression format: '${f}'`);
  return f;
}

function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'");
}

interface Codec {
  ondata: (data: Uint8Array, final: boolean) => void;
  push(data: Uint8Array, final?: boolean): void;
}

function codecStream(make: () => Codec, decompress: boolean): { readable: any; writable: any } {
  let out: Uint8Array[] = [];
  let ended = false;
  const codec = make();
  codec.ondata = (data, final) => {
    if (data.length) out.push(data);
    if (final) ended = true;
  };
  const drain = (controller: any) => {
    for (const c of out) controller.enqueue(c);
    out = [];
  };
  const run = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      throw new TypeError(decompress ? `Decompression failed: ${(err as Error).message}` : String(err));
    }
  };
  return new (globalThis as any).TransformStream({
    transform(chunk: unknown, controller: any) {
      const bytes = chunkBytes(chunk);
      if (decompress && ended && bytes.length)
        throw new TypeError('Decompression failed: trailing data after the end of the stream');
      run(() => codec.push(bytes, false));
      drain(controller);
    },
    flush(controller: any) {
      if (!ended) run(() => codec.push(new Uint8Array(0), true));
      drain(controller);
      if (decompress && !ended) throw new TypeError('Decompression failed: unexpected end of input');
    },
  });
}

const CODECS = {
  compress: { gzip: () => new Gzip(), deflate: () => new Zlib(), 'deflate-raw': () => new Deflate() },
  decompress: { gzip: () => new Gunzip(), deflate: () => new Unzlib(), 'deflate-raw': () => new Inflate() },
} as const;

/** The readable/writable pair of a (de)compression stream for `format`. */
function pair(format: string, decompress: boolean): { readable: any; writable: any } {
  const f = checkFormat(
    format,
    decompress ? 'DecompressionStream' : 'CompressionStream',
  ) as keyof typeof CODECS.compress;
  const t = codecStream(CODECS[decompress ? 'decompress' : 'compress'][f] as () => Codec, decompress);
  return { readable: t.readable, writable: t.writable };
}

export class CompressionStream {
  readonly readable: any;
  readonly writable: any;
  constructor(format: string) {
    ({ readable: this.readable, writable: this.writable } = pair(format, false));
  }
}

export class DecompressionStream {
  readonly readable: any;
  readonly writable: any;
  constructor(format: string) {
    ({ readable: this.readable, writable: this.writable } = pair(format, true));
  }
}
