/**
 * Web Streams come from web-streams-polyfill, loaded as an extension (ext/streams.ts) the first
 * time a worker touches a stream: an isolate whose worker never streams holds neither the
 * polyfill's objects nor its source (~63 KB minified, which every isolate would otherwise copy
 * with the prelude's). Loading it is the runtime's work, not the worker's: not charged (see
 * extBegin in src/runtime/bridge/syscalls.ts).
 */
import { loadExtension } from './modules.ts';

let mod: any = null;
export function streams(): any {
  if (mod === null) mod = loadExtension('streams');
  return mod;
}

export const STREAM_GLOBALS = [
  'ReadableStream',
  'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest',
  'ReadableByteStreamController',
  'ReadableStreamDefaultController',
  'WritableStream',
  'WritableStreamDefaultWriter',
  'WritableStreamDefaultController',
  'TransformStream',
  'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy',
  'CountQueuingStrategy',
] as const;

/** Define each stream class as a global that resolves the polyfill on first access. */
export function installLazyStreams(g: any): void {
  for (const name of STREAM_GLOBALS) {
    Object.defineProperty(g, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = streams()[name];
        Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
        return value;
      },
      set(value) {
        Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
      },
    });
  }
}

export function isReadableStream(v: unknown): boolean {
  return mod !== null && v instanceof mod.ReadableStream;
}
