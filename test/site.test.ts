// A site (outpost.toml origin and [cache]) with a worker on some of its routes: requests a
// route matches run the worker, every other one goes through the PoP's cache to the origin
// under the site's policies (by path and by content class), and the worker's own fetch() of
// the site reaches the origin, cached by the same policies, without running the worker again.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { validateProxyConfig } from '../src/config/index.ts';
import { startFixture, type TestDev } from './helpers.ts';

const SITE = `
[cache.classes.static-immutable]
edge_ttl = 31536000
browser_ttl = 31536000
tags = ["static"]

[cache.classes.html-dynamic]
edge_ttl = 0
browser_ttl = 0
stale_while_revalidate = 60

[[cache.policies]]
path = "/assets/*"
class = "static-immutable"

[[cache.policies]]
content_type = ["image/*"]
edge_ttl = 600

[[cache.policies]]
path = "/*"
class = "html-dynamic"
`;

describe('a site: worker routes, the rest through the cache to the origin', () => {
  let origin: Server;
  let dev: TestDev;
  const hits = new Map<string, number>();

  before(async () => {
    origin = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const type = path.endsWith('.png')
        ? 'image/png'
        : path.endsWith('.js')
          ? 'text/javascript'
          : 'text/html';
      // No freshness from the origin: what is cached is the site's policies' doing.
      res.writeHead(200, { 'content-type': type, 'x-origin-host': req.headers.host ?? '' });
      res.end(`origin ${path} #${hits.get(path)}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    const config = validateProxyConfig(
      { origin: url, ...(await import('smol-toml')).parse(SITE) },
      'outpost.toml',
      '/tmp',
    );
    dev = await startFixture('site', { site: { origin: url, policies: config.policies } });
  });
  after(async () => {
    await dev.close();
    await new Promise((r) => origin.close(r));
  });

  it('a route runs the worker, matched as the zone (the dev address stands in for shop.example)', async () => {
    const res = await fetch(`${dev.url}/api/orders`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { worker: true, path: '/api/orders', host: new URL(dev.url).host });
    // A bare /api is not within /api/* on Cloudflare (the path must start with "/api/").
    const bare = await fetch(`${dev.url}/api`);
    assert.match(await bare.text(), /^origin \/api #/);
  });

  it('what no route matches goes to the origin through the cache, by the path policy', async () => {
    const a = await fetch(`${dev.url}/assets/app.js`);
    assert.equal(a.headers.get('cf-cache-status'), 'MISS');
    assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000');
    assert.equal(await a.text(), 'origin /assets/app.js #1');
    const b = await fetch(`${dev.url}/assets/app.js`);
    assert.equal(b.headers.get('cf-cache-status'), 'HIT');
    assert.equal(await b.text(), 'origin /assets/app.js #1');
    assert.match(b.headers.get('server-timing') ?? '', /cache;dur=[\d.]+;desc="HIT \/assets\/app.js"/);
    // html-dynamic: edge_ttl 0 is not cached at the edge, every request reaches the origin.
    await (await fetch(`${dev.url}/about`)).text();
    const again = await fetch(`${dev.url}/about`);
    assert.notEqual(again.headers.get('cf-cache-status'), 'HIT');
    assert.equal(await again.text(), 'origin /about #2');
    assert.equal(again.headers.get('cache-control'), 'private, no-store, stale-while-revalidate=60');
  });

  it('a content class applies by the response type: images cached wherever they are', async () => {
    await (await fetch(`${dev.url}/photos/cat.png`)).text();
    const hit = await fetch(`${dev.url}/photos/cat.png`);
    assert.equal(hit.headers.get('cf-cache-status'), 'HIT');
    assert.equal(await hit.text(), 'origin /photos/cat.png #1');
    // The same path policy for HTML stays uncached.
    await (await fetch(`${dev.url}/photos/index`)).text();
    assert.equal(await (await fetch(`${dev.url}/photos/index`)).text(), 'origin /photos/index #2');
  });

  it("the worker's fetch() of its own site reaches the origin once, cached by the site's policy", async () => {
    const first = await fetch(`${dev.url}/proxy/assets/logo.js`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'origin /assets/logo.js #1');
    assert.equal(first.headers.get('x-origin-cache'), 'MISS');
    const second = await fetch(`${dev.url}/proxy/assets/logo.js`);
    assert.equal(await second.text(), 'origin /assets/logo.js #1');
    assert.equal(second.headers.get('x-origin-cache'), 'HIT');
    // One entry for the site: the page served directly is the one the worker's fetch() filled.
    const direct = await fetch(`${dev.url}/assets/logo.js`);
    assert.equal(direct.headers.get('cf-cache-status'), 'HIT');
    assert.equal(hits.get('/assets/logo.js'), 1);
  });

  it('another host of the zone is matched as itself: a route of shop.example does not cover it', async () => {
    // fetch() may not set Host; undici's request() may.
    const res = await request(`${dev.url}/api/orders`, { headers: { host: 'static.shop.example' } });
    assert.match(await res.body.text(), /^origin \/api\/orders/);
    const zone = await request(`${dev.url}/api/orders`, { headers: { host: 'shop.example' } });
    assert.equal(((await zone.body.json()) as { worker: boolean }).worker, true);
  });
});

describe('a site on the world topology', () => {
  let origin: Server;
  let dev: TestDev;
  let hits = 0;
  before(async () => {
    origin = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'public, max-age=300' });
      res.end('body{}');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    dev = await startFixture('site', { site: { origin: url }, topology: 'world' });
  });
  after(async () => {
    await dev.close();
    await new Promise((r) => origin.close(r));
  });

  it('every PoP serves the site; a miss fills through its regional shield, once for the region', async () => {
    const fra = await fetch(`${dev.url}/style.css`, { headers: { 'outpost-pop': 'FRA' } });
    assert.equal(fra.headers.get('outpost-pop'), 'FRA');
    assert.equal(fra.headers.get('cf-cache-status'), 'MISS');
    assert.match(fra.headers.get('outpost-shield') ?? '', /MISS/);
    assert.match(fra.headers.get('server-timing') ?? '', /shield;dur=.*origin;dur=/);
    await fra.text();
    const ams = await fetch(`${dev.url}/style.css`, { headers: { 'outpost-pop': 'AMS' } });
    assert.equal(ams.headers.get('cf-cache-status'), 'MISS');
    assert.match(ams.headers.get('outpost-shield') ?? '', /HIT/);
    await ams.text();
    assert.equal(hits, 1);
    const worker = await fetch(`${dev.url}/api/x`, { headers: { 'outpost-pop': 'SIN' } });
    assert.equal(((await worker.json()) as { worker: boolean }).worker, true);
  });
});

describe('A/B variants on a cached site', () => {
  let origin: Server;
  let dev: TestDev;
  let hits = 0;
  before(async () => {
    origin = createServer((req, res) => {
      hits++;
      // A page made for the bucket the PoP chose, cacheable for everyone by its own headers.
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, max-age=600' });
      res.end(`page for ${req.headers['outpost-variant'] ?? 'nobody'}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    const config = validateProxyConfig(
      { origin: url, experiments: [{ name: 'home', paths: ['/'], variants: { a: 50, b: 50 } }] },
      'outpost.toml',
      '/tmp',
    );
    dev = await startFixture('site', { site: { origin: url, experiments: config.experiments } });
  });
  after(async () => {
    await dev.close();
    await new Promise((r) => origin.close(r));
  });

  it('a new visitor gets a bucket and a cookie that keeps it', async () => {
    const res = await fetch(`${dev.url}/`);
    const cookie = res.headers.get('set-cookie') ?? '';
    const m = /^outpost_ab_home=(a|b); Path=\/; Max-Age=2592000; SameSite=Lax$/.exec(cookie);
    assert.ok(m, cookie);
    assert.equal(await res.text(), `page for home=${m[1]}`);
  });

  it('1,000 requests from two buckets never get the other bucket’s page from cache', async () => {
    const wrong: string[] = [];
    const statuses = new Set<string>();
    for (let i = 0; i < 1000; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const bucket = (i + j) % 2 === 0 ? 'a' : 'b';
          // Half the requests also forge the header for the other bucket.
          const headers: Record<string, string> = { cookie: `outpost_ab_home=${bucket}` };
          if (j % 4 < 2) headers['outpost-variant'] = `home=${bucket === 'a' ? 'b' : 'a'}`;
          const res = await request(`${dev.url}/`, { headers });
          statuses.add(String(res.headers['cf-cache-status']));
          const body = await res.body.text();
          if (body !== `page for home=${bucket}`) wrong.push(`${bucket}: ${body}`);
          assert.equal(res.headers['set-cookie'], undefined);
        }),
      );
    }
    assert.deepEqual(wrong, []);
    assert.ok(statuses.has('HIT'), [...statuses].join());
    // One fill per bucket (and the first visitor's): the variants are cached, not bypassed.
    assert.ok(hits <= 3, `${hits} origin requests`);
  });
});
