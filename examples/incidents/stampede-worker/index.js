// The seed's incident 1: a popular resource every PoP caches for the same short TTL, so it
// expires everywhere at once. The worker fetches it from the origin (?origin=…), cached for
// 2 seconds at the edge.
export default {
  async fetch(request) {
    const origin = new URL(request.url).searchParams.get('origin');
    if (!origin) return new Response('give ?origin=URL', { status: 400 });
    const res = await fetch(`${origin}/popular.json`, { cf: { cacheTtl: 2, cacheEverything: true } });
    return new Response(await res.text(), { headers: { 'content-type': 'application/json' } });
  },
};
