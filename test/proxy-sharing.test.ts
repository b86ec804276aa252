// Issue 13 item 3 over HTTP: concurrent requests for one URL are coalesced, but a response is
// handed to another client only when a shared cache could store it and use it for that
// client (RFC 9111 §3, §3.5, §4.1). The origin builds each page from the request's cookie or
// credentials and answers after a moment, so 50 users overlap; each must get their own page,
// in CDN proxy mode on one PoP and across the world topology (PoPs, shields, upper tier).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { builtinTopology } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../src/pop/index.ts';

let origin: Server;
let single: ProxyServer;
let world: ProxyServer;
const hits = new Map<string, number>();

/** What each path answers (the page is always built from the request). */
const KINDS: Record<string, (user: string) => Record<string, string>> = {
  '/private': () => ({ 'cache-control': 'private, max-age=60' }),
  '/private-no-store': () => ({ 'cache-control': 'private, no-store' }),
  '/no-store': () => ({ 'cache-control': 'no-store' }),
  '/set-cookie': (u) => ({ 'cache-control': 'max-age=60', 'set-cookie': `session=${u}; HttpOnly` }),
  '/authorization': () => ({ 'cache-control': 'max-age=60' }),
  '/vary-cookie': () => ({ 'cache-control': 'max-age=60', vary: 'Cookie' }),
  '/public': () => ({ 'cache-control': 'public, max-age=60' }),
};

before(async () => {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/(single|world)/, '');
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    const user =
      /user=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ??
      /Bearer (\w+)/.exec(req.headers.authorization ?? '')?.[1] ??
      'anonymous';
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', ...(KINDS[path]?.(user) ?? {}) });
      res.end(`page of ${user}`);
    }, 40);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  single = await startProxy({ origin: url, port: 0, observer: memoryObserver() });
  world = await startProxy({
    origin: url,
    port: 0,
    observer: memoryObserver(),
    network: { topology: builtinTopology('world')! },
  });
});
after(async () => {
  await single.close();
  await world.close();
  await new Promise((r) => origin.close(r));
});

const USERS = Array.from({ length: 50 }, (_, i) => `user${i}`);
const CITIES = ['Paris', 'London', 'Frankfurt', 'Ashburn', 'Chicago', 'Tokyo', 'São Paulo'];

async function fifty(proxy: ProxyServer, path: string, credentials: 'cookie' | 'authorization') {
  return Promise.all(
    USERS.map(async (u, i) => {
      const headers: Record<string, string> =
        credentials === 'cookie' ? { cookie: `user=${u}` } : { authorization: `Bearer ${u}` };
      if (proxy === world) headers['outpost-client-location'] = CITIES[i % CITIES.length];
      const r = await fetch(`${proxy.url}${path}`, { headers });
      return {
        body: await r.text(),
        status: r.headers.get('cf-cache-status'),
        cookie: r.headers.get('set-cookie'),
        pop: r.headers.get('outpost-pop'),
      };
    }),
  );
}

for (const [mode, proxy] of [
  ['CDN proxy mode', () => single],
  ['CDN proxy mode on the world topology', () => world],
] as const)
  describe(`${mode}: coalesced requests never receive another user’s response`, () => {
    const prefix = mode.includes('world') ? '/world' : '/single';
    for (const kind of ['/private', '/private-no-store', '/no-store', '/set-cookie', '/vary-cookie'])
      it(`${kind.slice(1)}: 50 concurrent users with their own cookie each get their own page`, async () => {
        const got = await fifty(proxy(), `${prefix}${kind}`, 'cookie');
        assert.deepEqual(
          got.map((g) => g.body),
          USERS.map((u) => `page of ${u}`),
        );
        assert.equal(hits.get(`${prefix}${kind}`), 50, 'each user reached the origin');
        if (kind === '/set-cookie') {
          assert.deepEqual(
            got.map((g) => g.cookie),
            USERS.map((u) => `session=${u}; HttpOnly`),
          );
          assert.ok(
            got.every((g) => g.status === 'BYPASS'),
            'Set-Cookie is never stored',
          );
        }
        if (mode.includes('world')) assert.ok(new Set(got.map((g) => g.pop)).size >= 5, 'spread over PoPs');
      });
    it('authorization without public/s-maxage/must-revalidate: 50 users each get their own page (§3.5)', async () => {
      const got = await fifty(proxy(), `${prefix}/authorization`, 'authorization');
      assert.deepEqual(
        got.map((g) => g.body),
        USERS.map((u) => `page of ${u}`),
      );
      assert.equal(hits.get(`${prefix}/authorization`), 50);
    });
    it('a response that says public is still shared with Authorization requests (§3.5)', async () => {
      const got = await fifty(proxy(), `${prefix}/public`, 'authorization');
      assert.equal(new Set(got.map((g) => g.body)).size, 1);
      assert.equal(hits.get(`${prefix}/public`), 1);
    });
  });
