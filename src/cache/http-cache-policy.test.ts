import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Origin } from './http-cache.ts';
import { MemoryStore } from './store/memory.ts';
import { enc, header, origin, setup, text } from './test-helpers.ts';

describe('HttpCache: ranges, interim responses, request bodies, large bodies', () => {
  it('answers Range from a stored response (206, 416) and on a miss fetches the whole body once', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({
      headers: ['cache-control', 'max-age=60', 'content-length', '11'],
      text: '01234567890',
    }));
    const miss = await cache.handle(get('https://o.example/r', ['range', 'bytes=0-1']), o.fn);
    assert.deepEqual([miss.status, miss.cacheStatus, await text(miss)], [206, 'MISS', '01']);
    assert.equal(header(miss, 'content-range'), 'bytes 0-1/11');
    assert.equal(o.seen[0].includes('range'), false, 'the origin is asked for the whole response');
    const hit = await cache.handle(get('https://o.example/r', ['range', 'bytes=-1']), o.fn);
    assert.deepEqual(
      [hit.status, hit.cacheStatus, await text(hit), header(hit, 'content-length')],
      [206, 'HIT', '0', '1'],
    );
    const bad = await cache.handle(get('https://o.example/r', ['range', 'bytes=20-']), o.fn);
    assert.deepEqual([bad.status, header(bad, 'content-range'), bad.body], [416, 'bytes */11', null]);
    const whole = await cache.handle(get('https://o.example/r', ['range', 'bytes=0-1,4-5']), o.fn);
    assert.deepEqual([whole.status, await text(whole)], [200, '01234567890']);
    assert.equal(o.seen.length, 1);
  });
  it('passes 103 Early Hints to the client that caused the origin request, and never stores them', async () => {
    const { cache, get } = setup();
    const hints: [number, string[]][] = [];
    const withHints: Origin = async (req) => {
      req.onInterim?.(103, ['link', '</app.css>; rel=preload']);
      return { status: 200, statusText: 'OK', headers: ['cache-control', 'max-age=60'], body: null };
    };
    await cache.handle({ ...get(), onInterim: (s, h) => hints.push([s, h]) }, withHints);
    await cache.handle({ ...get(), onInterim: (s, h) => hints.push([s, h]) }, withHints);
    assert.deepEqual(hints, [[103, ['link', '</app.css>; rel=preload']]]);
  });
  it('forwards an unsafe request with its body and invalidates the URL (DYNAMIC)', async () => {
    const { cache, get } = setup();
    let received = '';
    const o: Origin = async (req) => {
      if (req.body) for await (const c of req.body) received += new TextDecoder().decode(c);
      return { status: 200, statusText: 'OK', headers: ['cache-control', 'max-age=60'], body: null };
    };
    await cache.handle(get(), o);
    const post = await cache.handle(
      {
        method: 'POST',
        url: 'https://o.example/a',
        headers: [],
        body: (async function* () {
          yield enc('payload');
        })(),
      },
      o,
    );
    assert.deepEqual([post.cacheStatus, received], ['DYNAMIC', 'payload']);
    assert.equal((await cache.handle(get(), o)).cacheStatus, 'MISS');
  });
  it('streams a body larger than maxEntryBytes through without storing it', async () => {
    const { cache, get } = setup({ maxEntryBytes: 1000 });
    const big: Origin = async () => ({
      status: 200,
      statusText: 'OK',
      headers: ['cache-control', 'max-age=60'],
      body: (async function* () {
        for (let i = 0; i < 5; i++) yield new Uint8Array(400).fill(65 + i);
      })(),
    });
    assert.equal((await text(await cache.handle(get(), big))).length, 2000);
    assert.equal((await cache.store.stats()).entries, 0);
    assert.throws(() => setup({ maxEntryBytes: 0 }), /maxEntryBytes must be a positive integer, received 0/);
  });
});

