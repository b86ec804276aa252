/**
 * fetch(): the request is validated here, then the host performs it with undici (redirects,
 * abort, bodies both ways) and hands back a response whose body is pulled chunk by chunk.
 * Limits (subrequests per request) are enforced by the host, which sees every call.
 */

import { raceInFrame } from './async.ts';
import { HostBody, kBody, newState, readAll } from './body.ts';
import { ASYNC, callHost, FETCH, host, unsharedPrimitives } from './bridge.ts';
import { bytesCopy } from './encoding.ts';
import { DOMException } from './events.ts';
import { flattenHeaders, Headers } from './headers.ts';
import { Request } from './request.ts';
import { makeResponse, type Response } from './response.ts';
import { internals } from './websocket.ts';

let nextFetchId = 1;

export interface HostResponse {
  status: number;
  statusText: string;
  headers: string[];
  url: string;
  redirected: boolean;
  /** null: no body; a number: a host stream to pull; bytes: the whole (small) body. */
  body: number | ArrayBuffer | null;
}

export async function fetch(input: unknown, init?: Record<string, any>): Promise<Response> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const url = request.url;
  if (!url.startsWith('http:') && !url.startsWith('https:')) {
    throw new TypeError(`Fetch API cannot load: ${url}`);
  }
  const signal = request.signal;
  signal.throwIfAborted();
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return connectWebSocket(request);
  const body = request[kBody].source === null ? null : bytesCopy(await readAll(request[kBody]));
  // Aborted while the body was read: the listener below would never hear of it.
  signal.throwIfAborted();
  const id = nextFetchId++;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      host.abortFetch(id);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // The fields: a list made here for this call alone, so a request with no body or cache
    // options may wait to cross with the task's other calls (bridge.ts).
    const call = callHost(FETCH, [
      id,
      request.method,
      url,
      unsharedPrimitives(flattenHeaders(request.headers)),
      request.redirect,
      body,
      cacheOptions(request.cf),
    ]);
    const meta: HostResponse = await raceInFrame<HostResponse>([call, aborted]);
    return responseFromHost(meta);
  } catch (err) {
    throw rethrow(err);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** The cache fields of `cf` (cacheTtl, cacheKey…) as plain data; the host validates them. */
function cacheOptions(cf: unknown): Record<string, unknown> | string | null {
  if (cf === undefined || cf === null) return null;
  // Not an object: the host refuses it ("init.cf must be an object"); its type name crosses.
  if (typeof cf !== 'object') return typeof cf;
  const c = cf as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k of ['cacheTtl', 'cacheTtlByStatus', 'cacheEverything', 'cacheKey', 'cacheTags']) {
    const v = c[k];
    if (v === undefined) continue;
    out ??= {};
    out[k] = v !== null && typeof v === 'object' ? JSON.parse(JSON.stringify(v)) : v;
  }
  return out;
}

/**
 * fetch() with `Upgrade: websocket` (https://developers.cloudflare.com/workers/examples/websockets/#write-a-websocket-client):
 * resolves with a 101 Response whose `webSocket` must be accept()ed.
 */
async function connectWebSocket(request: Request): Promise<Response> {
  const id = internals.allocate();
  const protocols = (request.headers.get('sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const headers: string[] = [];
  for (const [k, v] of request.headers)
    if (!/^(upgrade|connection|sec-websocket-(key|version|protocol|extensions))$/.test(k)) headers.push(k, v);
  // Registered before connecting: messages the server sends at once wait in its queue.
  const ws = internals.connected(id, '', request.url);
  try {
    const r: { protocol: string } = await callHost(ASYNC, ['wsConnect', id, request.url, protocols, headers]);
    internals.setProtocol(ws, r.protocol);
    return makeResponse({
      status: 101,
      statusText: 'Switching Protocols',
      headers: Headers.fromFlat(r.protocol ? ['sec-websocket-protocol', r.protocol] : []),
      body: newState(null),
      url: request.url,
      redirected: false,
      webSocket: ws,
    });
  } catch (err) {
    internals.forget(id);
    throw rethrow(err);
  }
}

/** A Response for what the host answered (fetch, service bindings). */
export function responseFromHost(meta: HostResponse): Response {
  return makeResponse({
    status: meta.status,
    statusText: meta.statusText,
    headers: Headers.fromFlat(meta.headers),
    body: newState(
      meta.body === null
        ? null
        : typeof meta.body === 'number'
          ? new HostBody(meta.body)
          : new Uint8Array(meta.body),
    ),
    url: meta.url,
    redirected: meta.redirected,
  });
}

/** Errors from the host arrive as plain Errors named in their message: restore the types Workers code expects. */
function rethrow(err: any): unknown {
  const m =
    err && typeof err.message === 'string'
      ? /^(TypeError|RangeError|AbortError|Error): ([\s\S]*)$/.exec(err.message)
      : null;
  if (!m) return err;
  if (m[1] === 'TypeError') return new TypeError(m[2]);
  if (m[1] === 'RangeError') return new RangeError(m[2]);
  if (m[1] === 'AbortError') return new DOMException(m[2], 'AbortError');
  return new Error(m[2]);
}
