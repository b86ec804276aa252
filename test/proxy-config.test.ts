// CDN proxy mode with an outpost.toml: cache policies by path, the disk store across a restart,
// the authenticated purge endpoint and `outpost cache purge`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadProxyConfig } from '../src/config/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { startProxy } from '../src/pop/index.ts';

type Answer = { errors: { message: string }[] };
const BIN = join(import.meta.dirname, '..', 'bin', 'outpost.mjs');
let origin: Server;
let originUrl: string;
const hits = new Map<string, number>();
let down = false;

before(async () => {
  origin = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (down) {
      res.writeHead(502);
      return void res.end('down');
    }
    // No freshness information at all: only a policy makes these cacheable.
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-tag': path.split('/')[1] ?? '' });
    res.end(`v${hits.get(path)} ${path}`);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => origin.close(r)));

/** A proxy in front of the test origin, with the project's outpost.toml. */
function proxyFor(dir: string) {
  return startProxy({ origin: originUrl, port: 0, config: loadProxyConfig(dir), observer: memoryObserver() });
}

function project(toml: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-proxy-config-'));
  writeFileSync(join(dir, 'outpost.toml'), toml);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const POLICIES = `
[[cache.policies]]
path = "/static/*"
edge_ttl = 3600
browser_ttl = 600
stale_if_error = 86400
tags = ["static"]

[[cache.policies]]
path = "/api/*"
edge_ttl = 60
browser_ttl = 0
bypass_cookies = ["session"]

[[cache.policies]]
path = "/html/*"
edge_ttl = 0
`;

describe('CDN proxy mode with outpost.toml', () => {
  it('applies the first matching policy: edge TTL, browser TTL, bypass cookie, edge_ttl 0', async () => {
    const p = project(POLICIES);
    const proxy = await proxyFor(p.dir);
    try {
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${proxy.url}${path}`, { headers });
      await (await get('/static/app.js')).text();
      const hit = await get('/static/app.js');
      assert.deepEqual(
        [hit.headers.get('cf-cache-status'), hit.headers.get('cache-control'), await hit.text()],
        ['HIT', 'public, max-age=600, stale-if-error=86400', 'v1 /static/app.js'],
      );
      await (await get('/api/items')).text();
      const withCookie = await get('/api/items', { cookie: 'session=abc' });
      assert.deepEqual(
        [
          withCookie.headers.get('cf-cache-status'),
          withCookie.headers.get('cache-control'),
          await withCookie.text(),
        ],
        ['BYPASS', 'private, no-store', 'v2 /api/items'],
      );
      assert.equal((await get('/api/items')).headers.get('cf-cache-status'), 'HIT');
      await (await get('/html/page')).text();
      assert.equal((await get('/html/page')).headers.get('cf-cache-status'), 'BYPASS');
      await (await get('/other')).text();
      const other = await get('/other');
      assert.deepEqual(
        [other.headers.get('cf-cache-status'), await other.text()],
        ['EXPIRED', 'v2 /other'],
        'no policy, no freshness: stored stale (RFC 9111 §4.2.2), never a HIT',
      );
    } finally {
      await proxy.close();
      p.cleanup();
    }
  });
  it('the disk store keeps entries across a restart; purge by tag needs the admin token', async () => {
    const p = project(
      `[cache]\nstore = "disk"\n[admin]\ntoken = "a-test-token-of-enough-length"\n${POLICIES}`,
    );
    const config = loadProxyConfig(p.dir);
    try {
      let proxy = await startProxy({ origin: originUrl, port: 0, config, observer: memoryObserver() });
      await (await fetch(`${proxy.url}/static/disk.css`)).text();
      await proxy.close();
      // Same port: the Host (and so the cache key) is the same as before the restart.
      proxy = await startProxy({ origin: originUrl, port: proxy.port, config, observer: memoryObserver() });
      const again = await fetch(`${proxy.url}/static/disk.css`);
      assert.deepEqual(
        [again.headers.get('cf-cache-status'), await again.text()],
        ['HIT', 'v1 /static/disk.css'],
      );

      const purge = (body: unknown, token = 'a-test-token-of-enough-length') =>
        fetch(`${proxy.url}/__outpost/cache/purge`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const refused = await purge({ tags: ['static'] }, 'wrong-token');
      assert.equal(refused.status, 401);
      const bad = await purge({ files: ['not a url'] });
      assert.deepEqual(
        [bad.status, ((await bad.json()) as Answer).errors[0].message],
        [400, '"files[0]" must be an http(s) URL, received "not a url"'],
      );
      const nothing = await purge({});
      assert.match(((await nothing.json()) as Answer).errors[0].message, /nothing to purge/);
      const ok = await purge({ tags: ['static'] });
      assert.deepEqual(await ok.json(), {
        success: true,
        purged: 1,
        caches: 1,
        byCache: [{ tier: 'pop', id: '', purged: 1 }],
      });
      assert.equal((await fetch(`${proxy.url}/static/disk.css`)).headers.get('cf-cache-status'), 'MISS');
      await proxy.close();
    } finally {
      p.cleanup();
    }
  });
  it('serves every cached key stale within its policy stale_if_error while the origin is down, caching no error', async () => {
    const p = project(`[[cache.policies]]\npath = "/sie/*"\nedge_ttl = 1\nstale_if_error = 600\n`);
    const proxy = await proxyFor(p.dir);
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `/sie/${i}`);
      for (const k of keys) await (await fetch(`${proxy.url}${k}`)).text();
      await new Promise((r) => setTimeout(r, 1100));
      down = true;
      const statuses = await Promise.all(
        keys.map(async (k) => (await fetch(`${proxy.url}${k}`)).headers.get('cf-cache-status')),
      );
      assert.ok(
        statuses.every((s) => s === 'STALE'),
        statuses.join(),
      );
      const fresh = await fetch(`${proxy.url}/sie/new`);
      assert.equal(fresh.status, 502);
      down = false;
      const after = await fetch(`${proxy.url}/sie/new`);
      assert.deepEqual(
        [after.status, after.headers.get('cf-cache-status')],
        [200, 'MISS'],
        'the error was not cached',
      );
    } finally {
      down = false;
      await proxy.close();
      p.cleanup();
    }
  });
  it('names the bad key in outpost.toml', () => {
    const cases: [string, RegExp][] = [
      ['[cache]\nstore = "redis"', /"cache\.store" must be "memory" or "disk", received "redis"/],
      ['[[cache.policies]]\npath = "static/*"', /"cache\.policies\[0\]\.path" must be a path pattern/],
      [
        '[[cache.policies]]\npath = "/a"\nedge_ttl = -5',
        /"cache\.policies\[0\]\.edge_ttl" must be a whole number of seconds/,
      ],
      ['[[cache.policies]]\npath = "/a"\njitter = 2', /"cache\.policies\[0\]\.jitter" must be a fraction/],
      [
        '[[cache.policies]]\npath = "/a"\nedge_tll = 5',
        /"cache\.policies\[0\]\.edge_tll" must be one of the known keys/,
      ],
      ['[admin]\ntoken = "short"', /"admin\.token" must be a string of at least 16 characters/],
      ['origin = "ftp://x"', /"origin" must be an http\(s\) URL/],
    ];
    for (const [toml, re] of cases) {
      const p = project(toml);
      try {
        assert.throws(() => loadProxyConfig(p.dir, {}), re);
      } finally {
        p.cleanup();
      }
    }
  });
  it('`outpost cache purge` finds the running proxy through .outpost/admin.json', async () => {
    const p = project(`origin = "${originUrl}"\n${POLICIES}`);
    const child = spawn(process.execPath, [BIN, 'dev', p.dir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /CDN proxy mode for \S+ on (http:\/\/\S+) \(memory cache, 3 cache policies\)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      assert.equal(JSON.parse(readFileSync(join(p.dir, '.outpost', 'admin.json'), 'utf8')).url, url);
      await (await fetch(`${url}/static/cli.js`)).text();
      assert.equal((await fetch(`${url}/static/cli.js`)).headers.get('cf-cache-status'), 'HIT');
      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, [
        BIN,
        'cache',
        'purge',
        p.dir,
        '--url',
        `${url}/static/cli.js`,
      ]);
      assert.match(stdout, /purged 1 entry from 1 cache/);
      assert.equal((await fetch(`${url}/static/cli.js`)).headers.get('cf-cache-status'), 'MISS');
      await assert.rejects(run(process.execPath, [BIN, 'cache', 'purge', p.dir]), /say what to purge/);
      await assert.rejects(
        run(process.execPath, [
          BIN,
          'cache',
          'purge',
          p.dir,
          '--tag',
          'x',
          '--token',
          'wrong-token-wrong-token',
        ]),
        /purge refused \(401\)/,
      );
    } finally {
      child.kill('SIGINT');
      p.cleanup();
    }
  });
});
