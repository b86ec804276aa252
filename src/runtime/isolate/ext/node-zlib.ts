/**
 * node:zlib (nodejs_compat) over fflate, run in the isolate (its CPU is the worker's own):
 * gzip/gunzip, deflate/inflate (zlib wrapper), deflateRaw/inflateRaw and unzip (gzip or zlib,
 * detected) as *Sync functions, callback functions (util.promisify works on them) and
 * Transform streams (createGzip… and the classes), plus `constants`, `codes` and `crc32`.
 *
 * Differences from Node (documented in docs/workers-api.md):
 *  - compressed bytes are fflate's, not zlib's: valid streams any inflater reads, but not
 *    byte-for-byte what Node makes (decompression gives the same bytes);
 *  - `strategy` and `windowBits` are accepted and ignored; `level`, `memLevel` and
 *    `dictionary` are honoured;
 *  - decompression's output is bounded by `maxOutputLength` (default 128 MiB here, Node's is
 *    4 GiB): input is fed in slices sized so that one slice cannot inflate far past the bound;
 *  - brotli is not provided: brotli* and createBrotli* throw an Error saying so.
 */
import { Buffer } from 'node:buffer';
import { Transform } from 'node:stream';
import {
  Deflate as FDeflate,
  Gunzip as FGunzip,
  Gzip as FGzip,
  Inflate as FInflate,
  Unzlib as FUnzlib,
  Zlib as FZlib,
} from 'fflate';

const DEFAULT_MAX_OUTPUT = 128 * 1024 * 1024;
const K_MAX_LENGTH = 2 ** 32;

export const constants = Object.freeze({
  Z_NO_FLUSH: 0,
  Z_PARTIAL_FLUSH: 1,
  Z_SYNC_FLUSH: 2,
  Z_FULL_FLUSH: 3,
  Z_FINISH: 4,
  Z_BLOCK: 5,
  Z_OK: 0,
  Z_STREAM_END: 1,
  Z_NEED_DICT: 2,
  Z_ERRNO: -1,
  Z_STREAM_ERROR: -2,
  Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4,
  Z_BUF_ERROR: -5,
  Z_VERSION_ERROR: -6,
  Z_NO_COMPRESSION: 0,
  Z_BEST_SPEED: 1,
  Z_BEST_COMPRESSION: 9,
  Z_DEFAULT_COMPRESSION: -1,
  Z_FILTERED: 1,
  Z_HUFFMAN_ONLY: 2,
  Z_RLE: 3,
  Z_FIXED: 4,
  Z_DEFAULT_STRATEGY: 0,
  ZLIB_VERNUM: 4880,
  DEFLATE: 1,
  INFLATE: 2,
  GZIP: 3,
  GUNZIP: 4,
  DEFLATERAW: 5,
  INFLATERAW: 6,
  UNZIP: 7,
  BROTLI_DECODE: 8,
  BROTLI_ENCODE: 9,
  Z_MIN_WINDOWBITS: 8,
  Z_MAX_WINDOWBITS: 15,
  Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_CHUNK: 64,
  Z_MAX_CHUNK: Number.POSITIVE_INFINITY,
  Z_DEFAULT_CHUNK: 16384,
  Z_MIN_MEMLEVEL: 1,
  Z_MAX_MEMLEVEL: 9,
  Z_DEFAULT_MEMLEVEL: 8,
  Z_MIN_LEVEL: -1,
  Z_MAX_LEVEL: 9,
  Z_DEFAULT_LEVEL: -1,
  BROTLI_OPERATION_PROCESS: 0,
  BROTLI_OPERATION_FLUSH: 1,
  BROTLI_OPERATION_FINISH: 2,
  BROTLI_OPERATION_EMIT_METADATA: 3,
  BROTLI_PARAM_MODE: 0,
  BROTLI_MODE_GENERIC: 0,
  BROTLI_MODE_TEXT: 1,
  BROTLI_MODE_FONT: 2,
  BROTLI_DEFAULT_MODE: 0,
  BROTLI_PARAM_QUALITY: 1,
  BROTLI_MIN_QUALITY: 0,
  BROTLI_MAX_QUALITY: 11,
  BROTLI_DEFAULT_QUALITY: 11,
  BROTLI_PARAM_LGWIN: 2,
  BROTLI_MIN_WINDOW_BITS: 10,
  BROTLI_MAX_WINDOW_BITS: 24,
  BROTLI_DEFAULT_WINDOW: 22,
  BROTLI_PARAM_SIZE_HINT: 5,
});

