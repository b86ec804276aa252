// The reference application's worker: the seed's edge patterns on the routes it owns.
//
//   /            the home page, edge-rendered and streamed: the shell leaves at once, the part
//                personalised by geo, KV preferences and the A/B bucket follows (home.ts)
//   /api/me/*    the personal API behind the edge's JWT policy (X-User-ID is the verified sub):
//                feature flags (KV read-through), preferences (KV read, origin write-through)
//   /doc/:id     collaborative editing: a DocumentRoom Durable Object over WebSockets (room.ts)
//
// Everything else (assets, /api/products, /pages/*, the ESI page /esi/home) never reaches this
// worker: the edge serves it from cache or the origin, under outpost.toml's policies.
import { renderHome } from './home';
import { getFeatureFlags, getPreferences, updatePreference } from './data';
import type { Env } from './env';

export { DocumentRoom } from './room';

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/') return renderHome(request, env, ctx);
    if (url.pathname.startsWith('/doc/')) {
      const id = url.pathname.slice('/doc/'.length) || 'welcome';
      return env.ROOMS.get(env.ROOMS.idFromName(id)).fetch(request);
    }
    const user = request.headers.get('x-user-id');
    if (!user) return Response.json({ error: 'no verified user' }, { status: 401 });
    if (url.pathname === '/api/me/flags') return Response.json(await getFeatureFlags(env, ctx, user));
    if (url.pathname === '/api/me/prefs' && request.method === 'GET')
      return Response.json(await getPreferences(env, user), { headers: { 'cache-control': 'private, no-store' } });
    if (url.pathname === '/api/me/prefs' && request.method === 'PATCH') {
      const { success } = await env.PREFS_WRITES.limit({ key: user });
      if (!success) return Response.json({ error: 'too many preference changes' }, { status: 429 });
      let patch: Record<string, unknown>;
      try {
        patch = await request.json();
      } catch {
        return Response.json({ error: 'send JSON' }, { status: 400 });
      }
      for (const [key, value] of Object.entries(patch)) await updatePreference(env, user, key, value);
      return Response.json(await getPreferences(env, user));
    }
    return Response.json({ error: `no ${request.method} ${url.pathname}` }, { status: 404 });
  },
};
