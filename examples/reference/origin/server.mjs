// The reference application's origin, as the seed draws it: "Origin (Virginia)" behind the edge.
// A plain Node server with what a site's origin has: an API (public and personalised), pages
// rendered at the origin, HTML fragments with their own cache lifetimes (for ESI and for the
// worker's fragment assembly), static assets with hashed names, and an identity provider whose
// keys the edge checks tokens with (JWKS). It adds a little work time to what it renders, so the
// edge's caching shows.
//
//   node examples/reference/origin/server.mjs [port]     (default 8790; 0: any free port)
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ASSETS, asset } from './assets.mjs';

const ISSUER = 'https://auth.reference.example';
const DEFAULT_PREFERENCES = { locale: 'en', theme: 'light' };

/** Starts the origin; resolves with its URL and a close function. */
export async function startOrigin(port = 8790, { renderMs = 40, recommendationsMs = 150 } = {}) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'origin-1', alg: 'ES256', use: 'sig' };
  const preferences = new Map(); // user → { locale, theme }
  const stats = { requests: 0, byPath: new Map() };
  const slow = (ms) => new Promise((r) => setTimeout(r, ms));

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const path = url.pathname;
    stats.requests++;
    stats.byPath.set(path, (stats.byPath.get(path) ?? 0) + 1);
    const json = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const html = (body, headers = {}) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
    };
    if (path === '/.well-known/jwks.json') return json(200, { keys: [jwk] }, { 'cache-control': 'max-age=300' });
    if (path === '/auth/token') {
      // A demo login: a token for ?user=, signed with the key the JWKS publishes.
      const user = url.searchParams.get('user') ?? 'alice';
      const token = await new SignJWT({ permissions: ['read', 'write'] })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
        .setSubject(user)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      return json(200, { token });
    }
    if (path === '/api/products') {
      await slow(renderMs);
      return json(200, {
        products: [
          { id: 1, name: 'Edge kettle', price: 49 },
          { id: 2, name: 'Anycast umbrella', price: 25 },
        ],
        renderedAt: new Date().toISOString(),
      });
    }
    if (path === '/api/recommendations') {
      // Personalised by country: the slow data the streamed home page waits for.
      await slow(recommendationsMs);
      const country = url.searchParams.get('country') ?? 'US';
      return json(200, { country, items: [`Best sellers in ${country}`, 'New this week', 'Because you looked'] });
    }
    const flags = /^\/api\/flags\/([^/]+)$/.exec(path);
    if (flags) return json(200, { newCheckout: flags[1] < 'm', darkMode: true }, { 'cache-control': 'no-store' });
    const prefs = /^\/api\/users\/([^/]+)\/preferences$/.exec(path);
    if (prefs) {
      if (req.method === 'PATCH') {
        let body = '';
        for await (const c of req) body += c;
        let patch;
        try {
          patch = JSON.parse(body);
        } catch {
          return json(400, { error: 'preferences must be JSON' });
        }
        preferences.set(prefs[1], { ...(preferences.get(prefs[1]) ?? DEFAULT_PREFERENCES), ...patch });
      }
      return json(200, preferences.get(prefs[1]) ?? DEFAULT_PREFERENCES, { 'cache-control': 'no-store' });
    }
    const fragment = /^\/fragments\/([a-z]+)$/.exec(path);
    if (fragment) {
      const ttl = { header: 3600, nav: 300, hero: 60, feed: 0, footer: 86400 }[fragment[1]];
      if (ttl === undefined) return json(404, { error: 'no such fragment' });
      await slow(renderMs / 4);
      return html(`<section class="${fragment[1]}">${fragment[1]} (rendered ${new Date().toISOString()})</section>`, {
        'cache-control': ttl ? `public, max-age=${ttl}` : 'no-store',
      });
    }
    if (path === '/esi/home') {
      // A page assembled at the edge from the fragments above (ESI 1.0).
      return html(
        `<!doctype html><html><body><esi:include src="/fragments/header"/><esi:include src="/fragments/nav"/>` +
          `<main><esi:include src="/fragments/hero"/><esi:include src="/fragments/feed" onerror="continue"/></main>` +
          `<esi:choose><esi:when test="$(HTTP_COOKIE{theme})=='dark'"><p>dark theme</p></esi:when><esi:otherwise><p>light theme</p></esi:otherwise></esi:choose>` +
          `<p>From <esi:vars>$(GEO{country_code})</esi:vars></p><esi:include src="/fragments/footer"/></body></html>`,
        { 'surrogate-control': 'content="ESI/1.0"', 'cache-control': 'public, max-age=600' },
      );
    }
    if (path.startsWith('/pages/')) {
      // Server-rendered at the origin: the slow path the seed's LCP chart starts from.
      await slow(renderMs * 2);
      return html(`<!doctype html><title>${path}</title><h1>${path.slice(7)}</h1><p>rendered by the origin</p>`, {
        link: `<${ASSETS.css}>; rel=preload; as=style`,
      });
    }
    if (path === '/assets/manifest.json') return json(200, ASSETS, { 'cache-control': 'public, max-age=60' });
    const file = asset(path);
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable' });
      return res.end(file.body);
    }
    json(404, { error: `no ${path} at the origin` });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const o = await startOrigin(Number(process.argv[2] ?? 8790));
  console.log(`origin on ${o.url}`);
}
