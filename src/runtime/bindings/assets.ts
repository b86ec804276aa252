/**
 * The assets binding (`assets.binding`, `env.ASSETS.fetch()`), host side: the request the
 * isolate sent, answered by the version's AssetServer (src/assets/) as `fetch()` would be —
 * not-found handling applies, and nothing matching is a 404. Not a subrequest, as on Workers.
 */
import type { AssetResponse } from '../../assets/index.ts';
import { fromAsyncIterable, fromBytes, toArrayBuffer } from '../bridge/bodies.ts';
import { NamedError } from '../bridge/named-error.ts';
import { requestFromIsolate } from '../bridge/service.ts';
import type { IsolateOwner } from '../bridge/syscalls.ts';
import type { CrossingResponse } from './protocol.ts';
import type { HostBinding } from './types.ts';

const INLINE_BODY_MAX = 64 * 1024;
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  404: 'Not Found',
  405: 'Method Not Allowed',
};

/** An asset response as it crosses into the isolate: small bodies inline, others pulled. */
export function assetToIsolate(o: IsolateOwner, r: AssetResponse, url: string): CrossingResponse {
  const meta = {
    status: r.status,
    statusText: STATUS_TEXT[r.status] ?? '',
    headers: r.headers.flat(),
    url,
    redirected: false,
  };
  if (r.body === null) return { ...meta, body: null };
  if (r.body instanceof Uint8Array) {
    if (r.body.byteLength <= INLINE_BODY_MAX) return { ...meta, body: toArrayBuffer(r.body) };
    return { ...meta, body: o.bodies.add(fromBytes(r.body)) };
  }
  return { ...meta, body: o.bodies.add(fromAsyncIterable(r.body)) };
}

export const assetsBinding: HostBinding<'assets'> = {
  describe: () => ({ type: 'assets' }),
  connect: (_b, wire) => ({
    fetch: async (o, ctx, args) => {
      o.requireLive(ctx);
      const server = wire.assets();
      if (!server) throw new NamedError('this worker has no assets directory', 'Error');
      const req = requestFromIsolate(
        args,
        (what) => new NamedError(`invalid ASSETS.fetch(): ${what}`, 'TypeError'),
      );
      const headers = req.headers;
      const header = (name: string) => {
        for (let i = 0; i < headers.length; i += 2)
          if (headers[i].toLowerCase() === name) return headers[i + 1];
        return undefined;
      };
      return assetToIsolate(o, await server.fetch({ method: req.method, url: req.url, header }), req.url);
    },
  }),
};
