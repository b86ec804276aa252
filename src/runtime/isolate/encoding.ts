/**
 * UTF-8 TextEncoder/TextDecoder and base64 (atob/btoa), hand-written: V8 ships none of them.
 * https://encoding.spec.whatwg.org/ — only UTF-8, as in Workers.
 */

export function utf8Encode(s: string): Uint8Array {
  // ASCII (most of what a request carries): one array of the right size, no copy after.
  const n = s.length;
  let i = 0;
  while (i < n && s.charCodeAt(i) < 0x80) i++;
  if (i === n) {
    const ascii = new Uint8Array(n);
    for (let k = 0; k < n; k++) ascii[k] = s.charCodeAt(k);
    return ascii;
  }
  const out = new Uint8Array(s.length * 3);
  let p = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else c = 0xfffd; // lone surrogate
    }
    if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    } else {
      out[p++] = 0xf0 | (c >> 18);
      out[p++] = 0x80 | ((c >> 12) & 63);
      out[p++] = 0x80 | ((c >> 6) & 63);
      out[p++] = 0x80 | (c & 63);
    }
  }
  return p === out.length ? out : (apply(sliceBytes, out, [0, p]) as Uint8Array);
}

/**
 * Length of the incomplete UTF-8 sequence at the end of `b`, which a streaming decode keeps for
 * the next chunk (0 if it ends cleanly, or if what is there is ill-formed already: a lead byte
 * that leads nothing, or a second byte out of its lead's bounds, decoded, or refused, now as
 * WHATWG's decoder does).
 */
function incompleteTail(b: Uint8Array, end: number): number {
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const c = b[end - back];
    if ((c & 0xc0) === 0x80) continue;
    let need = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 3;
      if (c === 0xe0) lower = 0xa0;
      else if (c === 0xed) upper = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 4;
      if (c === 0xf0) lower = 0x90;
      else if (c === 0xf4) upper = 0x8f;
    } else return 0;
    if (need <= back) return 0;
    if (back >= 2) {
      const second = b[end - back + 1];
      if (second < lower || second > upper) return 0;
    }
    return back;
  }
  return 0;
}

// Captured when the prelude loads: tenant code may replace String.fromCharCode or Reflect.apply.
const fromCharCode = String.fromCharCode;
const { apply } = Reflect;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const subarray = typedArrayPrototype.subarray as Uint8Array['subarray'];
const sliceBytes = typedArrayPrototype.slice as Uint8Array['slice'];
const setBytes = typedArrayPrototype.set as Uint8Array['set'];

const bufferOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'buffer')?.get as (
  this: Uint8Array,
) => ArrayBuffer;

const NativeUint8Array = Uint8Array;
const byteOffsetOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'byteOffset')?.get as (
  this: Uint8Array,
) => number;
const byteLengthOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'byteLength')?.get as (
  this: Uint8Array,
) => number;
const bufferLengthOf = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')?.get as (
  this: ArrayBuffer,
) => number;

/**
 * `b`'s bytes as an ArrayBuffer: its own buffer when `b` covers all of it, else a copy; read
 * with the intrinsics only, so what it returns is a real ArrayBuffer whatever tenant code
 * replaced on typed arrays.
 */
export function bytesBuffer(b: Uint8Array): ArrayBuffer {
  const buffer = apply(bufferOf, b, []) as ArrayBuffer;
  return apply(byteOffsetOf, b, []) === 0 && apply(byteLengthOf, b, []) === apply(bufferLengthOf, buffer, [])
    ? buffer
    : bytesCopy(b);
}

/**
 * A copy of `b`'s bytes in an ArrayBuffer of its own, made with the intrinsics only: a new
 * array of the captured constructor filled by the intrinsic `set` (`slice` would ask `b` for
 * its species constructor, which tenant code may replace).
 */
export function bytesCopy(b: Uint8Array): ArrayBuffer {
  const out = new NativeUint8Array(apply(byteLengthOf, b, []) as number);
  apply(setBytes, out, [b]);
  return apply(bufferOf, out, []) as ArrayBuffer;
}