describe('HttpCache: policies', () => {
  it('a forced edge TTL caches what the headers forbid and expires on its own clock', async () => {
    const { cache, get, tick } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'no-cache, max-age=0'], text: 'x' }));
    const p = { edgeTtl: 30 };
    const first = await cache.handle(get(), o.fn, p);
    assert.equal(first.cacheStatus, 'MISS');
    await text(first);
    tick(29);
    assert.equal((await cache.handle(get(), o.fn, p)).cacheStatus, 'HIT');
    tick(2);
    assert.equal((await cache.handle(get(), o.fn, p)).cacheStatus, 'EXPIRED');
  });
  it('negative TTLs and Set-Cookie are not cached; ttlByStatus picks per status', async () => {
    const { cache, get } = setup();
    const notFound = origin(() => ({ status: 404, headers: [], text: 'nf' }));
    const p = { ttlByStatus: [{ from: 404, to: 404, ttl: 60 }], edgeTtl: -1 };
    await text(await cache.handle(get('https://o.example/404'), notFound.fn, p));
    assert.equal((await cache.handle(get('https://o.example/404'), notFound.fn, p)).cacheStatus, 'HIT');
    const ok = origin(() => ({ headers: ['cache-control', 'max-age=60'], text: 'ok' }));
    assert.equal((await cache.handle(get('https://o.example/ok'), ok.fn, p)).cacheStatus, 'BYPASS');
    const cookie = origin(() => ({ headers: ['set-cookie', 'a=1'], text: 'c' }));
    assert.equal(
      (await cache.handle(get('https://o.example/c'), cookie.fn, { edgeTtl: 60 })).cacheStatus,
      'BYPASS',
    );
  });
  it('bypass cookies skip the cache; the browser TTL replaces Cache-Control downstream', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'max-age=60'], text: 'x' }));
    const p = { bypassCookies: ['session'], browserTtl: 0 };
    const a = await cache.handle(get('https://o.example/a', ['cookie', 'session=abc']), o.fn, p);
    assert.deepEqual([a.cacheStatus, header(a, 'cache-control')], ['BYPASS', 'private, no-store']);
    await text(await cache.handle(get(), o.fn, p));
    assert.equal((await cache.handle(get(), o.fn, p)).cacheStatus, 'HIT');
    assert.equal(o.seen.length, 2);
  });
  it('a policy stale-if-error window serves STALE when the origin is down', async () => {
    const { cache, get, tick } = setup();
    let up = true;
    const o: Origin = async () => {
      if (!up) throw new Error('connect ECONNREFUSED');
      return { status: 200, statusText: 'OK', headers: ['cache-control', 'max-age=10'], body: null };
    };
    const p = { staleIfError: 300 };
    await cache.handle(get(), o, p);
    tick(100);
    up = false;
    assert.equal((await cache.handle(get(), o, p)).cacheStatus, 'STALE');
    tick(300);
    await assert.rejects(cache.handle(get(), o, p), /ECONNREFUSED/);
  });
  it('TTL jitter spreads expiry of entries stored together', async () => {
    let r = 0;
    const values = [0, 0.5, 0.99];
    const { cache, get, tick } = setup({ random: () => values[r++ % 3] });
    const o = origin(() => ({ headers: ['cache-control', 'max-age=100'], text: 'x' }));
    const p = { jitter: 0.1 };
    for (const n of [1, 2, 3]) await text(await cache.handle(get(`https://o.example/${n}`), o.fn, p));
    tick(95);
    const statuses = [];
    for (const n of [1, 2, 3])
      statuses.push((await cache.handle(get(`https://o.example/${n}`), o.fn, p)).cacheStatus);
    assert.deepEqual(statuses, ['EXPIRED', 'HIT', 'HIT']);
  });
  it('the default cache level (worker subrequests) caches static extensions only; cacheKey shares entries', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'max-age=60'], text: 'x' }));
    const sub = { defaultCacheLevel: true };
    await text(await cache.handle(get('https://o.example/page'), o.fn, sub));
    assert.equal((await cache.handle(get('https://o.example/page'), o.fn, sub)).cacheStatus, 'DYNAMIC');
    await text(await cache.handle(get('https://o.example/a.css'), o.fn, sub));
    assert.equal((await cache.handle(get('https://o.example/a.css'), o.fn, sub)).cacheStatus, 'HIT');
    const keyed = { cacheEverything: true, cacheKey: 'https://o.example/shared' };
    await text(await cache.handle(get('https://o.example/x?utm=1'), o.fn, keyed));
    assert.equal((await cache.handle(get('https://o.example/x?utm=2'), o.fn, keyed)).cacheStatus, 'HIT');
  });
});

describe('HttpCache: purge', () => {
  async function filled() {
    const s = setup({ store: new MemoryStore() });
    const o = origin((_n) => ({
      headers: ['cache-control', 'max-age=60', 'cache-tag', 'blog,post'],
      text: 'x',
    }));
    for (const u of ['https://o.example/blog/1', 'https://o.example/blog/2', 'https://o.example/shop'])
      await text(await s.cache.handle(s.get(u), o.fn));
    await text(await s.cache.handle(s.get('https://o.example/blog/1'), o.fn, { namespace: 'worker-a' }));
    await text(await s.cache.handle(s.get('https://o.example/blog/1'), o.fn, { namespace: 'worker-b' }));
    return s;
  }
  it('by URL, prefix, tag and everything; a namespace limits what it reaches', async () => {
    const s = await filled();
    assert.equal(await s.cache.purge({ urls: ['https://o.example/shop'] }), 1);
    assert.equal(await s.cache.purge({ prefixes: ['https://o.example/blog/'] }), 2);
    assert.equal((await s.cache.store.stats()).entries, 2);
    assert.equal(await s.cache.purge({ tags: ['post'], namespace: 'worker-a' }), 1);
    assert.equal(await s.cache.purge({ everything: true, namespace: 'worker-a' }), 0);
    assert.equal(await s.cache.purge({ everything: true }), 1);
  });
  it('an operator tag purge reaches every namespace', async () => {
    const s = await filled();
    assert.equal(await s.cache.purge({ tags: ['blog'] }), 5);
  });
});
