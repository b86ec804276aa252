// Pages at the PoP: ESI assembled as the page streams (fragments from worker routes and from the
// origin through the cache), and 103 Early Hints remembered from a page's Link preloads, seen by
// real clients over HTTP/1.1 and HTTP/2.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { validateProxyConfig } from '../src/config/index.ts';
import { startFixture, type TestDev } from './helpers.ts';

/** An origin with ESI pages and fragments; /frag/slow waits until released. */
function esiOrigin() {
  const hits = new Map<string, number>();
  let release: () => void = () => {};
  let slow = new Promise<void>((r) => (release = r));
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const esi = { 'content-type': 'text/html', 'surrogate-control': 'content="ESI/1.0"' };
    if (path === '/esi-page') {
      res.writeHead(200, { ...esi, 'cache-control': 'public, max-age=60' });
      return void res.end(
        '<p>head</p><esi:include src="/frag/slow"/><esi:include src="/frag/origin.html"/><esi:remove>gone</esi:remove><!--esi <b>shown</b>-->',
      );
    }
    if (path === '/hang-page') {
      res.writeHead(200, esi);
      return void res.end('[<esi:include src="/frag/hang" alt="/frag/origin.html"/>]');
    }
    if (path === '/loop-page') {
      res.writeHead(200, esi);
      return void res.end(
        '<esi:try><esi:attempt><esi:include src="/loop-page"/></esi:attempt><esi:except>no loop</esi:except></esi:try>',
      );
    }
    if (path === '/frag/origin.html') {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'public, max-age=60' });
      return void res.end(`origin-fragment#${hits.get(path)}`);
    }
    if (path === '/frag/slow') {
      await slow;
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('slow-fragment');
    }
    if (path === '/frag/hang') return; // never answers
    if (path === '/own-hints') {
      res.writeEarlyHints({ link: '</origin.css>; rel=preload; as=style' });
      await new Promise((r) => setTimeout(r, 20));
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('own');
    }
    if (path === '/plain') {
      res.writeHead(200, { 'content-type': 'text/html', link: '</style.css>; rel=preload; as=style' });
      return void res.end('plain');
    }
    res.writeHead(404);
    res.end();
  });
  return {
    server,
    hits,
    release: () => release(),
    reset: () => {
      slow = new Promise<void>((r) => (release = r));
    },
  };
}

