/**
 * The shape of what the isolate's dispatch entry answers (src/runtime/isolate/dispatch.ts), read
 * back on the host: a response tuple, or an error object. Positional on the wire: an object's key
 * names would be serialized with every response.
 */

/** What dispatch answers: a response tuple, or an error object (see isolate/dispatch.ts). */
export type DispatchTuple = [
  status: number,
  statusText: string,
  headers: string[],
  kind: BodyKind,
  body: string | ArrayBuffer | number | null,
  waitUntil: number,
  /** A 101's WebSocket: the id of this isolate's end, or the token of an end passed to it; else null. */
  webSocket: number | string | null,
  /** KV reads answered in the isolate before the response (src/runtime/bridge/kv.ts kvHits), or null. */
  kvHits: string | null,
];
/** 'text': a body given as a string, sent as one (the host encodes it to UTF-8). */
export type BodyKind = 'none' | 'text' | 'bytes' | 'host' | 'stream';
export interface DispatchError {
  error: { name: string; message: string; stack: string };
  passThrough?: boolean;
  waitUntil: number;
  kvHits?: string | null;
}

export interface DispatchResult {
  status: number;
  statusText: string;
  headers: string[];
  kind: BodyKind;
  body: string | ArrayBuffer | number | null;
  waitUntil: number;
  webSocket?: number | string | null;
  error?: DispatchError['error'];
  passThrough?: boolean;
  /** KV reads the isolate answered from its copies (src/runtime/bridge/kv.ts kvHits). */
  kvHits?: string | null;
}

export function toResult(raw: unknown): DispatchResult {
  if (Array.isArray(raw)) {
    const [status, statusText, headers, kind, body, waitUntil, webSocket, kvHits] = raw as DispatchTuple;
    return { status, statusText, headers, kind, body, waitUntil, webSocket, kvHits };
  }
  const e = raw as DispatchError;
  return {
    status: 0,
    statusText: '',
    headers: [],
    kind: 'none',
    body: null,
    waitUntil: e.waitUntil ?? 0,
    error: e.error,
    passThrough: e.passThrough,
    kvHits: e.kvHits,
  };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What is wrong with a response the worker returned (its status or headers), or null. */
export function responseProblem(result: DispatchResult): string | null {
  const status = result.status;
  if (!Number.isInteger(status) || status < 101 || status > 599) return `status ${String(status)}`;
  const h = result.headers;
  if (!Array.isArray(h) || h.length % 2 !== 0) return 'malformed headers';
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    if (typeof v !== 'string' || (i % 2 === 0 ? !TOKEN.test(v) : /[\0\r\n]/.test(v)))
      return 'malformed headers';
  }
  return null;
}

/** A request's cf-ray, which names it in log lines (the PoP sets one on every request). */
export function rayOf(headers: string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'cf-ray') return headers[i + 1];
  return undefined;
}