export const codes = Object.freeze({
  Z_OK: 0,
  Z_STREAM_END: 1,
  Z_NEED_DICT: 2,
  Z_ERRNO: -1,
  Z_STREAM_ERROR: -2,
  Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4,
  Z_BUF_ERROR: -5,
  Z_VERSION_ERROR: -6,
  '0': 'Z_OK',
  '1': 'Z_STREAM_END',
  '2': 'Z_NEED_DICT',
  '-1': 'Z_ERRNO',
  '-2': 'Z_STREAM_ERROR',
  '-3': 'Z_DATA_ERROR',
  '-4': 'Z_MEM_ERROR',
  '-5': 'Z_BUF_ERROR',
  '-6': 'Z_VERSION_ERROR',
});

type Kind = 'gzip' | 'gunzip' | 'deflate' | 'inflate' | 'deflateRaw' | 'inflateRaw' | 'unzip';
type Input = string | ArrayBuffer | ArrayBufferView;

interface Options {
  level?: number;
  memLevel?: number;
  windowBits?: number;
  strategy?: number;
  dictionary?: ArrayBufferView | ArrayBuffer;
  maxOutputLength?: number;
  chunkSize?: number;
  flush?: number;
  finishFlush?: number;
}

interface Codec {
  ondata: (data: Uint8Array, final: boolean) => void;
  push(data: Uint8Array, final?: boolean): void;
  flush?(sync?: boolean): void;
  /** A decompressor: whether the input held a whole stream (checked after the final push). */
  complete?(): boolean;
}

/** fflate's inflate state: `f` the last block was read, `l` a block is in progress. */
type InflateState = { f?: number; l?: unknown };

/**
 * Completion of fflate's streaming inflaters, which do not report a stream cut at a block
 * boundary (Node says "unexpected end of file"). Gunzip replaces its state when a member ends,
 * so members are counted as they end.
 */
function tracked(codec: Codec & { s?: InflateState }, gzip: boolean): Codec {
  const done = (st: InflateState | undefined) => !!st && !!st.f && !st.l;
  if (!gzip) {
    codec.complete = () => done(codec.s);
    return codec;
  }
  let state = codec.s;
  let members = 0;
  Object.defineProperty(codec, 's', {
    configurable: true,
    get: () => state,
    set: (v: InflateState) => {
      if (done(state)) members++;
      state = v;
    },
  });
  codec.complete = () => members > 0 || done(state);
  return codec;
}

function endOfFile(): Error {
  return Object.assign(new Error('unexpected EOF'), { code: 0 });
}

function codeError(E: new (m: string) => Error, code: string, message: string): Error {
  const e = new E(message) as Error & { code: string };
  e.code = code;
  return e;
}

function invalidType(name: string, v: unknown): Error {
  return codeError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer. Received ${v === null ? 'null' : typeof v}`,
  );
}

function toBytes(v: unknown, name = 'buffer'): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw invalidType(name, v);
}

/** A zlib-style error (`errno`, `code`) from fflate's. */
function zlibError(err: unknown): Error {
  const f = err as Error & { code?: unknown };
  if (typeof f?.code !== 'number') return err as Error;
  const [message, code, errno] =
    f.code === 0
      ? ['unexpected end of file', 'Z_BUF_ERROR', -5]
      : f.code === 6
        ? ['incorrect header check', 'Z_DATA_ERROR', -3]
        : f.code === 3
          ? ['invalid distance too far back', 'Z_DATA_ERROR', -3]
          : f.code === 2
            ? ['invalid literal/length code', 'Z_DATA_ERROR', -3]
            : [f.message, 'Z_DATA_ERROR', -3];
  const e = new Error(message) as Error & { code: string; errno: number };
  e.code = code;
  e.errno = errno;
  return e;
}

function level(o: Options): number {
  const l = o.level ?? -1;
  if (!Number.isInteger(l) || l < -1 || l > 9)
    throw codeError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "options.level" is out of range. It must be >= -1 and <= 9. Received ${l}`,
    );
  return l === -1 ? 6 : l;
}

