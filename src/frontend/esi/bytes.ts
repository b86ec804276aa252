// The processor works on "binary strings": one UTF-16 code unit per input byte (0–255). ESI
// markup is ASCII, and in UTF-8 (and every ASCII-compatible charset) bytes below 0x80 only ever
// stand for themselves, so matching ASCII markup in a binary string is exact whatever the page's
// charset, and a multi-byte character split between two chunks needs no care at all: the bytes
// that are not markup leave exactly as they came (no U+FFFD for invalid or non-UTF-8 bytes).
// Attribute values are read as UTF-8 where they are interpreted (include URLs, test expressions),
// and variable values are written into the page as UTF-8.

const SLICE = 8192; // String.fromCharCode.apply takes its argument list on the stack

// Node's Buffer converts bytes to and from one-char-per-byte ("latin1") strings natively, some
// 15 times faster than the portable loops below, which remain for runtimes without it.
type NodeBuffer = Uint8Array & {
  toString(encoding: 'latin1'): string;
  write(s: string, offset: number, encoding: 'latin1'): number;
};
const NodeBuf = (
  globalThis as { Buffer?: { from(b: ArrayBufferLike, off: number, len: number): NodeBuffer } }
).Buffer;

/** Bytes → binary string (each byte one char). */
export function toBinary(bytes: Uint8Array): string {
  if (NodeBuf) return NodeBuf.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return portableToBinary(bytes);
}

/** Binary string → bytes (each char's low 8 bits), in an ArrayBuffer of their own. */
export function fromBinary(s: string): Uint8Array {
  // Short text (between includes, mostly) is quicker copied by hand than through a Buffer.
  if (!NodeBuf || s.length < 64) return portableFromBinary(s);
  const out = new Uint8Array(s.length);
  NodeBuf.from(out.buffer, 0, out.length).write(s, 0, 'latin1');
  return out;
}

export function portableToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += SLICE) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + SLICE) as unknown as number[]);
  }
  return s;
}

export function portableFromBinary(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A JS string → its UTF-8 bytes as a binary string (a variable's value written into the page). */
export function utf8ToBinary(s: string): string {
  // ASCII, the usual case, is already its own binary form.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return toBinary(utf8Encoder.encode(s));
  return s;
}

/** A binary string holding UTF-8 (an attribute value) → a JS string. */
export function binaryToUtf8(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return utf8Decoder.decode(fromBinary(s));
  return s;
}
