/**
 * Web Streams come from web-streams-polyfill, evaluated lazily: esbuild wraps the required
 * CommonJS module in a factory that runs on first `require`, so an isolate whose worker never
 * touches a stream never pays for initialising it.
 */
import { callSync } from './bridge.ts';

declare const require: (id: string) => any;

let mod: any = null;
export function streams(): any {
  if (mod === null) {
    // Initialising the polyfill is the runtime's work, not the worker's: not charged (see
    // extBegin in src/runtime/bridge/syscalls.ts).
    callSync('extBegin');
    try {
      mod = require('web-streams-polyfill');
    } finally {
      callSync('extEnd');
    }
  }
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
