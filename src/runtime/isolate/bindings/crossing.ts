/** Requests and responses as they cross to the host for a binding (../../bindings/protocol.ts). */
import type { CrossingRequest, CrossingResponse } from '../../bindings/protocol.ts';
import { kBody, readAll } from '../body.ts';
import { bytesCopy } from '../encoding.ts';
import { responseFromHost } from '../fetch.ts';
import { flattenHeaders, Headers } from '../headers.ts';
import { Request } from '../request.ts';
import { Response } from '../response.ts';
import { internals } from '../websocket.ts';

/** `fetch(input, init)`'s request as the host takes it: method, URL, headers, whole body. */
export async function crossingRequest(
  input: unknown,
  init?: Record<string, unknown>,
): Promise<CrossingRequest> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const body = request[kBody].source === null ? null : bytesCopy(await readAll(request[kBody]));
  return [request.method, request.url, flattenHeaders(request.headers), body as ArrayBuffer | null];
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
