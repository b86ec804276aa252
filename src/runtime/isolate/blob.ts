/**
 * Blob and File (https://w3c.github.io/FileAPI/). Bytes live in the isolate; a Blob never
 * changes, so slices and copies share nothing mutable.
 */
import { concat, toBytes, utf8Decode, utf8Encode } from './encoding.ts';
import { streams } from './streams.ts';

const kBytes = Symbol('bytes');

function partBytes(part: unknown): Uint8Array {
  if (part instanceof Blob) return part[kBytes];
  if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) return toBytes(part, 'Blob part').slice();
  return utf8Encode(String(part));
}

/** Normalise a MIME type as the File API does: lower case, or '' when it has non-ASCII. */
function normaliseType(type: unknown): string {
  const t = type === undefined ? '' : String(type);
  return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
}

export class Blob {
  [kBytes]: Uint8Array;
  #type: string;
  constructor(parts: unknown = [], options: { type?: string; endings?: string } = {}) {
    if (parts === null || typeof parts !== 'object' || typeof (parts as any)[Symbol.iterator] !== 'function')
      throw new TypeError(
        "Failed to construct 'Blob': The provided value cannot be converted to a sequence.",
      );
    const out = concat(Array.from(parts as Iterable<unknown>, partBytes));
    this[kBytes] = out;
    this.#type = normaliseType(options?.type);
  }
  get size(): number {
    return this[kBytes].byteLength;
  }
  get type(): string {
    return this.#type;
  }
  slice(start?: number, end?: number, contentType?: string): Blob {
    const b = new Blob([], { type: contentType });
    b[kBytes] = this[kBytes].subarray(start ?? 0, end ?? this.size);
    return b;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this[kBytes].slice().buffer as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    return this[kBytes].slice();
  }
  async text(): Promise<string> {
    return utf8Decode(this[kBytes], false);
  }
  stream(): any {
    const bytes = this[kBytes];
    return new (streams().ReadableStream)({
      type: 'bytes',
      start(c: any) {
        if (bytes.byteLength) c.enqueue(bytes.slice());
        c.close();
      },
    });
  }
  get [Symbol.toStringTag]() {
    return 'Blob';
  }
}

export class File extends Blob {
  #name: string;
  #lastModified: number;
  constructor(parts: unknown, name: unknown, options: { type?: string; lastModified?: number } = {}) {
    if (arguments.length < 2)
      throw new TypeError(
        "Failed to construct 'File': 2 arguments required, but only " + arguments.length + ' present.',
      );
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Number(options.lastModified);
  }
  get name(): string {
    return this.#name;
  }
  get lastModified(): number {
    return this.#lastModified;
  }
  get [Symbol.toStringTag]() {
    return 'File';
  }
}

/** The bytes of a Blob (for bodies). */
export function blobBytes(b: Blob): Uint8Array {
  return b[kBytes];
}
