/**
 * The Body mixin (https://fetch.spec.whatwg.org/#body-mixin) shared by Request and Response.
 * A body is held in the cheapest form that works: bytes, a host stream (the incoming request,
 * a subrequest's response: read chunk by chunk over the bridge), or a ReadableStream. A stream
 * object is only created when user code asks for `.body`.
 */
import { Blob, blobBytes } from './blob.ts';
import { callHost, host, READ } from './bridge.ts';
import { concat, toBytes, utf8Decode, utf8Encode } from './encoding.ts';
import { encodeMultipart, FormData, parseFormData } from './formdata.ts';
import { isReadableStream, streams } from './streams.ts';
import { URLSearchParams } from './url.ts';

export class HostBody {
  constructor(readonly id: number) {}
}

/**
 * A body's bytes: none, a string not yet encoded (a body given as text is encoded only when
 * something reads its bytes; sent whole, it crosses as text and the host encodes it natively,
 * which the hand-written UTF-8 encoder costs ~10x more for), bytes, a host body, a stream.
 */
export type Source = null | string | Uint8Array | HostBody | any; // any = ReadableStream
export const kBody = Symbol('body');

export interface BodyState {
  source: Source;
  used: boolean;
  stream: any | null;
}

export const USED =
  'Body has already been used. It can only be used once. Use tee() first if you need to read it twice.';

/** Turn a BodyInit into a source and the Content-Type it implies. */
export function extractBody(init: unknown): { source: Source; contentType: string | null } {
  if (init === null || init === undefined) return { source: null, contentType: null };
  if (typeof init === 'string') return { source: init, contentType: 'text/plain;charset=UTF-8' };
  if (init instanceof ArrayBuffer || ArrayBuffer.isView(init))
    return { source: toBytes(init, 'body').slice(), contentType: null };
  if (init instanceof URLSearchParams)
    return {
      source: init.toString(),
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    };
  if (init instanceof Blob) return { source: blobBytes(init), contentType: init.type || null };
  if (init instanceof FormData) {
    const { bytes, contentType } = encodeMultipart(init);
    return { source: bytes, contentType };
  }
  if (isReadableStream(init)) return { source: init, contentType: null };
  if (typeof init === 'object' && typeof (init as any).getReader === 'function')
    return { source: init, contentType: null };
  return { source: String(init), contentType: 'text/plain;charset=UTF-8' };
}

const wellFormed = (String.prototype as { toWellFormed?: () => string }).toWellFormed;
const apply = Reflect.apply;
/** `s` with lone surrogates replaced by U+FFFD (intrinsics captured before tenant code). */
function toWellFormed(s: string): string {
  return wellFormed ? (apply(wellFormed, s, []) as string) : utf8Decode(utf8Encode(s), false);
}

export function newState(source: Source): BodyState {
  return { source, used: false, stream: null };
}

function hostStream(body: HostBody): any {
  const { ReadableStream } = streams();
  return new ReadableStream({
    type: 'bytes',
    async pull(c: any) {
      const chunk: ArrayBuffer | null = await callHost(READ, [body.id]);
      if (chunk === null) {
        c.close();
        c.byobRequest?.respond(0);
      } else c.enqueue(new Uint8Array(chunk));
    },
    cancel() {
      host.cancelBody(body.id);
    },
  });
}

/** The `.body` getter: a ReadableStream, created on first access. */
export function bodyStream(state: BodyState): any {
  if (state.source === null) return null;
  if (state.stream) return state.stream;
  const src = typeof state.source === 'string' ? utf8Encode(state.source) : state.source;
  if (src instanceof Uint8Array) {
    const { ReadableStream } = streams();
    state.stream = new ReadableStream({
      type: 'bytes',
      start(c: any) {
        if (src.byteLength > 0) c.enqueue(src.slice());
        c.close();
      },
    });
  } else if (src instanceof HostBody) state.stream = hostStream(src);
  else state.stream = src;
  state.source = state.stream;
  return state.stream;
}

export function isUsed(state: BodyState): boolean {
  return state.used || (state.stream !== null && (state.stream.locked || isDisturbed(state.stream)));
}

function isDisturbed(stream: any): boolean {
  // web-streams-polyfill keeps the spec's [[disturbed]] slot as `_disturbed`.
  return stream._disturbed === true;
}

export async function readAll(state: BodyState): Promise<Uint8Array> {
  if (isUsed(state)) throw new TypeError(USED);
  state.used = true;
  const src = state.source;
  if (src === null) return new Uint8Array(0);
  if (typeof src === 'string') return utf8Encode(src);
  if (src instanceof Uint8Array) return src;
  const chunks: Uint8Array[] = [];
  if (src instanceof HostBody) {
    for (;;) {
      const chunk: ArrayBuffer | null = await callHost(READ, [src.id]);
      if (chunk === null) break;
      chunks.push(new Uint8Array(chunk));
    }
  } else {
    const reader = src.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array || value instanceof ArrayBuffer || ArrayBuffer.isView(value))) {
        throw new TypeError('This ReadableStream did not return bytes.');
      }
      chunks.push(toBytes(value, 'ReadableStream chunk'));
    }
  }
  return concat(chunks);
}

/** Split a body for clone(): bytes are shared (never mutated), streams are tee'd. */
export function cloneState(state: BodyState): BodyState {
  if (isUsed(state)) throw new TypeError('Cannot clone a body that has already been used.');
  const src = state.source;
  if (src === null || typeof src === 'string' || src instanceof Uint8Array) return newState(src);
  const [a, b] = bodyStream(state).tee();
  state.stream = a;
  state.source = a;
  return newState(b);
}

/** Methods shared by Request and Response. */
export abstract class Body {
  abstract [kBody]: BodyState;
  abstract get headers(): { get(name: string): string | null };
  get body(): any {
    return bodyStream(this[kBody]);
  }
  get bodyUsed(): boolean {
    return isUsed(this[kBody]);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    // Always a fresh buffer: stored bytes may be shared with clones.
    return (await readAll(this[kBody])).slice().buffer as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    return (await readAll(this[kBody])).slice();
  }
  async text(): Promise<string> {
    const state = this[kBody];
    if (typeof state.source === 'string' && !isUsed(state)) {
      // What encoding then decoding would give: lone surrogates as U+FFFD, a BOM dropped.
      state.used = true;
      return toWellFormed(state.source).replace(/^\uFEFF/, '');
    }
    return utf8Decode(await readAll(state), false).replace(/^\uFEFF/, '');
  }
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  async formData(): Promise<FormData> {
    const bytes = await readAll(this[kBody]);
    return parseFormData(bytes, this.headers.get('content-type'));
  }
  async blob(): Promise<Blob> {
    const bytes = await readAll(this[kBody]);
    return new Blob([bytes], { type: this.headers.get('content-type') ?? '' });
  }
}
