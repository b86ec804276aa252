// fetch() subrequests through the PoP's HTTP cache (Cloudflare's default cache level and the
// cf cache options), purges from a worker (ctx.cache.purge, cache from cloudflare:workers) and
// from the worker-mode admin endpoint.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream } from './helpers.ts';

let dev: TestDev;
let up: Upstream;
let n = 0;

interface Answer {
  status: number;
  cache: string | null;
  body: string;
  redirected: boolean;
  url: string;
  setCookie: string | null;
  error?: string;
}

before(async () => {
  up = await startUpstream();
  // Every response counts its own hits, so a cached body shows which origin answer it was.
  const counted = (status: number, headers: Record<string, string>) => (req: { url?: string }, res: any) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.writeHead(status, headers);
    res.end(`${path} #${up.hits.get(path)}`);
  };
  for (const p of ['/page', '/app.js', '/static/a.css', '/static/b.css', '/tagged.js'])
    up.routes.set(p, counted(200, { 'cache-control': 'max-age=300' }));
  up.routes.set('/nostore', counted(200, { 'cache-control': 'no-store' }));
  up.routes.set('/missing', counted(404, {}));
  up.routes.set('/broken', counted(500, {}));
  up.routes.set('/moved.js', counted(301, { location: '/app.js', 'cache-control': 'max-age=300' }));
  dev = await startFixture('fetch-cache');
});
after(async () => {
  await dev.close();
  await up.close();
});

async function sub(
  path: string,
  cf?: unknown,
  extra = '',
  headers?: Record<string, string>,
): Promise<Answer> {
  const q = new URLSearchParams({ u: `${up.url}${path}` });
  if (cf !== undefined) q.set('cf', JSON.stringify(cf));
  if (headers) q.set('h', JSON.stringify(headers));
  const r = await fetch(`${dev.url}/fetch?${q}${extra}`);
  return (await r.json()) as Answer;
}

async function purge(options: unknown, via = 'ctx'): Promise<unknown> {
  const r = await fetch(`${dev.url}/purge?via=${via}`, { method: 'POST', body: JSON.stringify(options) });
  return r.json();
}

describe('fetch() through the PoP cache', () => {
  it("says on the client's Server-Timing what each subrequest went through", async () => {
    const timing = async (q: string) => (await fetch(`${dev.url}/${q}`)).headers.get('server-timing') ?? '';
    const u = encodeURIComponent(`${up.url}/static/b.css`);
    assert.match(
      await timing(`fetch?u=${u}`),
      /^worker;dur=[\d.]+;desc="fetch-cache", cache;dur=[\d.]+;desc="MISS \/static\/b.css", origin;dur=[\d.]+;desc="\/static\/b.css"$/,
    );
    assert.match(await timing(`fetch?u=${u}`), /, cache;dur=[\d.]+;desc="HIT \/static\/b.css"$/);
    assert.match(
      await timing(`fetch?u=${encodeURIComponent(`${up.url}/post-only`)}&method=POST`),
      /, origin;dur=[\d.]+;desc="POST \/post-only"$/,
    );
    assert.match(await timing('api-cache'), /, cache;dur=[\d.]+;desc="Cache API (HIT|MISS) \/item"$/);
  });
  it('by default caches only what Cloudflare caches by default (static extensions)', async () => {
    const a = [await sub('/page'), await sub('/page')];
    assert.deepEqual(
      a.map((x) => [x.cache, x.body]),
      [
        ['DYNAMIC', '/page #1'],
        ['DYNAMIC', '/page #2'],
      ],
    );
    const b = [await sub('/app.js'), await sub('/app.js')];
    assert.deepEqual(
      b.map((x) => [x.cache, x.body]),
      [
        ['MISS', '/app.js #1'],
        ['HIT', '/app.js #1'],
      ],
    );
  });
  it('cacheEverything and cacheTtl cache what the default would not, whatever the headers say', async () => {
    await sub('/page', { cacheEverything: true });
    assert.equal((await sub('/page', { cacheEverything: true })).cache, 'HIT');
    await sub('/nostore', { cacheTtl: 60 });
    const forced = await sub('/nostore', { cacheTtl: 60 });
    assert.deepEqual([forced.cache, forced.body], ['HIT', '/nostore #1']);
  });
  it('cacheTtlByStatus picks a TTL per status; errors are not forced into the cache', async () => {
    const cf = { cacheTtlByStatus: { '200-299': 60, 404: 30, '500-599': 0 } };
    await sub('/missing', cf);
    const nf = await sub('/missing', cf);
    assert.deepEqual([nf.status, nf.cache], [404, 'HIT']);
    await sub('/broken', cf);
    const e = await sub('/broken', cf);
    assert.deepEqual(
      [e.status, e.cache, e.body],
      [500, 'EXPIRED', '/broken #2'],
      'a 0 TTL stores it already expired',
    );
  });
  it('cacheKey makes different URLs share an entry', async () => {
    n++;
    const cf = { cacheEverything: true, cacheKey: `shared-${n}` };
    const first = await sub('/page?utm=a', cf);
    const second = await sub('/page?utm=b', cf);
    assert.deepEqual([second.cache, second.body], ['HIT', first.body]);
  });
  it('follows redirects hop by hop through the cache; manual returns the 3xx', async () => {
    const r = await sub('/moved.js');
    assert.deepEqual([r.status, r.redirected, r.url.endsWith('/app.js')], [200, true, true]);
    const manual = await sub('/moved.js', undefined, '&redirect=manual');
    assert.deepEqual([manual.status, manual.cache], [301, 'HIT']);
  });
  it('rejects bad cf cache options with a TypeError naming the field', async () => {
    assert.match(
      (await sub('/app.js', { cacheTtl: 'soon' })).error ?? '',
      /TypeError: fetch: cf\.cacheTtl must be an integer/,
    );
    assert.match(
      (await sub('/app.js', { cacheTtlByStatus: { '2xx': 5 } })).error ?? '',
      /TypeError: fetch: cf\.cacheTtlByStatus: "2xx" is not a status code/,
    );
    assert.match(
      (await sub('/app.js', { cacheTags: ['a,b'] })).error ?? '',
      /cf\.cacheTags must be an array/,
    );
    assert.match((await sub('/app.js', 5)).error ?? '', /TypeError: fetch: init\.cf must be an object/);
  });
});

