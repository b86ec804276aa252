// An attack on CDN proxy mode's cache: a response that sets a cookie (a session) was stored and
// served to the next visitor, who then got the first visitor's session. It is never stored nor
// handed to a coalesced waiter (src/cache/semantics/storable.ts, docs/cache.md "Set-Cookie"),
// even when the origin says `public` or a policy forces an edge TTL; responses without cookies are
// still cached for the neighbouring requests.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { validateProxyConfig } from '../../src/config/index.ts';
import { memoryObserver } from '../../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../../src/pop/index.ts';

let origin: Server;
let proxy: ProxyServer;
let sessions = 0;
const hits = new Map<string, number>();

before(async () => {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://origin').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/style.css') {
      res.writeHead(200, { 'cache-control': 'public, max-age=600' });
      return void res.end('body { }');
    }
    // Every other path logs a visitor in: a session of their own, in a page that says cacheable.
    const n = ++sessions;
    const answer = () => {
      res.writeHead(200, { 'cache-control': 'public, max-age=600', 'set-cookie': `session=s${n}; HttpOnly` });
      res.end(`welcome, visitor ${n}`);
    };
    if (path === '/burst') setTimeout(answer, 150);
    else answer();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  // A policy that forces an edge TTL on /forced/* whatever the origin says.
  const config = validateProxyConfig(
    { cache: { policies: [{ path: '/forced/*', edge_ttl: 3600 }] } },
    '<test>',
    process.cwd(),
  );
  proxy = await startProxy({ origin: url, port: 0, config, observer: memoryObserver() });
});
after(async () => {
  await proxy.close();
  await new Promise<void>((r) => {
    origin.close(() => r());
    origin.closeAllConnections();
  });
});

async function visit(path: string) {
  const r = await fetch(`${proxy.url}${path}`);
  return {
    status: r.headers.get('cf-cache-status'),
    cookies: r.headers.getSetCookie(),
    body: await r.text(),
  };
}

describe('responses that set a cookie, in CDN proxy mode', () => {
  it('are never served to the next visitor, even `public` or under a forced edge TTL', async () => {
    for (const path of ['/login', '/forced/login']) {
      const victim = await visit(path);
      const attacker = await visit(path);
      assert.equal(victim.cookies.length, 1, path);
      assert.equal(attacker.cookies.length, 1, path);
      assert.notEqual(attacker.cookies[0], victim.cookies[0], path);
      assert.notEqual(attacker.body, victim.body, path);
      assert.notEqual(attacker.status, 'HIT', path);
      assert.equal(hits.get(path), 2, `${path}: each visitor reached the origin`);
    }
  });

  it('are not handed to concurrent visitors waiting on the same URL', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => visit('/burst')));
    const cookies = new Set(all.map((a) => a.cookies[0]));
    assert.equal(cookies.size, 20, 'each visitor got a session of their own');
    assert.equal(hits.get('/burst'), 20);
  });

  it('a neighbouring response without a cookie is still cached', async () => {
    assert.equal((await visit('/style.css')).status, 'MISS');
    const again = await visit('/style.css');
    assert.deepEqual([again.status, again.body, again.cookies], ['HIT', 'body { }', []]);
    assert.equal(hits.get('/style.css'), 1);
  });
});
