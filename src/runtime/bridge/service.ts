/**
 * Service bindings seen from the calling isolate: validate what the isolate sent, count the
 * call as a subrequest (as Workers does), and hand it to the runtime, which runs the target
 * worker (src/runtime/runtime.ts, serviceLinks). The response body comes back inline when
 * small, else as a host stream the caller pulls.
 */
import { SpanKind } from '../../observability/index.ts';
import { calleeChain, type RequestChain } from '../loops.ts';
import type { WorkerRequest, WorkerResponse } from '../types.ts';
import { fromBytes, toArrayBuffer } from './bodies.ts';
import { withTraceparent } from './fetch.ts';
import { isStringList, MAX_HEADER_LIST } from './lists.ts';
import { NamedError } from './named-error.ts';
import { passedUpgrade } from './passed-sockets.ts';
import type { IsolateOwner } from './syscalls.ts';

export interface ServiceLinks {
  /** `request.chain` is the callee's place in the request's chain (set by serviceCall). */
  fetch(binding: string, request: WorkerRequest): Promise<WorkerResponse>;
  rpc(binding: string, method: string, args: unknown[], chain: RequestChain): Promise<unknown>;
}

const INLINE_BODY_MAX = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(what: string): NamedError {
  return new NamedError(`invalid service binding call: ${what}`, 'TypeError');
}

export async function serviceCall(
  o: IsolateOwner,
  ctx: unknown,
  binding: unknown,
  kind: unknown,
  rest: unknown[],
): Promise<unknown> {
  if (typeof binding !== 'string') throw invalid('binding');
  const links = o.services;
  if (!links) throw new NamedError(`Service binding "${binding}" is not connected to a worker`, 'Error');
  o.beginSubrequest(ctx);
  // The callee's place in the chain comes from the caller's, never from the request's headers.
  const chain = calleeChain(o.chain(ctx), `calling the service binding "${binding}"`, true);
  if (kind !== 'rpc' && kind !== 'fetch') throw invalid('kind');
  const [method, args] = rest;
  if (kind === 'rpc' && (typeof method !== 'string' || !Array.isArray(args))) throw invalid('method');
  const request = kind === 'fetch' ? { ...requestFromIsolate(rest, invalid), chain } : null;
  // The call's span: the callee's invocation records under it (its chain carries it).
  const hops = o.hops(ctx);
  const at = hops?.trace.recording
    ? hops.begin('service_binding', SpanKind.CLIENT, {
        'cloudflare.binding.type': 'Service',
        'cloudflare.binding.name': binding,
        ...(request ? { 'http.request.method': request.method, 'url.full': request.url.slice(0, 2048) } : {}),
        ...(kind === 'rpc' ? { 'rpc.method': method as string } : {}),
      })
    : null;
  if (at) chain.trace = at.recorder.trace;
  try {
    if (!request) {
      const out = await links.rpc(binding, method as string, args as unknown[], chain);
      at?.end(null);
      return out;
    }
    if (at?.traceparent) request.headers = withTraceparent(request.headers, at.traceparent, at.tracestate);
    const res = await links.fetch(binding, request);
    at?.end(null, { 'http.response.status_code': res.status });
    // A WebSocket the callee answered with: the caller can hand it on to its client.
    return passedUpgrade(res, request.url, o) ?? responseToIsolate(o, res, request.url);
  } catch (err) {
    at?.end(null, undefined, (err as Error).message);
    throw err;
  }
}

/** A request an isolate sent to another worker or an object ([method, url, headers, body]), checked. */
export function requestFromIsolate(rest: unknown[], invalid: (what: string) => Error): WorkerRequest {
  const [method, url, headers, body] = rest;
  if (typeof method !== 'string' || !TOKEN.test(method)) throw invalid('method');
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw invalid('url');
  if (!isStringList(headers, MAX_HEADER_LIST, true)) throw invalid('headers');
  if (body !== null && !(body instanceof ArrayBuffer)) throw invalid('body');
  return {
    method,
    url,
    headers: headers as string[],
    cf: {},
    body: body === null ? null : new Uint8Array(body),
  };
}

/** What the calling isolate gets back: the body inline when small, else a host stream it pulls. */
export function responseToIsolate(o: IsolateOwner, res: WorkerResponse, url: string): object {
  const meta = {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    url,
    redirected: false,
  };
  if (res.body === null) return { ...meta, body: null };
  if (res.body instanceof Uint8Array) {
    const b = res.body;
    if (b.byteLength <= INLINE_BODY_MAX) return { ...meta, body: toArrayBuffer(b) };
    return { ...meta, body: o.bodies.add(fromBytes(b)) };
  }
  return { ...meta, body: o.bodies.add(res.body) };
}