describe('fetch() subrequests coalesced through the cache never get another user’s response', () => {
  // Issue 13 item 3: 50 workers' subrequests at once, each with its user's cookie or
  // credentials; the origin builds the page from them. Only what a shared cache could store
  // and use for each request may be shared (RFC 9111 §3, §3.5, §4.1).
  const kinds: Record<string, (user: string) => Record<string, string>> = {
    '/me-private.js': () => ({ 'cache-control': 'private, max-age=60' }),
    '/me-no-store.js': () => ({ 'cache-control': 'private, no-store' }),
    '/me-cookie.js': (u) => ({ 'cache-control': 'max-age=60', 'set-cookie': `session=${u}` }),
    '/me-auth.js': () => ({ 'cache-control': 'max-age=60' }),
    '/me-vary.js': () => ({ 'cache-control': 'max-age=60', vary: 'cookie' }),
  };
  const users = Array.from({ length: 50 }, (_, i) => `u${i}`);
  for (const [path, respond] of Object.entries(kinds))
    it(`${path}: 50 concurrent users each get their own page`, async () => {
      up.routes.set(path, (req, res) => {
        const user =
          /user=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ??
          /Bearer (\w+)/.exec(req.headers.authorization ?? '')?.[1] ??
          'anonymous';
        setTimeout(() => {
          res.writeHead(200, respond(user));
          res.end(`page of ${user}`);
        }, 40);
      });
      const got = await Promise.all(
        users.map((u) =>
          sub(
            path,
            undefined,
            '',
            path === '/me-auth.js' ? { authorization: `Bearer ${u}` } : { cookie: `user=${u}` },
          ),
        ),
      );
      assert.deepEqual(
        got.map((g) => g.body),
        users.map((u) => `page of ${u}`),
      );
      assert.equal(up.hits.get(path), 50);
      if (path === '/me-cookie.js')
        assert.deepEqual(
          got.map((g) => [g.cache, g.setCookie]),
          users.map((u) => ['BYPASS', `session=${u}`]),
        );
    });
});

describe('purge from a worker and from the admin endpoint', () => {
  it('ctx.cache.purge by tag and cache.purge by path prefix remove the worker’s entries', async () => {
    await sub('/tagged.js', { cacheTags: ['product-7'] });
    assert.equal((await sub('/tagged.js', { cacheTags: ['product-7'] })).cache, 'HIT');
    assert.deepEqual(await purge({ tags: ['product-7'] }), { success: true, errors: [] });
    assert.equal((await sub('/tagged.js')).cache, 'MISS');
    await sub('/static/a.css');
    await sub('/static/b.css');
    assert.equal((await sub('/static/a.css')).cache, 'HIT');
    assert.deepEqual(await purge({ pathPrefixes: ['/static/'] }, 'module'), { success: true, errors: [] });
    assert.deepEqual(
      [(await sub('/static/a.css')).cache, (await sub('/static/b.css')).cache],
      ['MISS', 'MISS'],
    );
  });
  it('a worker’s purge by tag reaches its Cache API entries too', async () => {
    assert.equal(await (await fetch(`${dev.url}/api-cache?op=put`)).text(), 'stored');
    assert.deepEqual(await purge({ tags: ['api'] }), { success: true, errors: [] });
    assert.equal(await (await fetch(`${dev.url}/api-cache`)).text(), 'none');
  });
  it('bad purge options and invalidate() fail clearly', async () => {
    assert.match(
      ((await purge({})) as { error: string }).error,
      /give tags, pathPrefixes or purgeEverything/,
    );
    assert.match(String(((await purge({ tags: 'x' })) as { error: string }).error), /tags must be an array/);
    const inv = (await (await fetch(`${dev.url}/invalidate`)).json()) as { error: string };
    assert.match(inv.error, /cache\.invalidate\(\) is not supported by Outpost yet/);
  });
  it('the admin endpoint purges a worker’s subrequest cache, with the token only', async () => {
    await sub('/app.js');
    assert.equal((await sub('/app.js')).cache, 'HIT');
    const call = (token: string) =>
      fetch(`${dev.url}/__outpost/cache/purge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ prefixes: [`${up.url}/app`], worker: 'fetch-cache' }),
      });
    assert.equal((await call('nope')).status, 401);
    const ok = (await (await call(dev.adminToken)).json()) as { success: boolean; purged: number };
    assert.deepEqual([ok.success, ok.purged > 0], [true, true]);
    assert.equal((await sub('/app.js')).cache, 'MISS');
  });
});
