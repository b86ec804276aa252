import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpOrigin } from '../network/origin.ts';
import { drained } from './respond.ts';

/**
 * ctx.passThroughOnException(): when the worker throws, the request goes on to the origin as
 * if no worker were on the route (https://developers.cloudflare.com/workers/runtime-apis/context/#passthroughonexception).
 * Only requests without a body can be replayed: the body was already given to the worker.
 */
export async function proxyToOrigin(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  origin: string,
  headers: string[],
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(500, { 'content-type': 'text/plain' });
    return void res.end('Worker threw an exception (passThroughOnException cannot replay a request body)\n');
  }
  try {
    // The request's path on the configured origin, through the PoP's origin client (never
    // resolved against it as a URL of its own: an open proxy).
    const r = await httpOrigin(origin)({ method: req.method ?? 'GET', url, headers });
    const flat: string[] = [];
    for (let i = 0; i < r.headers.length; i += 2)
      if (r.headers[i] !== 'cf-ray') flat.push(r.headers[i], r.headers[i + 1]);
    res.writeHead(r.status, flat);
    if (r.body) for await (const chunk of r.body) if (!res.write(chunk)) await drained(res);
    res.end();
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`Origin unreachable: ${(err as Error).message}\n`);
  }
}
