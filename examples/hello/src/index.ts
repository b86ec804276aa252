// Edge-side rendering in the style of the seed's Pattern 1: the shell is sent at once, the rest
// streams in after the handler has returned.
interface Env {
  GREETING: string;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const cf = (request as any).cf ?? {};
    if (url.pathname === '/api') {
      return Response.json({ greeting: env.GREETING, colo: cf.colo, country: cf.country, time: new Date().toISOString() });
    }
    if (url.pathname !== '/') return new Response('Not found\n', { status: 404 });

    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    ctx.waitUntil(
      (async () => {
        await writer.write(encoder.encode(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outpost</title></head><body>
<h1>${env.GREETING}</h1><p>Served by PoP <b>${cf.colo}</b> (${cf.city}, ${cf.country}).</p><ul>`));
        for (let i = 1; i <= 3; i++) {
          await new Promise((r) => setTimeout(r, 150));
          await writer.write(encoder.encode(`<li>streamed chunk ${i} at ${new Date().toISOString()}</li>\n`));
        }
        await writer.write(encoder.encode(`</ul><p>Try <a href="/api">/api</a>.</p></body></html>\n`));
        await writer.close();
      })(),
    );
    return new Response(readable, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'private, max-age=0' } });
  },
};

interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
}