function codecOptions(o: Options): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  if (o.dictionary !== undefined) opts.dictionary = toBytes(o.dictionary, 'options.dictionary');
  return opts;
}

/** An fflate streaming codec for `kind`; unzip picks gzip or zlib from the first bytes. */
function makeCodec(kind: Kind, o: Options): Codec {
  const c = codecOptions(o);
  const pack = () => ({ ...c, level: level(o), mem: o.memLevel ?? 8 });
  switch (kind) {
    case 'gzip':
      return new FGzip({ level: level(o), mem: o.memLevel ?? 8, mtime: 0 } as never) as unknown as Codec;
    case 'deflate':
      return new FZlib(pack() as never) as unknown as Codec;
    case 'deflateRaw':
      return new FDeflate(pack() as never) as unknown as Codec;
    case 'gunzip':
      return tracked(new FGunzip() as unknown as Codec, true);
    case 'inflate':
      return tracked(new FUnzlib(c as never) as unknown as Codec, false);
    case 'inflateRaw':
      return tracked(new FInflate(c as never) as unknown as Codec, false);
    case 'unzip':
      return unzipCodec(c);
  }
}

function unzipCodec(c: Record<string, unknown>): Codec {
  let inner: Codec | null = null;
  let head = new Uint8Array(0);
  const self: Codec = {
    ondata: () => {},
    push(data, final = false) {
      if (!inner) {
        const all = new Uint8Array(head.length + data.length);
        all.set(head);
        all.set(data, head.length);
        if (all.length < 2 && !final) {
          head = all;
          return;
        }
        const gzip = all[0] === 0x1f && all[1] === 0x8b;
        inner = tracked((gzip ? new FGunzip() : new FUnzlib(c as never)) as unknown as Codec, gzip);
        inner.ondata = (d, f) => self.ondata(d, f);
        inner.push(all, final);
        return;
      }
      inner.push(data, final);
    },
    complete: () => !!inner?.complete?.(),
  };
  return self;
}

const COMPRESS = new Set<Kind>(['gzip', 'deflate', 'deflateRaw']);

/** Input slice size: small enough that one slice (≤ 1032:1 for DEFLATE) stays near the bound. */
function sliceSize(kind: Kind, room: number): number {
  if (COMPRESS.has(kind)) return 1 << 20;
  return Math.max(1024, Math.min(1 << 16, Math.floor(room / 1032)));
}

