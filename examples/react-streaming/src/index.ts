// Streaming edge rendering: react-dom/server's renderToReadableStream answers with the shell
// while the personalised data is still on its way; the Suspense boundaries follow in the same
// response. `?mode=buffered` sends the same page only once everything has rendered, to compare.
import { createElement } from 'react';
import { renderToReadableStream } from 'react-dom/server';
import { type Env, loadProfile, loadRecommendations } from './data';
import { Page } from './page';

/** The simulated latency of the personalised data when the URL does not say (`?delay=ms`). */
const DEFAULT_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/') return new Response('Not found\n', { status: 404 });
    const asked = Number(url.searchParams.get('delay') ?? DEFAULT_DELAY_MS);
    const delay = Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_DELAY_MS) : DEFAULT_DELAY_MS;
    const user = url.searchParams.get('user') ?? 'guest';
    const cf = request.cf;

    // Started before rendering, so both reads run while the shell is already on the wire.
    const page = createElement(Page, {
      country: String(cf?.country ?? 'unknown country'),
      city: String(cf?.city ?? 'an unknown city'),
      colo: String(cf?.colo ?? 'an unknown PoP'),
      profile: loadProfile(env, user, delay),
      recommendations: loadRecommendations(env, user, delay),
    });
    const stream = await renderToReadableStream(page, {
      signal: request.signal,
      // An error inside a boundary is rendered by the client's retry; log it here.
      onError: (error) => console.error('render:', error),
    });
    if (url.searchParams.get('mode') === 'buffered') await stream.allReady;
    return new Response(stream, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        // Personalised: no shared cache may keep it.
        'cache-control': 'private, no-store',
      },
    });
  },
};
