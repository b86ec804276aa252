// The home page, rendered at the edge and streamed (the seed's Pattern 1, Edge-Side Rendering):
// the shell — head, preloads, the header personalised by geo and the visitor's A/B bucket —
// leaves at once; the recommendations, which need the origin, follow when they arrive. Time to
// first byte is the edge's, not the origin's.
import { getPreferences } from './data';
import type { Env } from './env';

const encoder = new TextEncoder();

interface AssetManifest {
  css: string;
  js: string;
}

export async function renderHome(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const cf = (request.cf ?? {}) as { country?: string; city?: string; colo?: string };
  const country = cf.country ?? 'US';
  // The bucket the edge chose for this visitor (outpost.toml [[experiments]], sticky by cookie).
  const hero = /(?:^|,\s*)hero=(\w+)/.exec(request.headers.get('outpost-variant') ?? '')?.[1] ?? 'classic';
  const user = /(?:^|;\s*)user=([\w-]{1,64})/.exec(request.headers.get('cookie') ?? '')?.[1];
  // The asset manifest comes through the edge cache (the origin's, 60 s): the preload Link
  // headers below are what Early Hints remembers and sends as a 103 on the next request.
  const assets = (await (await fetch(`${env.ORIGIN}/assets/manifest.json`)).json()) as AssetManifest;
  const prefs = user ? await getPreferences(env, user) : {};
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (s: string) => writer.write(encoder.encode(s));
  const render = async () => {
    await write(
      `<!doctype html><html lang="${prefs.locale ?? 'en'}"><head><meta charset="utf-8"><title>Outpost reference</title>` +
        `<link rel="stylesheet" href="${assets.css}"></head><body class="${prefs.theme ?? 'light'}">` +
        `<header><h1 class="hero-${hero}">${hero === 'bold' ? 'THE EDGE IS HERE' : 'Welcome to the edge'}</h1>` +
        `<p>Served from ${cf.colo ?? 'the edge'} to ${cf.city ?? 'you'}, ${country}${user ? `, for ${user}` : ''}</p></header><main>`,
    );
    try {
      // Personalised data: the origin, a round trip away. The shell is already on its way.
      const recs = (await (await fetch(`${env.ORIGIN}/api/recommendations?country=${country}`)).json()) as {
        items: string[];
      };
      await write(`<section id="recommendations"><ul>${recs.items.map((i) => `<li>${i}</li>`).join('')}</ul></section>`);
    } catch {
      await write('<section id="recommendations">Recommendations are not available right now.</section>');
    }
    await write(`</main><script src="${assets.js}" defer></script></body></html>`);
    await writer.close();
  };
  ctx.waitUntil(render());
  return new Response(readable, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'private, max-age=0',
      link: `<${assets.css}>; rel=preload; as=style, <${assets.js}>; rel=preload; as=script`,
      'x-edge-location': cf.colo ?? 'unknown',
    },
  });
}