/** `b.subarray(from, to)` with the intrinsic method (tenant code may replace a typed array's). */
export function bytesView(b: Uint8Array, from: number, to = b.length): Uint8Array {
  return apply(subarray, b, [from, to]) as Uint8Array;
}
/** Code units one String.fromCharCode call takes (its arguments). */
const CHUNK = 8192;
/** An ASCII run at least this long is taken from the bytes at once, not unit by unit. */
const RUN = 32;

/** The ASCII bytes b[from, to) as a string. */
function asciiOf(b: Uint8Array, from: number, to: number): string {
  if (from === 0 && to === b.length && to <= CHUNK) return apply(fromCharCode, null, b) as string;
  let out = '';
  for (let at = from; at < to; at += CHUNK)
    out += apply(fromCharCode, null, bytesView(b, at, Math.min(to, at + CHUNK))) as string;
  return out;
}

/** U+FFFD for an ill-formed sequence, or a TypeError when decoding is fatal. */
function replacement(units: number[], fatal: boolean): void {
  if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
  units.push(0xfffd);
}

/**
 * UTF-8 to a string (WHATWG Encoding, "UTF-8 decode" without BOM handling): ill-formed sequences
 * become U+FFFD (each maximal subpart once), or throw when `fatal`. ASCII runs, most of what a
 * request carries, go from the bytes to the string in one call; the rest is gathered as code
 * units. No closures: this runs on every body and URL decoded, and allocating as little as it
 * can keeps each request's garbage (and an idle isolate's touched heap) small.
 */
export function utf8Decode(b: Uint8Array, fatal: boolean): string {
  const n = b.length;
  let out = '';
  const units: number[] = [];
  for (let i = 0; i < n; ) {
    const c = b[i];
    if (c < 0x80) {
      let j = i + 1;
      while (j < n && b[j] < 0x80) j++;
      if (units.length === 0 || j - i >= RUN) {
        if (units.length > 0) {
          out += apply(fromCharCode, null, units) as string;
          units.length = 0;
        }
        out += asciiOf(b, i, j);
      } else for (let k = i; k < j; k++) units.push(b[k]);
      i = j;
    } else {
      // WHATWG's UTF-8 decoder: the lead byte bounds the next byte (no overlong forms, no
      // surrogates, nothing past U+10FFFF); a byte out of bounds ends the sequence as one
      // U+FFFD and is read again on its own.
      let need: number;
      let cp: number;
      let lower = 0x80;
      let upper = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
      } else if (c >= 0xe0 && c <= 0xef) {
        if (c === 0xe0) lower = 0xa0;
        else if (c === 0xed) upper = 0x9f;
        need = 2;
        cp = c & 0x0f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        if (c === 0xf0) lower = 0x90;
        else if (c === 0xf4) upper = 0x8f;
        need = 3;
        cp = c & 0x07;
      } else {
        replacement(units, fatal);
        i++;
        continue;
      }
      let j = 1;
      for (; j <= need; j++) {
        const next = b[i + j];
        if (next === undefined || next < lower || next > upper) break;
        lower = 0x80;
        upper = 0xbf;
        cp = (cp << 6) | (next & 0x3f);
      }
      if (j <= need) {
        replacement(units, fatal);
        i += j;
      } else {
        if (cp >= 0x10000) {
          cp -= 0x10000;
          units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else units.push(cp);
        i += need + 1;
      }
    }
    if (units.length > CHUNK) {
      out += apply(fromCharCode, null, units) as string;
      units.length = 0;
    }
  }
  return units.length > 0 ? out + (apply(fromCharCode, null, units) as string) : out;
}

export function toBytes(input: unknown, what: string): Uint8Array {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof SharedArrayBuffer) return new Uint8Array(input);
  throw new TypeError(`${what}: expected an ArrayBuffer or ArrayBufferView`);
}

const UTF8_LABELS = new Set([
  'utf-8',
  'utf8',
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'x-unicode20utf8',
]);

