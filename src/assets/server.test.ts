import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { AssetsConfig } from '../config/index.ts';
import { AssetServer } from './server.ts';

function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-assets-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function server(dir: string, over: Partial<AssetsConfig> = {}, hasWorker = false): AssetServer {
  return new AssetServer(
    {
      directory: dir,
      binding: undefined,
      htmlHandling: 'auto-trailing-slash',
      notFoundHandling: 'none',
      runWorkerFirst: false,
      ...over,
    },
    hasWorker,
  );
}

async function get(s: AssetServer, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const r = await s.fetch({ method, url: `http://site.test${path}`, header: (n) => headers[n] });
  const h = new Map(r.headers);
  const body =
    r.body instanceof Uint8Array ? new TextDecoder().decode(r.body) : r.body === null ? '' : '(stream)';
  return { status: r.status, location: h.get('location'), body, headers: h };
}

const FILES = { 'file.html': 'FILE', 'folder/index.html': 'FOLDER', 'index.html': 'ROOT', 'a.css': 'body{}' };

// Cloudflare's documented routing tables (https://developers.cloudflare.com/workers/static-assets/routing/advanced/html-handling/):
// each request path → 200 with a file, 307 to a path, or 404.
const TABLES: Record<AssetsConfig['htmlHandling'], [string, string | number][]> = {
  'auto-trailing-slash': [
    ['/file', 'FILE'],
    ['/file.html', 307],
    ['/file/', 307],
    ['/folder', 307],
    ['/folder/', 'FOLDER'],
    ['/folder/index.html', 307],
    ['/', 'ROOT'],
    ['/index.html', 307],
  ],
  'force-trailing-slash': [
    ['/file', 307],
    ['/file.html', 307],
    ['/file/', 'FILE'],
    ['/folder', 307],
    ['/folder/', 'FOLDER'],
    ['/folder/index.html', 307],
  ],
  'drop-trailing-slash': [
    ['/file', 'FILE'],
    ['/file.html', 307],
    ['/file/', 307],
    ['/folder', 'FOLDER'],
    ['/folder/', 307],
    ['/folder/index.html', 307],
  ],
  none: [
    ['/file', 404],
    ['/file.html', 'FILE'],
    ['/file/', 404],
    ['/folder', 404],
    ['/folder/', 404],
    ['/folder/index.html', 'FOLDER'],
  ],
};

const LOCATIONS: Record<string, Record<string, string>> = {
  'auto-trailing-slash': {
    '/file.html': '/file',
    '/file/': '/file',
    '/folder': '/folder/',
    '/folder/index.html': '/folder/',
    '/index.html': '/',
  },
  'force-trailing-slash': {
    '/file': '/file/',
    '/file.html': '/file/',
    '/folder': '/folder/',
    '/folder/index.html': '/folder/',
  },
  'drop-trailing-slash': {
    '/file.html': '/file',
    '/file/': '/file',
    '/folder/': '/folder',
    '/folder/index.html': '/folder',
  },
  none: {},
};

describe('static assets: html_handling', () => {
  const dir = site(FILES);
  for (const [mode, table] of Object.entries(TABLES)) {
    it(`${mode} answers as Cloudflare documents`, async () => {
      const s = server(dir, { htmlHandling: mode as AssetsConfig['htmlHandling'] });
      for (const [path, want] of table) {
        const r = await get(s, path);
        if (typeof want === 'string') assert.deepEqual([path, r.status, r.body], [path, 200, want]);
        else assert.deepEqual([path, r.status], [path, want]);
        if (want === 307) assert.equal(r.location, LOCATIONS[mode][path], path);
      }
    });
  }
  it('a redirect keeps the query string', async () => {
    assert.equal((await get(server(dir), '/folder?x=1')).location, '/folder/?x=1');
  });
});

describe('static assets: not_found_handling', () => {
  const dir = site({
    'index.html': 'APP',
    '404.html': 'TOP 404',
    'docs/404.html': 'DOCS 404',
    'docs/a.html': 'A',
  });
  it('none: an empty 404', async () => {
    const r = await get(server(dir), '/missing');
    assert.deepEqual([r.status, r.body], [404, '']);
  });
  it('404-page: the nearest 404.html above the path, with status 404', async () => {
    const s = server(dir, { notFoundHandling: '404-page' });
    assert.deepEqual(
      [(await get(s, '/docs/x/y')).status, (await get(s, '/docs/x/y')).body],
      [404, 'DOCS 404'],
    );
    assert.equal((await get(s, '/other/z')).body, 'TOP 404');
  });
  it('single-page-application: index.html with 200 for any path without a file', async () => {
    const s = server(dir, { notFoundHandling: 'single-page-application' });
    const r = await get(s, '/app/route/42');
    assert.deepEqual([r.status, r.body], [200, 'APP']);
    assert.equal((await get(s, '/docs/a')).body, 'A');
  });
  it('with a worker, unmatched requests go to it; SPA navigations still get index.html', async () => {
    const s = server(dir, { notFoundHandling: 'single-page-application' }, true);
    const ask = (path: string, headers: Record<string, string> = {}) =>
      s.beforeWorker({ method: 'GET', url: `http://x${path}`, header: (n) => headers[n] });
    assert.equal(await ask('/api/users'), null);
    assert.equal((await ask('/app', { 'sec-fetch-mode': 'navigate' }))?.status, 200);
    assert.equal((await ask('/docs/a'))?.status, 200);
    assert.equal(
      await s.beforeWorker({ method: 'POST', url: 'http://x/docs/a', header: () => undefined }),
      null,
    );
  });
});

