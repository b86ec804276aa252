// CDN proxy mode against a real origin server started here: cache statuses over HTTP, a
// stampede of concurrent misses, stale-if-error with the origin down, unsafe methods, ranges,
// early hints, and the CLI entry.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { memoryObserver } from '../src/observability/index.ts';
import { type ProxyServer, startProxy } from '../src/pop/index.ts';

let origin: Server;
let originUrl: string;
let proxy: ProxyServer;
const hits = new Map<string, number>();
let down = false;

before(async () => {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (down) {
      res.writeHead(503);
      return void res.end('origin down');
    }
    if (path === '/slow') {
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
        res.end('slow but shared');
      }, 50);
      return;
    }
    if (path === '/stampede') {
      // The first answer is short-lived; the refresh is slow, so the 1,000 requests that find it
      // expired overlap it.
      setTimeout(
        () => {
          const maxAge = hits.get(path) === 1 ? 1 : 60;
          res.writeHead(200, { 'cache-control': `max-age=${maxAge}`, 'content-type': 'text/plain' });
          res.end(`version ${hits.get(path)}`);
        },
        hits.get(path) === 1 ? 0 : 300,
      );
      return;
    }
    if (path === '/sie') {
      res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=600' });
      return void res.end('served before the outage');
    }
    if (path === '/echo' && req.method !== 'GET') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${req.method} ${body}`);
      });
      return;
    }
    if (path === '/hints') {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      return void res.end('after the hints');
    }
    if (path === '/two-lines') {
      res.setHeader('cache-control', ['max-age=60', 'must-revalidate']);
      res.setHeader('x-tag', ['a', 'b']);
      return void res.end('repeated fields');
    }
    if (path === '/private') {
      res.writeHead(200, { 'cache-control': 'private' });
      return void res.end('per user');
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"a1"', 'cdn-cache-control': 'max-age=120' });
    res.end(`origin says ${path}`);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  proxy = await startProxy({ origin: originUrl, port: 0, observer: memoryObserver() });
});
after(async () => {
  await proxy.close();
  await new Promise((r) => origin.close(r));
});

describe('CDN proxy mode', () => {
  it('MISS, then HIT with Age; CDN-Cache-Control reaches the client (as Cloudflare passes it on); If-None-Match gets 304', async () => {
    const a = await fetch(`${proxy.url}/page`);
    assert.deepEqual(
      [a.status, a.headers.get('cf-cache-status'), await a.text()],
      [200, 'MISS', 'origin says /page'],
    );
    const b = await fetch(`${proxy.url}/page`);
    assert.equal(b.headers.get('cf-cache-status'), 'HIT');
    assert.ok(b.headers.get('age') !== null);
    assert.equal(b.headers.get('cdn-cache-control'), 'max-age=120');
    assert.equal(await b.text(), 'origin says /page');
    assert.equal(hits.get('/page'), 1);
    // fetch() adds Cache-Control: no-cache to conditional requests (Fetch standard), so the
    // cache revalidates, then answers the client's If-None-Match itself.
    const c = await fetch(`${proxy.url}/page`, { headers: { 'if-none-match': '"a1"' } });
    assert.equal(c.status, 304);
  });
  it('repeated response fields reach the client as they were sent, on a miss and a hit', async () => {
    const { request } = await import('undici');
    for (const status of ['MISS', 'HIT']) {
      const r = await request(`${proxy.url}/two-lines`);
      await r.body.text();
      assert.deepEqual(
        [r.headers['cf-cache-status'], r.headers['cache-control'], r.headers['x-tag']],
        [status, ['max-age=60', 'must-revalidate'], ['a', 'b']],
      );
      assert.ok(r.headers['cf-ray']);
    }
  });
  it('200 concurrent requests for a missing key reach the origin once', async () => {
    const all = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${proxy.url}/slow`).then((r) => r.text())),
    );
    assert.ok(all.every((t) => t === 'slow but shared'));
    assert.equal(hits.get('/slow'), 1);
  });
  it('1,000 concurrent requests for one expired key make exactly one origin request', async () => {
    const { Agent, request } = await import('undici');
    const agent = new Agent({ connections: 100 });
    try {
      await (await fetch(`${proxy.url}/stampede`)).text();
      await new Promise((r) => setTimeout(r, 1100));
      const bodies = await Promise.all(
        Array.from({ length: 1000 }, async () => {
          const r = await request(`${proxy.url}/stampede`, { dispatcher: agent });
          return r.body.text();
        }),
      );
      assert.equal(hits.get('/stampede'), 2, 'the first fill, then one refresh');
      assert.ok(bodies.every((b) => b === 'version 2'));
    } finally {
      await agent.close();
    }
  });
  it('serves stale within stale-if-error while the origin is down, and says STALE', async () => {
    await (await fetch(`${proxy.url}/sie`)).text();
    await new Promise((r) => setTimeout(r, 1100));
    down = true;
    try {
      const r = await fetch(`${proxy.url}/sie`);
      assert.deepEqual(
        [r.status, r.headers.get('cf-cache-status'), await r.text()],
        [200, 'STALE', 'served before the outage'],
      );
      const miss = await fetch(`${proxy.url}/never-cached`);
      assert.equal(miss.status, 503);
    } finally {
      down = false;
    }
  });
  it('does not store private responses (BYPASS); forwards unsafe methods with their bodies and invalidates (DYNAMIC)', async () => {
    for (let i = 0; i < 2; i++)
      assert.equal((await fetch(`${proxy.url}/private`)).headers.get('cf-cache-status'), 'BYPASS');
    await (await fetch(`${proxy.url}/echo`)).text();
    assert.equal((await fetch(`${proxy.url}/echo`)).headers.get('cf-cache-status'), 'HIT');
    const big = 'x'.repeat(200_000);
    const post = await fetch(`${proxy.url}/echo`, { method: 'POST', body: big });
    assert.deepEqual(
      [post.status, post.headers.get('cf-cache-status'), await post.text()],
      [200, 'DYNAMIC', `POST ${big}`],
    );
    const put = await fetch(`${proxy.url}/echo`, { method: 'PUT', body: 'y' });
    assert.equal(await put.text(), 'PUT y');
    assert.equal((await fetch(`${proxy.url}/echo`)).headers.get('cf-cache-status'), 'MISS');
  });
  it('answers Range requests from the cached response (206, 416)', async () => {
    const full = await fetch(`${proxy.url}/range`);
    const body = await full.text();
    const r = await fetch(`${proxy.url}/range`, { headers: { range: 'bytes=6-9' } });
    assert.deepEqual(
      [r.status, r.headers.get('content-range'), r.headers.get('cf-cache-status'), await r.text()],
      [206, `bytes 6-9/${body.length}`, 'HIT', body.slice(6, 10)],
    );
    const bad = await fetch(`${proxy.url}/range`, { headers: { range: 'bytes=9999-' } });
    assert.deepEqual([bad.status, bad.headers.get('content-range')], [416, `bytes */${body.length}`]);
    assert.equal(hits.get('/range'), 1);
  });
  it('passes the origin’s 103 Early Hints on to the client', async () => {
    const { request } = await import('undici');
    const infos: { statusCode: number; headers: Record<string, unknown> }[] = [];
    const r = await request(`${proxy.url}/hints`, { onInfo: (i) => infos.push(i) });
    assert.equal(await r.body.text(), 'after the hints');
    assert.deepEqual(
      infos.map((i) => [i.statusCode, i.headers.link]),
      [[103, '</style.css>; rel=preload; as=style']],
    );
  });
  it('`outpost dev --origin URL` in a folder without a project runs proxy mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-proxy-'));
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '..', 'bin', 'outpost.mjs'),
        'dev',
        dir,
        '--origin',
        originUrl,
        '--port',
        '0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /CDN proxy mode for \S+ on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const r = await fetch(`${url}/cli`);
      assert.deepEqual([r.headers.get('cf-cache-status'), await r.text()], ['MISS', 'origin says /cli']);
    } finally {
      child.kill('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