describe('pages at the PoP', () => {
  let origin: ReturnType<typeof esiOrigin>;
  let dev: TestDev;
  before(async () => {
    origin = esiOrigin();
    await new Promise<void>((r) => origin.server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(origin.server.address() as AddressInfo).port}`;
    const config = validateProxyConfig({ origin: url, esi: { timeout_ms: 300 } }, 'outpost.toml', '/tmp');
    dev = await startFixture('pages', {
      site: { origin: url, policies: config.policies, esi: config.esi, earlyHints: config.earlyHints },
      tls: true,
    });
  });
  after(async () => {
    origin.release();
    await dev.close();
    origin.server.closeAllConnections(); // /frag/hang never answered
    await new Promise((r) => origin.server.close(r));
    await agent.close();
  });
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const insecure = () => agent;

  it('a worker page includes a worker fragment and an origin fragment, with variables', async () => {
    const res = await request(`${dev.url}/w/page?x=42`, { dispatcher: insecure() });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['surrogate-control'], undefined);
    const body = await res.body.text();
    assert.match(body, /^<html>worker-fragment x=42\|origin-fragment#\d+\|US<\/html>$/);
  });

  it('the page streams: its first bytes leave before a slow fragment answers', async () => {
    const res = await request(`${dev.url}/esi-page`, { dispatcher: insecure() });
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal(Buffer.from(first.value as Uint8Array).toString(), '<p>head</p>');
    // Still waiting for /frag/slow: nothing more until it is released.
    origin.release();
    let rest = '';
    for (let c = await reader.next(); !c.done; c = await reader.next())
      rest += Buffer.from(c.value).toString();
    assert.match(rest, /^slow-fragmentorigin-fragment#\d+ <b>shown<\/b>$/);
  });

  it('fragments are cached by their own TTL: the origin fragment is fetched once', async () => {
    const before = origin.hits.get('/frag/origin.html') ?? 0;
    for (let i = 0; i < 3; i++)
      await (await request(`${dev.url}/w/page?x=${i}`, { dispatcher: insecure() })).body.text();
    assert.equal(origin.hits.get('/frag/origin.html'), before);
  });

  it('a fragment that hangs times out and its alt is used; an include loop goes to esi:except', async () => {
    const started = Date.now();
    const res = await request(`${dev.url}/hang-page`, { dispatcher: insecure() });
    assert.match(await res.body.text(), /^\[origin-fragment#\d+\]$/);
    assert.ok(Date.now() - started >= 250, 'waited for the timeout');
    const loop = await request(`${dev.url}/loop-page`, { dispatcher: insecure() });
    assert.equal(await loop.body.text(), 'no loop');
  });

  it("a worker's page cannot include another host: the PoP fetches only the site's own pages", async () => {
    const res = await request(`${dev.url}/w/escape`, { dispatcher: insecure() });
    assert.equal(await res.body.text(), 'worker-fragment x=alt');
  });

  it('103 Early Hints over HTTP/1.1: remembered from the first 200, sent before the next answer', async () => {
    const first = await request(`${dev.url}/w/hinted`, { dispatcher: insecure() });
    await first.body.text();
    const infos: { status: number; link: unknown }[] = [];
    const res = await request(`${dev.url}/w/hinted`, {
      dispatcher: insecure(),
      onInfo: (info) => infos.push({ status: info.statusCode, link: info.headers.link }),
    });
    assert.equal(await res.body.text(), '<html>hinted</html>');
    assert.equal(infos.length, 1);
    assert.equal(infos[0].status, 103);
    const link = String(infos[0].link);
    assert.match(link, /<\/app\.js>; rel=preload; as=script/);
    assert.match(link, /<https:\/\/cdn\.example>; rel=preconnect/);
    assert.doesNotMatch(link, /prefetch/);
  });

  it("an origin's own 103 still reaches the client", async () => {
    const hints: string[] = [];
    const res = await request(`${dev.url}/own-hints`, {
      dispatcher: insecure(),
      onInfo: (info) => {
        if (info.statusCode === 103) hints.push(String(info.headers.link));
      },
    });
    assert.equal(await res.body.text(), 'own');
    assert.deepEqual(hints, ['</origin.css>; rel=preload; as=style']);
  });

  it('103 Early Hints over HTTP/2, for a page from the origin too', async () => {
    await (await request(`${dev.url}/plain`, { dispatcher: insecure() })).body.text();
    const session = connect(dev.url, { rejectUnauthorized: false });
    try {
      const seen: number[] = [];
      let hint = '';
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/plain' });
        stream.on('headers', (h) => {
          seen.push(Number(h[':status']));
          hint = String(h.link);
        });
        stream.on('response', (h) => seen.push(Number(h[':status'])));
        let text = '';
        stream.on('data', (c) => (text += c));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      });
      assert.deepEqual(seen, [103, 200]);
      assert.match(hint, /<\/style\.css>; rel=preload; as=style/);
      assert.equal(body, 'plain');
    } finally {
      session.close();
    }
  });
});

describe('Early Hints from a build manifest', () => {
  let dev: TestDev;
  before(async () => {
    const config = validateProxyConfig(
      {
        early_hints: {
          exclude: ['/w/private/*'],
          manifest: [{ path: '/w/*', entry: 'index.html', manifest: 'vite-manifest.json' }],
        },
      },
      'outpost.toml',
      join(import.meta.dirname, '..', 'src', 'frontend', 'hints', 'fixtures'),
    );
    dev = await startFixture('pages', { site: { earlyHints: config.earlyHints } });
  });
  after(() => dev.close());

  it("the entry's files are hinted on the very first request, before any response was seen", async () => {
    const hints: string[] = [];
    const res = await request(`${dev.url}/w/frag`, {
      onInfo: (info) => {
        if (info.statusCode === 103) hints.push(String(info.headers.link));
      },
    });
    await res.body.text();
    assert.equal(hints.length, 1);
    assert.match(hints[0], /<\/assets\/index-Ddp6DqVz\.js>; rel=preload; as=script; crossorigin/);
    assert.match(hints[0], /<\/assets\/index-DIRYncXI\.css>; rel=preload; as=style/);
  });

  it('an excluded path gets no 103', async () => {
    const infos: number[] = [];
    const res = await request(`${dev.url}/w/private/x`, { onInfo: (i) => infos.push(i.statusCode) });
    await res.body.text();
    assert.deepEqual(infos, []);
  });

  it('a manifest that is not there stops the start with a message naming it', async () => {
    const config = validateProxyConfig(
      { early_hints: { manifest: [{ path: '/', entry: 'index.html', manifest: 'dist/none.json' }] } },
      'outpost.toml',
      '/tmp',
    );
    await assert.rejects(
      startFixture('pages', { site: { earlyHints: config.earlyHints } }),
      /early_hints\.manifest: cannot read \/tmp\/dist\/none\.json .*run the build first/,
    );
  });
});