function maxOutput(o: Options): number {
  const m = o.maxOutputLength ?? DEFAULT_MAX_OUTPUT;
  if (!Number.isInteger(m) || m < 1 || m > K_MAX_LENGTH)
    throw codeError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "options.maxOutputLength" is out of range. It must be >= 1 and <= ${K_MAX_LENGTH}. Received ${m}`,
    );
  return m;
}

function tooLarge(max: number): Error {
  return codeError(RangeError, 'ERR_BUFFER_TOO_LARGE', `Cannot create a Buffer larger than ${max} bytes`);
}

/** Feed `data` to `codec` in slices; `final` ends the stream. */
function feed(codec: Codec, kind: Kind, data: Uint8Array, final: boolean, room: () => number): void {
  if (data.length === 0) {
    codec.push(data, final);
    return;
  }
  for (let off = 0; off < data.length; ) {
    const n = sliceSize(kind, room());
    const end = Math.min(data.length, off + n);
    codec.push(data.subarray(off, end), final && end === data.length);
    off = end;
  }
}

function processSync(kind: Kind, input: Input, options: Options = {}): Buffer {
  const data = toBytes(input);
  const o = options ?? {};
  const max = maxOutput(o);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const codec = makeCodec(kind, o);
  codec.ondata = (d) => {
    total += d.length;
    if (total > max) throw tooLarge(max);
    if (d.length) chunks.push(d);
  };
  try {
    feed(codec, kind, data, true, () => max - total);
    if (codec.complete && !codec.complete()) throw endOfFile();
  } catch (err) {
    throw zlibError(err);
  }
  return Buffer.concat(chunks, total);
}

type Callback = (err: Error | null, result?: Buffer) => void;

function callbackForm(kind: Kind) {
  return (input: Input, options: Options | Callback, cb?: Callback): void => {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    if (typeof cb !== 'function')
      throw codeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "callback" argument must be of type function');
    const done = cb;
    let out: Buffer;
    try {
      out = processSync(kind, input, options);
    } catch (err) {
      queueMicrotask(() => done(err as Error));
      return;
    }
    queueMicrotask(() => done(null, out));
  };
}

export const gzipSync = (b: Input, o?: Options) => processSync('gzip', b, o);
export const gunzipSync = (b: Input, o?: Options) => processSync('gunzip', b, o);
export const deflateSync = (b: Input, o?: Options) => processSync('deflate', b, o);
export const inflateSync = (b: Input, o?: Options) => processSync('inflate', b, o);
export const deflateRawSync = (b: Input, o?: Options) => processSync('deflateRaw', b, o);
export const inflateRawSync = (b: Input, o?: Options) => processSync('inflateRaw', b, o);
export const unzipSync = (b: Input, o?: Options) => processSync('unzip', b, o);
export const gzip = callbackForm('gzip');
export const gunzip = callbackForm('gunzip');
export const deflate = callbackForm('deflate');
export const inflate = callbackForm('inflate');
export const deflateRaw = callbackForm('deflateRaw');
export const inflateRaw = callbackForm('inflateRaw');
export const unzip = callbackForm('unzip');

/** Input slice of a stream's decompressor: at most ~16 MiB of output each (DEFLATE's 1032:1). */
const STREAM_SLICE = 16 * 1024;

/**
 * The Transform streams: one fflate streaming codec each. A written chunk is fed in slices and
 * the stream waits for its reader whenever its buffer is full (as Node's zlib streams do), so
 * a decompression bomb costs at most one slice's output beyond what the reader takes.
 */
class ZlibBase extends (Transform as any) {
  bytesWritten = 0;
  #codec: Codec;
  #full = false;
  #pending: { data: Uint8Array; off: number; cb: (err?: Error | null) => void } | null = null;
  constructor(kind: Kind, options: Options = {}) {
    const o = options ?? {};
    super({ highWaterMark: o.chunkSize ?? 16384 });
    this.#codec = makeCodec(kind, o);
    this.#codec.ondata = (d) => {
      if (d.length && !this.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength))) this.#full = true;
    };
  }
  _transform(chunk: unknown, encoding: string, cb: (err?: Error | null) => void): void {
    let data: Uint8Array;
    try {
      data =
        typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : toBytes(chunk, 'chunk');
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.bytesWritten += data.length;
    this.#pending = { data, off: 0, cb };
    this.#pump();
  }
  #pump(): void {
    const p = this.#pending;
    if (!p) return;
    try {
      while (p.off < p.data.length) {
        if (this.destroyed) return;
        if (this.#full) return; // _read resumes
        const end = Math.min(p.data.length, p.off + STREAM_SLICE);
        this.#codec.push(p.data.subarray(p.off, end), false);
        p.off = end;
      }
    } catch (err) {
      this.#pending = null;
      p.cb(zlibError(err));
      return;
    }
    this.#pending = null;
    p.cb();
  }
  _read(size: number): void {
    this.#full = false;
    if (this.#pending) this.#pump();
    else super._read(size);
  }
  _flush(cb: (err?: Error | null) => void): void {
    try {
      this.#codec.push(new Uint8Array(0), true);
      if (this.#codec.complete && !this.#codec.complete()) throw endOfFile();
      cb();
    } catch (err) {
      cb(zlibError(err));
    }
  }
  /** Flush what is compressed so far (a sync flush); decompressors have nothing held back. */
  flush(kind?: number | (() => void), cb?: () => void): void {
    if (typeof kind === 'function') cb = kind;
    try {
      this.#codec.flush?.(true);
    } catch (err) {
      this.destroy(zlibError(err));
    }
    if (cb) queueMicrotask(cb);
  }
  params(_level: number, _strategy: number, cb?: () => void): void {
    if (cb) queueMicrotask(cb);
  }
  reset(): void {}
  close(cb?: () => void): void {
    if (cb) this.once('close', cb);
    this.destroy();
  }
}

export class Gzip extends ZlibBase {
  constructor(o?: Options) {
    super('gzip', o);
  }
}
export class Gunzip extends ZlibBase {
  constructor(o?: Options) {
    super('gunzip', o);
  }
}
export class Deflate extends ZlibBase {
  constructor(o?: Options) {
    super('deflate', o);
  }
}
export class Inflate extends ZlibBase {
  constructor(o?: Options) {
    super('inflate', o);
  }
}
export class DeflateRaw extends ZlibBase {
  constructor(o?: Options) {
    super('deflateRaw', o);
  }
}
export class InflateRaw extends ZlibBase {
  constructor(o?: Options) {
    super('inflateRaw', o);
  }
}
export class Unzip extends ZlibBase {
  constructor(o?: Options) {
    super('unzip', o);
  }
}

export const createGzip = (o?: Options) => new Gzip(o);
export const createGunzip = (o?: Options) => new Gunzip(o);
export const createDeflate = (o?: Options) => new Deflate(o);
export const createInflate = (o?: Options) => new Inflate(o);
export const createDeflateRaw = (o?: Options) => new DeflateRaw(o);
export const createInflateRaw = (o?: Options) => new InflateRaw(o);
export const createUnzip = (o?: Options) => new Unzip(o);

let crcTable: Int32Array | null = null;

/** CRC-32 (as zlib's crc32), continuing from `value`. */
export function crc32(data: Input, value = 0): number {
  const bytes = toBytes(data, 'data');
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw codeError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "value" is out of range. It must be >= 0 and <= 4294967295. Received ${value}`,
    );
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function noBrotli(): never {
  throw codeError(
    Error,
    'ERR_METHOD_NOT_IMPLEMENTED',
    'Outpost does not provide brotli in node:zlib (no brotli codec runs in the isolate): use gzip or deflate',
  );
}
export const brotliCompressSync = noBrotli;
export const brotliDecompressSync = noBrotli;
export const brotliCompress = noBrotli;
export const brotliDecompress = noBrotli;
export const createBrotliCompress = noBrotli;
export const createBrotliDecompress = noBrotli;
export class BrotliCompress {
  constructor() {
    noBrotli();
  }
}
export class BrotliDecompress {
  constructor() {
    noBrotli();
  }
}

export default {
  constants,
  codes,
  crc32,
  gzip,
  gzipSync,
  gunzip,
  gunzipSync,
  deflate,
  deflateSync,
  inflate,
  inflateSync,
  deflateRaw,
  deflateRawSync,
  inflateRaw,
  inflateRawSync,
  unzip,
  unzipSync,
  Gzip,
  Gunzip,
  Deflate,
  Inflate,
  DeflateRaw,
  InflateRaw,
  Unzip,
  createGzip,
  createGunzip,
  createDeflate,
  createInflate,
  createDeflateRaw,
  createInflateRaw,
  createUnzip,
  brotliCompress,
  brotliCompressSync,
  brotliDecompress,
  brotliDecompressSync,
  createBrotliCompress,
  createBrotliDecompress,
  BrotliCompress,
  BrotliDecompress,
};
