/** Requests and responses as they cross to the host for a binding (../../bindings/protocol.ts). */
import type { CrossingRequest, CrossingResponse } from '../../bindings/protocol.ts';
import { kBody, readAll } from '../body.ts';
import { unsharedPrimitives } from '../bridge.ts';
import { bytesCopy } from '../encoding.ts';
import { responseFromHost } from '../fetch.ts';
import { flattenHeaders, Headers } from '../headers.ts';
import { Request } from '../request.ts';
import { Response } from '../response.ts';
import { internals } from '../websocket.ts';

/**
 * `fetch(input, init)`'s request as the host takes it: method, URL, headers, whole body. A
 * request without a body is made at once, not through a promise: its fields are then a list
 * only this call ever holds (marked unshared: the call may wait to cross with others,
 * bridge.ts), and the tuple has no prototype, so awaiting it looks up no `then` a tenant could
 * have put on Array.prototype. A promise could be hooked (a replaced
 * Promise.prototype.constructor sees what it resolves to), so the fields of a request with a
 * body, read through one, are not marked: such a call crosses at once, copied.
 */
export function crossingRequest(
  input: unknown,
  init?: Record<string, unknown>,
): CrossingRequest | Promise<CrossingRequest> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  if (request[kBody].source === null)
    return tuple(request.method, request.url, unsharedPrimitives(flattenHeaders(request.headers)), null);
  return withBody(request);
}

async function withBody(request: Request): Promise<CrossingRequest> {
  const body = bytesCopy(await readAll(request[kBody])) as ArrayBuffer;
  return tuple(request.method, request.url, flattenHeaders(request.headers), body);
}

const setPrototypeOf = Object.setPrototypeOf;
function tuple(method: string, url: string, fields: string[], body: ArrayBuffer | null): CrossingRequest {
  return setPrototypeOf([method, url, fields, body], null);
}

/**
 * The Response a binding's fetch answers. A callee (a worker, a Durable Object) that answered
 * with a WebSocket gives a 101 whose socket the caller can only hand on to its own client.
 */
export function responseFromCrossing(meta: CrossingResponse): Response {
  if (typeof meta.webSocket === 'string')
    return new Response(null, {
      status: 101,
      headers: Headers.fromFlat(meta.headers),
      webSocket: internals.fromObject(meta.webSocket),
    });
  return responseFromHost(meta);
}
