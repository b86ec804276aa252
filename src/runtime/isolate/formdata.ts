/**
 * FormData (https://xhr.spec.whatwg.org/#interface-formdata) and the two body encodings it has:
 * application/x-www-form-urlencoded and multipart/form-data (RFC 7578), both ways.
 */
import { Blob, blobBytes, File } from './blob.ts';
import { getRandomValues } from './crypto.ts';
import { concat, utf8Decode, utf8Encode } from './encoding.ts';
import { URLSearchParams } from './url.ts';

type Entry = [string, string | File];

function toValue(value: unknown, filename: unknown, argc: number): string | File {
  if (value instanceof Blob) {
    const name = filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob';
    if (value instanceof File && filename === undefined) return value;
    return new File([value], name, {
      type: value.type,
      lastModified: value instanceof File ? value.lastModified : undefined,
    });
  }
  if (argc > 2)
    throw new TypeError("Failed to execute 'append' on 'FormData': parameter 2 is not of type 'Blob'.");
  return String(value);
}

export class FormData {
  #entries: Entry[] = [];
  constructor(form?: unknown) {
    if (form !== undefined)
      throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
  }
  append(name: string, value: unknown, filename?: string): void {
    this.#entries.push([String(name), toValue(value, filename, arguments.length)]);
  }
  set(name: string, value: unknown, filename?: string): void {
    const n = String(name);
    const v = toValue(value, filename, arguments.length);
    const i = this.#entries.findIndex((e) => e[0] === n);
    if (i < 0) this.#entries.push([n, v]);
    else
      this.#entries = [
        ...this.#entries.slice(0, i),
        [n, v],
        ...this.#entries.slice(i + 1).filter((e) => e[0] !== n),
      ];
  }
  delete(name: string): void {
    const n = String(name);
    this.#entries = this.#entries.filter((e) => e[0] !== n);
  }
  get(name: string): string | File | null {
    return this.#entries.find((e) => e[0] === String(name))?.[1] ?? null;
  }
  getAll(name: string): (string | File)[] {
    return this.#entries.filter((e) => e[0] === String(name)).map((e) => e[1]);
  }
  has(name: string): boolean {
    return this.#entries.some((e) => e[0] === String(name));
  }
  forEach(cb: (value: string | File, key: string, parent: FormData) => void, thisArg?: unknown): void {
    for (const [k, v] of this.#entries) cb.call(thisArg, v, k, this);
  }
  *entries(): IterableIterator<Entry> {
    for (const e of this.#entries) yield [e[0], e[1]];
  }
  *keys(): IterableIterator<string> {
    for (const e of this.#entries) yield e[0];
  }
  *values(): IterableIterator<string | File> {
    for (const e of this.#entries) yield e[1];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return 'FormData';
  }
}

const CRLF = '\r\n';

function escapeName(s: string): string {
  return s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

/** Serialise as multipart/form-data; returns the body and its Content-Type. */
export function encodeMultipart(fd: FormData): { bytes: Uint8Array; contentType: string } {
  const random = getRandomValues(new Uint8Array(12));
  const boundary = `----OutpostFormBoundary${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  const parts: Uint8Array[] = [];
  for (const [name, value] of fd) {
    let head = `--${boundary}${CRLF}Content-Disposition: form-data; name="${escapeName(name)}"`;
    if (typeof value === 'string') {
      parts.push(
        utf8Encode(`${head}${CRLF}${CRLF}`),
        utf8Encode(value.replace(/\r?\n|\r/g, CRLF)),
        utf8Encode(CRLF),
      );
    } else {
      head += `; filename="${escapeName(value.name)}"${CRLF}Content-Type: ${value.type || 'application/octet-stream'}`;
      parts.push(utf8Encode(`${head}${CRLF}${CRLF}`), blobBytes(value), utf8Encode(CRLF));
    }
  }
  parts.push(utf8Encode(`--${boundary}--${CRLF}`));
  const bytes = concat(parts);
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function param(header: string, name: string): string | null {
  const re = new RegExp(`(?:^|;)\\s*${name}\\*?=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

const BAD = 'Failed to parse body as FormData.';

/** Parse a body by its Content-Type (urlencoded or multipart), as Body.formData() does. */
export function parseFormData(bytes: Uint8Array, contentType: string | null): FormData {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const fd = new FormData();
  if (type === 'application/x-www-form-urlencoded') {
    for (const [k, v] of new URLSearchParams(utf8Decode(bytes, false))) fd.append(k, v);
    return fd;
  }
  if (type !== 'multipart/form-data')
    throw new TypeError(
      `${BAD} (Content-Type "${contentType ?? ''}" is neither multipart/form-data nor application/x-www-form-urlencoded)`,
    );
  const boundary = param(contentType!, 'boundary');
  if (!boundary) throw new TypeError(`${BAD} (multipart/form-data without a boundary)`);
  const delim = utf8Encode(`--${boundary}`);
  let pos = indexOf(bytes, delim, 0);
  if (pos < 0) throw new TypeError(`${BAD} (no boundary found)`);
  for (;;) {
    pos += delim.length;
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return fd; // closing delimiter
    if (bytes[pos] === 0x0d && bytes[pos + 1] === 0x0a) pos += 2;
    else throw new TypeError(`${BAD} (malformed boundary line)`);
    const headEnd = indexOf(bytes, utf8Encode('\r\n\r\n'), pos);
    if (headEnd < 0 || headEnd - pos > 16384) throw new TypeError(`${BAD} (part headers do not end)`);
    const headers = String.fromCharCode(...bytes.subarray(pos, headEnd)).split('\r\n');
    const next = indexOf(bytes, utf8Encode(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) throw new TypeError(`${BAD} (part does not end)`);
    const content = bytes.subarray(headEnd + 4, next);
    let disposition = '';
    let ctype = '';
    for (const h of headers) {
      const i = h.indexOf(':');
      const k = h.slice(0, i).trim().toLowerCase();
      if (k === 'content-disposition') disposition = h.slice(i + 1);
      else if (k === 'content-type') ctype = h.slice(i + 1).trim();
    }
    const name = param(disposition, 'name');
    if (name === null) throw new TypeError(`${BAD} (a part has no name)`);
    const filename = param(disposition, 'filename');
    const decodedName = utf8Decode(
      Uint8Array.from(name, (c) => c.charCodeAt(0)),
      false,
    );
    if (filename !== null) {
      const decodedFile = utf8Decode(
        Uint8Array.from(filename, (c) => c.charCodeAt(0)),
        false,
      );
      fd.append(
        decodedName,
        new File([content.slice()], decodedFile, { type: ctype || 'application/octet-stream' }),
      );
    } else fd.append(decodedName, utf8Decode(content, false));
    pos = next + 2;
  }
}