export class TextEncoder {
  get encoding() {
    return 'utf-8';
  }
  encode(input = ''): Uint8Array {
    return utf8Encode(String(input));
  }
  encodeInto(source: string, dest: Uint8Array): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const ch of String(source)) {
      const bytes = utf8Encode(ch);
      if (written + bytes.length > dest.length) break;
      dest.set(bytes, written);
      written += bytes.length;
      read += ch.length;
    }
    return { read, written };
  }
}

/** A decoder for another encoding than UTF-8 (ext/encodings.ts, loaded on first use). */
interface LegacyDecoder {
  decode(bytes: Uint8Array, stream: boolean): string;
}

export class TextDecoder {
  #fatal: boolean;
  #ignoreBOM: boolean;
  #pending: Uint8Array | null = null;
  #seenStart = false;
  #encoding = 'utf-8';
  #legacy: LegacyDecoder | null = null;
  constructor(label = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    this.#fatal = !!options.fatal;
    this.#ignoreBOM = !!options.ignoreBOM;
    // Labels match with ASCII whitespace trimmed, case-insensitively (WHATWG "get an encoding").
    const name = String(label)
      .replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '')
      .toLowerCase();
    if (UTF8_LABELS.has(name)) return;
    const legacy = ExtensionsRef.load('encodings').legacyDecoder(name, this.#fatal, this.#ignoreBOM);
    if (!legacy)
      throw new RangeError(
        `TextDecoder: encoding "${label}" is not supported (Outpost decodes utf-8, utf-16le, utf-16be and windows-1252)`,
      );
    this.#encoding = legacy.encoding;
    this.#legacy = legacy.decoder;
  }
  get encoding() {
    return this.#encoding;
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input?: unknown, options: { stream?: boolean } = {}): string {
    let bytes =
      input === undefined || input === null ? new Uint8Array(0) : toBytes(input, 'TextDecoder.decode');
    if (this.#legacy !== null) return this.#legacy.decode(bytes, !!options?.stream);
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      apply(setBytes, joined, [this.#pending]);
      apply(setBytes, joined, [bytes, this.#pending.length]);
      bytes = joined;
      this.#pending = null;
    }
    if (options.stream) {
      const tail = incompleteTail(bytes, bytes.length);
      if (tail > 0) {
        this.#pending = apply(sliceBytes, bytes, [bytes.length - tail]);
        bytes = bytesView(bytes, 0, bytes.length - tail);
      }
    }
    if (!this.#seenStart && bytes.length > 0) {
      this.#seenStart = true;
      if (!this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
        bytes = bytesView(bytes, 3);
    }
    const text = utf8Decode(bytes, this.#fatal);
    if (!options.stream) this.#seenStart = false;
    return text;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function btoa(data: unknown): string {
  if (arguments.length === 0)
    throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
  const s = String(data);
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) {
      throw new DOMExceptionRef.ctor(
        'The string to be encoded contains characters outside of the Latin1 range.',
        'InvalidCharacterError',
      );
    }
    out += B64[a >> 2] + B64[((a & 3) << 4) | (b >> 4 || 0)];
    out += i + 1 < s.length ? B64[((b & 15) << 2) | (c >> 6 || 0)] : '=';
    out += i + 2 < s.length ? B64[c & 63] : '=';
  }
  return out;
}

export function atob(data: unknown): string {
  if (arguments.length === 0)
    throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
    throw new DOMExceptionRef.ctor(
      'The string to be decoded is not correctly encoded.',
      'InvalidCharacterError',
    );
  }
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const ch of s) {
    acc = (acc << 6) | B64_INDEX.get(ch)!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 255);
    }
  }
  return out;
}

/** Set by events.ts to break the import cycle. */
/** Join byte chunks into one array (the one chunk itself when there is only one). */
export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let len = 0;
  for (const c of chunks) len += c.byteLength;
  const out = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

export const DOMExceptionRef: { ctor: any } = { ctor: Error };

/**
 * Loads an extension by name: modules.ts's loadExtension, set there (this file cannot import
 * modules.ts, which imports bridge.ts, which imports this file).
 */
export const ExtensionsRef: { load: (name: string) => any } = {
  load: (name) => {
    throw new Error(`internal error: extension "${name}" asked for before modules.ts loaded`);
  },
};
