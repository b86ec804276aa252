/**
 * The PoP's client for origins: one for every path that asks an origin for something — the
 * site's cache and shields filling (src/pop/site-serve.ts, proxy.ts) and a request handed on by
 * passThroughOnException (src/pop/origin.ts). Only a request's path and query reach the origin's
 * URL (urls.ts), never another host; hop-by-hop fields are dropped both ways (hop-by-hop.ts).
 * (A worker's own fetch() goes through the runtime's egress policy instead: runtime/bridge/fetch.ts.)
 */
import { Readable } from 'node:stream';
import type { CacheRequest, Origin } from '../cache/index.ts';
import { withoutHopByHop } from '../http/hop-by-hop.ts';
import { undici } from '../http/undici.ts';
import { originUrl } from './urls.ts';

/**
 * An Origin that forwards to `base` with undici, streaming both bodies. Only the request's path
 * and query reach the origin URL (src/network/urls.ts): never another host.
 */
export function httpOrigin(base: string): Origin {
  const root = new URL(base);
  return async (req: CacheRequest) => {
    const target = originUrl(root, req.url);
    const headers: string[] = [];
    const sendable = withoutHopByHop(req.headers);
    for (let i = 0; i < sendable.length; i += 2)
      if (sendable[i] !== 'host') headers.push(sendable[i], sendable[i + 1]);
    const onInterim = req.onInterim;
    const r = await undici().request(target, {
      method: req.method as 'GET',
      headers,
      body: req.body ? (req.body instanceof Readable ? req.body : Readable.from(req.body)) : undefined,
      onInfo: onInterim
        ? (info) => {
            const flat: string[] = [];
            for (const [k, v] of Object.entries(info.headers ?? {}))
              for (const one of Array.isArray(v) ? v : [String(v)]) flat.push(k, one);
            onInterim(info.statusCode, flat);
          }
        : undefined,
    });
    const flat: string[] = [];
    for (const [k, v] of Object.entries(r.headers))
      for (const one of Array.isArray(v) ? v : [v ?? '']) flat.push(k, one);
    return {
      status: r.statusCode,
      statusText: '',
      headers: withoutHopByHop(flat),
      body: r.body as AsyncIterable<Uint8Array>,
    };
  };
}