describe('static assets: run_worker_first', () => {
  const dir = site({ 'api/docs.html': 'DOCS', 'app.js': 'js' });
  const ask = (s: AssetServer, path: string) =>
    s.beforeWorker({ method: 'GET', url: `http://x${path}`, header: () => undefined });
  it('true: the worker runs for every request', async () => {
    assert.equal(await ask(server(dir, { runWorkerFirst: true }, true), '/app.js'), null);
  });
  it('route patterns, with "!" exclusions', async () => {
    const s = server(dir, { runWorkerFirst: ['/api/*', '!/api/docs'] }, true);
    assert.equal(await ask(s, '/api/users'), null);
    assert.equal((await ask(s, '/api/docs'))?.status, 200);
    assert.equal((await ask(s, '/app.js'))?.status, 200);
  });
});

describe('static assets: _redirects and _headers', () => {
  const dir = site({
    'index.html': 'HOME',
    'new.html': 'NEW',
    'blog/post.html': 'POST',
    'shop.html': 'SHOP',
    _redirects: [
      '# comments are ignored',
      '/old /new 301',
      '/blog/* /articles/:splat',
      '/users/:id /profile?id=:id 302',
      '/store /shop.html 200',
      '/new /elsewhere',
      'bad line here too many parts',
    ].join('\n'),
    _headers: [
      '/*',
      '  X-Frame-Options: DENY',
      '  X-Team: web',
      '/shop',
      '  ! X-Frame-Options',
      '  X-Team: shop',
    ].join('\n'),
  });
  it('redirects with status, splat and placeholders, before the files', async () => {
    const s = server(dir);
    assert.deepEqual([(await get(s, '/old')).status, (await get(s, '/old')).location], [301, '/new']);
    assert.equal((await get(s, '/blog/post')).location, '/articles/post');
    assert.equal((await get(s, '/users/7')).location, '/profile?id=7');
    // A rule whose source is a file still wins: redirects come first.
    assert.equal((await get(s, '/new')).location, '/elsewhere');
  });
  it('a 200 rule serves the target asset under the requested path', async () => {
    const r = await get(server(dir), '/store');
    assert.deepEqual([r.status, r.body], [200, 'SHOP']);
  });
  it('headers rules add, merge and detach headers on asset responses', async () => {
    const s = server(dir);
    const home = await get(s, '/');
    assert.equal(home.headers.get('x-frame-options'), 'DENY');
    assert.equal(home.headers.get('x-team'), 'web');
    const shop = await get(s, '/shop', {}, 'HEAD');
    assert.equal(shop.status, 200);
    assert.equal(shop.headers.get('x-frame-options'), undefined);
    assert.equal(shop.headers.get('x-team'), 'web, shop');
  });
  it('the rule files themselves are not served', async () => {
    assert.equal((await get(server(dir), '/_redirects')).status, 404);
    assert.equal((await get(server(dir), '/_headers')).status, 404);
  });
});

describe('static assets: HTTP', () => {
  const dir = site({
    'a.css': 'body{}',
    'index.html': '<h1>',
    'data.json': '{}',
    '.assetsignore': 'secret.txt\n',
    'secret.txt': 's',
  });
  it('content types, ETag, Cache-Control and Content-Length', async () => {
    const r = await get(server(dir), '/a.css');
    assert.equal(r.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.match(r.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(r.headers.get('content-length'), '6');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=0, must-revalidate');
    assert.equal(
      (await get(server(dir), '/data.json')).headers.get('content-type'),
      'application/json; charset=utf-8',
    );
  });
  it('If-None-Match answers 304 without a body', async () => {
    const s = server(dir);
    const etag = (await get(s, '/a.css')).headers.get('etag') as string;
    const r = await get(s, '/a.css', { 'if-none-match': `W/${etag}` });
    assert.deepEqual([r.status, r.body], [304, '']);
    assert.equal((await get(s, '/a.css', { 'if-none-match': '"other"' })).status, 200);
  });
  it('HEAD has the headers and no body; other methods 405', async () => {
    const s = server(dir);
    const head = await get(s, '/a.css', {}, 'HEAD');
    assert.deepEqual([head.status, head.body, head.headers.get('content-length')], [200, '', '6']);
    assert.equal((await get(s, '/a.css', {}, 'POST')).status, 405);
  });
  it('.assetsignore hides what it names', async () => {
    assert.equal((await get(server(dir), '/secret.txt')).status, 404);
    assert.equal((await get(server(dir), '/.assetsignore')).status, 404);
  });
  it('percent-encoded paths name their files; undecodable ones are 400', async () => {
    const d = site({ 'my file.txt': 'x' });
    assert.equal((await get(server(d), '/my%20file.txt')).status, 200);
    assert.equal((await get(server(d), '/%E0%A4%A')).status, 400);
  });
});
