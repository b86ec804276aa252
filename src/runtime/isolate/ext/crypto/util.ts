/**
 * Shared parts of node:crypto (../node-crypto.ts): Node-style errors, argument checks, bytes.
 * In a folder of its own so the extension builder bundles it into node:crypto instead of making
 * it an extension.
 */
import { Buffer } from 'node:buffer';

export type Data = string | ArrayBufferView | ArrayBuffer;

type ErrorClass = new (message: string) => Error;

/** An error with Node's `code`, as Node's internal errors have. */
export function nodeError(E: ErrorClass, code: string, message: string): Error {
  const e = new E(message) as Error & { code: string };
  e.code = code;
  return e;
}

function received(v: unknown): string {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name ? `Received an instance of ${name}` : 'Received [object]';
  }
  let shown = String(v).slice(0, 28);
  if (typeof v === 'string') shown = `'${shown}'`;
  return `Received type ${typeof v} (${shown})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): Error {
  return nodeError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be ${expected}. ${received(actual)}`,
  );
}

export function outOfRange(name: string, range: string, actual: unknown): Error {
  return nodeError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`,
  );
}

/** A synchronous host call; `[CODE] message` errors from the host get their `code` back. */
export function sys(name: string, ...args: unknown[]): any {
  try {
    return outpost.sys(name, ...args);
  } catch (err) {
    const m = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(String((err as Error)?.message ?? ''));
    if (!m) throw err;
    const E = (err as Error).constructor as ErrorClass;
    throw nodeError(E === TypeError || E === RangeError ? E : Error, m[1], m[2]);
  }
}

export function validateInt(v: unknown, name: string, min = 0, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v)) throw outOfRange(name, 'an integer', v);
  if (v < min || v > max) throw outOfRange(name, `>= ${min} && <= ${max}`, v);
  return v;
}

export function validateString(v: unknown, name: string): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  return v;
}

export function validateFunction(v: unknown, name: string): (...args: any[]) => void {
  if (typeof v !== 'function') throw invalidArgType(name, 'of type function', v);
  return v as (...args: any[]) => void;
}

/** Bytes of a string (in `encoding`), a view or an ArrayBuffer; Node's "argument must be" error else. */
export function toBytes(data: unknown, name = 'data', encoding?: string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, (encoding ?? 'utf8') as BufferEncoding);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw invalidArgType(
    name,
    'of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView',
    data,
  );
}

/** An ArrayBuffer holding exactly these bytes, to cross to the host (copied there). */
export function toHost(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer)
    return b.buffer;
  return b.slice().buffer as ArrayBuffer;
}

/** A Buffer of what the host returned, as a string when an encoding is asked for. */
export function encodeOut(ab: ArrayBuffer, encoding?: string): any {
  const b = Buffer.from(ab);
  return encoding && encoding !== 'buffer' ? b.toString(encoding as BufferEncoding) : b;
}

/** Run `fn` and hand its outcome to a Node-style callback, later (as Node's thread pool would). */
export function later<T>(cb: (err: Error | null, v?: T) => void, fn: () => T): void {
  let v: T;
  try {
    v = fn();
  } catch (err) {
    queueMicrotask(() => cb(err as Error));
    return;
  }
  queueMicrotask(() => cb(null, v));
}

export function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object';
}
