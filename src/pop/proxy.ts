/**
 * CDN proxy mode: a route with no worker. The PoP is a caching reverse proxy to the origin
 * (src/cache/http-cache.ts over a memory store); every response says how the cache answered
 * (`cf-cache-status`, `Age`). `outpost dev --origin URL` in a folder without a worker project
 * runs it for every path.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { type CacheRequest, type CacheStore, HttpCache, MemoryStore, type Origin } from '../cache/index.ts';
import type { Observer } from '../observability/index.ts';
import { drained, HOP_BY_HOP } from './server.ts';

export interface ProxyOptions {
  origin: string;
  host?: string;
  port?: number;
  store?: CacheStore;
  observer: Observer;
}

export interface ProxyServer {
  url: string;
  port: number;
  server: Server;
  cache: HttpCache;
  close(): Promise<void>;
}

/** An Origin that forwards to `base` with undici, streaming the body back. */
export function httpOrigin(base: string): Origin {
  const root = new URL(base);
  return async (req: CacheRequest) => {
    const u = new URL(req.url);
    const target = new URL(u.pathname + u.search, root);
    const headers: Record<string, string> = {};
    for (let i = 0; i < req.headers.length; i += 2)
      if (req.headers[i] !== 'host') headers[req.headers[i]] = req.headers[i + 1];
    const r = await request(target, { method: req.method as 'GET', headers });
    const flat: string[] = [];
    for (const [k, v] of Object.entries(r.headers)) {
      if (HOP_BY_HOP.has(k)) continue;
      for (const one of Array.isArray(v) ? v : [v ?? '']) flat.push(k, one);
    }
    return { status: r.statusCode, statusText: '', headers: flat, body: r.body as AsyncIterable<Uint8Array> };
  };
}

function requestOf(req: IncomingMessage, host: string): CacheRequest {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(n)) headers.push(n, req.rawHeaders[i + 1]);
  }
  return {
    method: req.method ?? 'GET',
    url: new URL(req.url ?? '/', `http://${req.headers.host ?? host}`).href,
    headers,
  };
}

export async function startProxy(options: ProxyOptions): Promise<ProxyServer> {
  const cache = new HttpCache({
    store: options.store ?? new MemoryStore(),
    onError: (err) =>
      options.observer.log({ level: 'warn', source: 'outpost', message: `cache: ${err.message}` }),
  });
  const origin = httpOrigin(options.origin);
  const host = options.host ?? '127.0.0.1';
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        // Request bodies are not forwarded yet in proxy mode: say so instead of dropping them.
        res.writeHead(501, { 'content-type': 'text/plain', 'cf-cache-status': 'DYNAMIC' });
        return void res.end(`CDN proxy mode forwards GET and HEAD only (received ${req.method})\n`);
      }
      const a = await cache.handle(requestOf(req, host), origin);
      res.writeHead(a.status, a.statusText || undefined, a.headers);
      if (a.body && req.method !== 'HEAD')
        for await (const chunk of a.body) if (!res.write(chunk)) await drained(res);
      res.end();
    } catch (err) {
      options.observer.log({
        level: 'error',
        source: 'outpost',
        message: `origin request failed: ${(err as Error).message}`,
      });
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`Origin unreachable: ${(err as Error).message}\n`);
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, host, () => resolve((server.address() as AddressInfo).port));
  });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    cache,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
