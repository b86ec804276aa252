/**
 * Bindings that are objects rather than plain values: KV namespaces (src/runtime/isolate/kv.ts)
 * and service bindings
 * (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/), a Fetcher
 * whose `fetch()` runs the target worker's fetch handler and whose other methods are RPC calls
 * to the target's WorkerEntrypoint. Both go through the host, which resolves the target by name
 * at call time (so the target can be redeployed independently).
 */
import { kBody, readAll } from './body.ts';
import { callAsync } from './bridge.ts';
import { unsafe } from './codegen.ts';
import { DurableObjectNamespace } from './durable.ts';
import { type HostResponse, responseFromHost } from './fetch.ts';
import { flattenHeaders, Headers } from './headers.ts';
import { KVNamespace } from './kv.ts';
import { Request } from './request.ts';
import { Response } from './response.ts';
import { internals } from './websocket.ts';

export type BindingDescriptor =
  | { type: 'service'; service: string; entrypoint?: string }
  | { type: 'kv' }
  | { type: 'do' }
  | { type: 'unsafe_eval' };

/** Names a stub never treats as RPC methods (so `await stub` or inspection behave). */
const NOT_RPC = new Set(['then', 'constructor', 'toJSON', 'connect', 'dup']);

function serviceBinding(name: string): object {
  const fetcher = {
    async fetch(input: unknown, init?: Record<string, unknown>): Promise<Response> {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      const body = request[kBody].source === null ? null : (await readAll(request[kBody])).slice().buffer;
      const meta: HostResponse & { webSocket?: string } = await callAsync(
        'service',
        name,
        'fetch',
        request.method,
        request.url,
        flattenHeaders(request.headers),
        body,
      );
      if (typeof meta.webSocket === 'string') {
        // The callee answered with a WebSocket: the caller can only hand it on to its client.
        return new Response(null, {
          status: 101,
          headers: Headers.fromFlat(meta.headers),
          webSocket: internals.fromObject(meta.webSocket),
        });
      }
      return responseFromHost(meta);
    },
  };
  return new Proxy(fetcher, {
    get(target, prop) {
      if (prop === 'fetch') return target.fetch;
      if (typeof prop !== 'string' || NOT_RPC.has(prop)) return undefined;
      return (...args: unknown[]) => callAsync('service', name, 'rpc', prop, args);
    },
  });
}

/**
 * workerd's and Miniflare's `unsafe_eval` binding: code from strings at any time, for test
 * harnesses (`eval(code)`, `newFunction(code, name?, ...argNames)`, `newAsyncFunction(...)`).
 */
function unsafeEval(): object {
  const named = <T extends Function>(fn: T, name: unknown): T => {
    if (name !== undefined) Object.defineProperty(fn, 'name', { value: String(name) });
    return fn;
  };
  return Object.freeze({
    eval: (code: unknown) => unsafe.eval(String(code)),
    newFunction: (code: unknown, name?: unknown, ...args: unknown[]) =>
      named(unsafe.newFunction(String(code), args.map(String)), name),
    newAsyncFunction: (code: unknown, name?: unknown, ...args: unknown[]) =>
      named(unsafe.newAsyncFunction(String(code), args.map(String)), name),
  });
}

export function makeBindings(descriptors: Record<string, BindingDescriptor>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(descriptors)) {
    if (d.type === 'service') out[name] = serviceBinding(name);
    else if (d.type === 'kv') out[name] = new KVNamespace(name);
    else if (d.type === 'do') out[name] = new DurableObjectNamespace(name);
    else if (d.type === 'unsafe_eval') out[name] = unsafeEval();
  }
  return out;
}
