import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { withoutHopByHop } from '../network/hop-by-hop.ts';
import { originUrl } from '../network/index.ts';
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
  // The request's path on the configured origin: never resolved against it (an open proxy).
  const target = originUrl(origin, url);
  const fwd: Record<string, string> = {};
  const kept = withoutHopByHop(headers);
  for (let i = 0; i < kept.length; i += 2) if (kept[i] !== 'host') fwd[kept[i]] = kept[i + 1];
  try {
    const r = await request(target, { method: req.method as 'GET', headers: fwd });
    const flat: string[] = [];
    for (const [k, v] of Object.entries(r.headers)) {
      if (k === 'cf-ray') continue;
      for (const one of Array.isArray(v) ? v : [v ?? '']) flat.push(k, one);
    }
    res.writeHead(r.statusCode, withoutHopByHop(flat));
    for await (const chunk of r.body) if (!res.write(chunk)) await drained(res);
    res.end();
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`Origin unreachable: ${(err as Error).message}\n`);
  }
}
