/**
 * KV namespace bindings (https://developers.cloudflare.com/kv/api/): the typed API here, the
 * storage on the host (src/runtime/bridge/kv.ts → src/kv/). Values cross as bytes; this side
 * turns them into text, JSON, ArrayBuffers or streams, and turns put() values into bytes.
 * Single-key reads keep what the PoP answered in the isolate (kv-cache.ts).
 */

import { rejectedIntrinsic } from './async.ts';
import { bodyStream, newState, readAll } from './body.ts';
import { callBinding } from './bridge.ts';
import { resolveInFrame } from './context.ts';
import { utf8Decode, utf8Encode } from './encoding.ts';
import { copyMayAnswer, type KeptRead, KvCopies, liveValue } from './kv-cache.ts';
import { isReadableStream } from './streams.ts';

type ValueType = 'text' | 'json' | 'arrayBuffer' | 'stream';
const TYPES = new Set<string>(['text', 'json', 'arrayBuffer', 'stream']);
const resolved = (v: unknown): Promise<unknown> => resolveInFrame(v);
const rejected = (e: unknown): Promise<never> => rejectedIntrinsic(e);

interface HostValue {
  value: ArrayBuffer;
  metadata: string | null;
}

function readType(options: unknown): { type: ValueType; cacheTtl?: number } {
  if (options === undefined || options === null) return { type: 'text' };
  const o =
    typeof options === 'string' ? { type: options } : (options as { type?: unknown; cacheTtl?: unknown });
  const type = o.type ?? 'text';
  if (typeof type !== 'string' || !TYPES.has(type))
    throw new TypeError(
      'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".',
    );
  const cacheTtl = (o as { cacheTtl?: unknown }).cacheTtl;
  if (cacheTtl !== undefined && typeof cacheTtl !== 'number')
    throw new TypeError('KV cacheTtl must be a number');
  return { type: type as ValueType, cacheTtl: cacheTtl as number | undefined };
}

/** A read kept in the isolate, and the copies that keep it. */
interface Kept {
  copies: KvCopies;
  e: KeptRead;
}

/** A value as `type`; one `kept` in the isolate is handed out as a copy (its text decoded once). */
function decode(v: ArrayBuffer, type: ValueType, kept?: Kept): unknown {
  if (type === 'arrayBuffer') return kept ? v.slice(0) : v;
  if (type === 'stream') return bodyStream(newState(new Uint8Array(kept ? v.slice(0) : v)));
  const text = kept
    ? kept.copies.text(kept.e, () => utf8Decode(new Uint8Array(v), false))
    : utf8Decode(new Uint8Array(v), false);
  return type === 'json' ? JSON.parse(text) : text;
}

async function toBytes(value: unknown): Promise<ArrayBuffer> {
  if (typeof value === 'string') return utf8Encode(value).slice().buffer as ArrayBuffer;
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  if (isReadableStream(value)) return (await readAll(newState(value))).slice().buffer as ArrayBuffer;
  throw new TypeError(
    'KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.',
  );
}

function metadataOf(v: HostValue): unknown {
  return v.metadata === null ? null : JSON.parse(v.metadata);
}

export class KVNamespace {
  readonly #binding: string;
  readonly #copies = new KvCopies();
  constructor(binding: string) {
    this.#binding = binding;
  }

  /** One key or many (bulk: up to 100, text or JSON), shaped by `shape`. */
  async #read(
    key: unknown,
    options: unknown,
    shape: (v: HostValue | null, type: ValueType, kept?: Kept) => unknown,
  ): Promise<unknown> {
    const { type, cacheTtl } = readType(options);
    if (Array.isArray(key)) {
      if (type !== 'text' && type !== 'json')
        throw new TypeError(`KV bulk get supports the "text" and "json" types, not "${type}"`);
      const pairs = await callBinding('kv', this.#binding, 'getMany', key.map(String), cacheTtl);
      return new Map(pairs.map(([k, v]) => [k, shape(v, type)]));
    }
    const k = String(key);
    const copies = this.#copies;
    if (copyMayAnswer(cacheTtl)) {
      const e = copies.answer(this.#binding, k);
      if (e) return shape(liveValue(e), type, { copies, e });
    }
    const r = await callBinding('kv', this.#binding, 'get', k, cacheTtl);
    const e = copies.keep(k, r);
    return e ? shape(liveValue(e), type, { copies, e }) : shape(r[0], type);
  }

  get(key: unknown, options?: unknown): Promise<unknown> {
    // The hot path — a key given as a string, read as text or JSON, answered by a copy — without
    // the async machinery of #read (a lowered async function is a generator per call).
    if (typeof key === 'string' && (options === undefined || options === 'text' || options === 'json')) {
      const e = copyMayAnswer(undefined) ? this.#copies.answer(this.#binding, key) : null;
      if (e) {
        const v = liveValue(e);
        try {
          return resolved(v && decode(v.value, options ?? 'text', { copies: this.#copies, e }));
        } catch (err) {
          return rejected(err); // JSON that does not parse
        }
      }
    }
    return this.#read(key, options, (v, type, kept) => v && decode(v.value, type, kept));
  }

  async getWithMetadata(key: unknown, options?: unknown): Promise<unknown> {
    const one = !Array.isArray(key);
    return this.#read(key, options, (v, type, kept) =>
      v
        ? {
            value: decode(v.value, type, kept),
            metadata: metadataOf(v),
            ...(one ? { cacheStatus: null } : {}),
          }
        : one
          ? { value: null, metadata: null, cacheStatus: null }
          : null,
    );
  }

  async put(key: unknown, value: unknown, options?: unknown): Promise<void> {
    // This isolate's copy goes now: a read after this put must not answer from it.
    this.#copies.drop(String(key));
    const bytes = await toBytes(value);
    const o = (options ?? {}) as { expiration?: unknown; expirationTtl?: unknown; metadata?: unknown };
    if (typeof o !== 'object') throw new TypeError('KV put() options must be an object');
    let metadata: string | undefined;
    if (o.metadata !== undefined && o.metadata !== null) {
      metadata = JSON.stringify(o.metadata);
      if (metadata === undefined) throw new TypeError('KV metadata must be serializable to JSON');
    }
    const num = (v: unknown) => (v === undefined || v === null ? undefined : Number(v));
    await callBinding('kv', this.#binding, 'put', String(key), bytes, {
      expiration: num(o.expiration),
      expirationTtl: num(o.expirationTtl),
      metadata,
    });
  }

  async delete(key: unknown): Promise<void> {
    this.#copies.drop(String(key));
    await callBinding('kv', this.#binding, 'delete', String(key));
  }

  async list(options?: unknown): Promise<unknown> {
    const o = (options ?? {}) as { prefix?: unknown; limit?: unknown; cursor?: unknown };
    if (typeof o !== 'object') throw new TypeError('KV list() options must be an object');
    const r = await callBinding('kv', this.#binding, 'list', {
      prefix: o.prefix === undefined || o.prefix === null ? undefined : String(o.prefix),
      cursor: o.cursor === undefined || o.cursor === null ? undefined : String(o.cursor),
      limit: o.limit === undefined ? undefined : Number(o.limit),
    });
    return { ...r, cacheStatus: null };
  }
}
