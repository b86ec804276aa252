/** Requests and responses as they cross to the host for a binding (../../bindings/protocol.ts). */
import type { CrossingRequest, CrossingResponse } from '../../bindings/protocol.ts';
import { kBody, readAll } from '../body.ts';
import { responseFromHost } from '../fetch.ts';
import { flattenHeaders } from '../headers.ts';
import { Request } from '../request.ts';
import type { Response } from '../response.ts';

/** `fetch(input, init)`'s request as the host takes it: method, URL, headers, whole body. */
export async function crossingRequest(
  input: unknown,
  init?: Record<string, unknown>,
): Promise<CrossingRequest> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const body = request[kBody].source === null ? null : (await readAll(request[kBody])).slice().buffer;
  return [request.method, request.url, flattenHeaders(request.headers), body as ArrayBuffer | null];
}

export function responseFromCrossing(meta: CrossingResponse): Response {
  return responseFromHost(meta);
}
