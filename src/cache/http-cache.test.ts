import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Origin } from './http-cache.ts';
import { header, origin, setup, slowOrigin, text } from './test-helpers.ts';

describe('HttpCache', () => {
  it('MISS then HIT with Age; HEAD is answered from the GET entry without a body', async () => {
    const { cache, tick, get } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'max-age=60'], text: 'hello' }));
    const a = await cache.handle(get(), o.fn);
    assert.equal(a.cacheStatus, 'MISS');
    assert.equal(await text(a), 'hello');
    tick(10);
    const b = await cache.handle(get(), o.fn);
    assert.deepEqual([b.cacheStatus, await text(b), header(b, 'age')], ['HIT', 'hello', '10']);
    const h = await cache.handle({ ...get(), method: 'HEAD' }, o.fn);
    assert.deepEqual([h.cacheStatus, h.body], ['HIT', null]);
    assert.equal(o.seen.length, 1);
  });
  it('revalidates a stale entry with its ETag; a 304 freshens it (REVALIDATED, RFC 9111 §4.3)', async () => {
    const { cache, tick, get } = setup();
    const o = origin((n) =>
      n === 1
        ? { headers: ['cache-control', 'max-age=10', 'etag', '"v1"', 'x-v', '1'], text: 'body v1' }
        : { status: 304, headers: ['etag', '"v1"', 'x-v', '2', 'cache-control', 'max-age=100'] },
    );
    await text(await cache.handle(get(), o.fn));
    tick(20);
    const r = await cache.handle(get(), o.fn);
    assert.deepEqual(
      [r.cacheStatus, r.status, await text(r), header(r, 'x-v')],
      ['REVALIDATED', 200, 'body v1', '2'],
    );
    assert.equal(o.seen[1][o.seen[1].indexOf('if-none-match') + 1], '"v1"');
    tick(50);
    assert.equal((await cache.handle(get(), o.fn)).cacheStatus, 'HIT', 'the 304 extended its lifetime');
  });
  it('EXPIRED when the origin sends a new body', async () => {
    const { cache, tick, get } = setup();
    const o = origin((n) => ({ headers: ['cache-control', 'max-age=10'], text: `v${n}` }));
    await text(await cache.handle(get(), o.fn));
    tick(11);
    const r = await cache.handle(get(), o.fn);
    assert.deepEqual([r.cacheStatus, await text(r)], ['EXPIRED', 'v2']);
    assert.equal(await text(await cache.handle(get(), o.fn)), 'v2');
  });
  it('stale-while-revalidate serves UPDATING and refreshes once in the background (RFC 5861 §3)', async () => {
    const { cache, tick, get } = setup();
    const o = origin((n) => ({
      headers: ['cache-control', 'max-age=10, stale-while-revalidate=60'],
      text: `v${n}`,
    }));
    await text(await cache.handle(get(), o.fn));
    tick(15);
    const [a, b] = await Promise.all([cache.handle(get(), o.fn), cache.handle(get(), o.fn)]);
    assert.deepEqual([a.cacheStatus, b.cacheStatus, await text(a)], ['UPDATING', 'UPDATING', 'v1']);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(o.seen.length, 2, 'one background revalidation');
    const c = await cache.handle(get(), o.fn);
    assert.deepEqual([c.cacheStatus, await text(c)], ['HIT', 'v2']);
  });
  it('stale-if-error serves STALE when the origin fails; without it the error passes through (RFC 5861 §4)', async () => {
    const { cache, tick, get } = setup();
    const o = origin((n) =>
      n === 1
        ? { headers: ['cache-control', 'max-age=10, stale-if-error=300'], text: 'good' }
        : { status: 503, text: 'down' },
    );
    await text(await cache.handle(get(), o.fn));
    tick(20);
    const r = await cache.handle(get(), o.fn);
    assert.deepEqual([r.cacheStatus, await text(r)], ['STALE', 'good']);
    const p = origin((n) =>
      n === 1 ? { headers: ['cache-control', 'max-age=10'], text: 'good' } : { status: 503, text: 'down' },
    );
    const other = 'https://o.example/b';
    await text(await cache.handle(get(other), p.fn));
    tick(20);
    const e = await cache.handle(get(other), p.fn);
    assert.deepEqual([e.status, e.cacheStatus], [503, 'EXPIRED']);
  });
  it('origin unreachable: serves STALE, except must-revalidate, proxy-revalidate, no-cache, s-maxage (§4.2.4)', async () => {
    for (const cc of [
      'max-age=1',
      'max-age=1, must-revalidate',
      'max-age=1, proxy-revalidate',
      'max-age=1, no-cache',
      's-maxage=1',
    ]) {
      const { cache, tick, get } = setup();
      let n = 0;
      const o: Origin = async () => {
        if (++n > 1) throw new Error('other side closed');
        return { status: 200, statusText: 'OK', headers: ['cache-control', cc, 'etag', '"e"'], body: null };
      };
      await cache.handle(get(), o);
      tick(5);
      if (cc === 'max-age=1') {
        const r = await cache.handle(get(), o);
        assert.deepEqual([r.status, r.cacheStatus], [200, 'STALE']);
        await assert.rejects(
          cache.handle(get('https://o.example/a', ['cache-control', 'no-cache']), o),
          /other side closed/,
          'the client asked for a validated answer',
        );
      } else await assert.rejects(cache.handle(get(), o), /other side closed/, cc);
    }
  });
  it('request directives: no-store bypasses, no-cache revalidates, only-if-cached answers 504 on a miss (§5.2.1)', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'max-age=60', 'etag', '"e"'], text: 'x' }));
    assert.equal(
      (await cache.handle(get('https://o.example/n', ['cache-control', 'only-if-cached']), o.fn)).status,
      504,
    );
    assert.equal(
      (await cache.handle(get('https://o.example/n', ['cache-control', 'no-store']), o.fn)).cacheStatus,
      'BYPASS',
    );
    await text(await cache.handle(get(), o.fn));
    const r = await cache.handle(get('https://o.example/a', ['cache-control', 'no-cache']), o.fn);
    assert.notEqual(r.cacheStatus, 'HIT');
  });
  it('does not store private or no-store responses (BYPASS), and keeps Vary variants apart (§3, §4.1)', async () => {
    const { cache, get } = setup();
    const priv = origin(() => ({ headers: ['cache-control', 'private, max-age=60'], text: 'mine' }));
    assert.equal((await cache.handle(get('https://o.example/p'), priv.fn)).cacheStatus, 'BYPASS');
    assert.equal((await cache.handle(get('https://o.example/p'), priv.fn)).cacheStatus, 'BYPASS');
    const v = origin((_n, h) => ({
      headers: ['cache-control', 'max-age=60', 'vary', 'accept-language'],
      text: h[h.indexOf('accept-language') + 1],
    }));
    const en = await cache.handle(get('https://o.example/v', ['accept-language', 'en']), v.fn);
    const fr = await cache.handle(get('https://o.example/v', ['accept-language', 'fr']), v.fn);
    assert.deepEqual([await text(en), await text(fr)], ['en', 'fr']);
    const en2 = await cache.handle(get('https://o.example/v', ['accept-language', 'en']), v.fn);
    assert.deepEqual([en2.cacheStatus, await text(en2)], ['HIT', 'en']);
  });
  it('an unsafe request invalidates the stored URL (§4.4) and is DYNAMIC', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({ headers: ['cache-control', 'max-age=60'], text: 'x' }));
    await text(await cache.handle(get(), o.fn));
    const post = await cache.handle({ method: 'POST', url: 'https://o.example/a', headers: [] }, o.fn);
    assert.equal(post.cacheStatus, 'DYNAMIC');
    assert.equal((await cache.handle(get(), o.fn)).cacheStatus, 'MISS');
  });
  it('answers a client If-None-Match from the cache with 304; CDN-Cache-Control goes on downstream, Cloudflare-CDN-Cache-Control and Surrogate-Control do not', async () => {
    const { cache, get } = setup();
    const o = origin(() => ({
      headers: [
        'cdn-cache-control',
        'max-age=60',
        'cloudflare-cdn-cache-control',
        'max-age=60',
        'surrogate-control',
        'max-age=60',
        'cache-control',
        'no-cache',
        'etag',
        '"z"',
      ],
      text: 'x',
    }));
    const a = await cache.handle(get(), o.fn);
    await text(a);
    const r = await cache.handle(get('https://o.example/a', ['if-none-match', '"z"']), o.fn);
    for (const answer of [a, r])
      assert.deepEqual(
        [
          header(answer, 'cdn-cache-control'),
          header(answer, 'cloudflare-cdn-cache-control'),
          header(answer, 'surrogate-control'),
        ],
        ['max-age=60', undefined, undefined],
      );
    assert.deepEqual([r.status, r.cacheStatus], [304, 'HIT']);
  });
  it('1,000 concurrent requests for one expired key reach the origin once (the seed’s stampede)', async () => {
    const { cache, tick, get } = setup();
    const o = slowOrigin(20, (n) => `v${n}`);
    await text(await cache.handle(get('https://o.example/hot'), o.fn));
    tick(61);
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => cache.handle(get('https://o.example/hot'), o.fn)),
    );
    assert.equal(o.counter.calls, 2);
    assert.ok(all.every((a) => a.cacheStatus === 'EXPIRED'));
    assert.ok((await Promise.all(all.map(text))).every((t) => t === 'v2'));
    assert.equal((await cache.handle(get('https://o.example/hot'), o.fn)).cacheStatus, 'HIT');
  });
  it('a 304 that matches no stored response is not passed on: the request is repeated unconditionally (§4.3.4)', async () => {
    const { cache, tick, get } = setup();
    const o = origin((n, headers) => {
      if (n === 1) return { headers: ['cache-control', 'max-age=1', 'etag', '"a"'], text: 'one' };
      if (headers.includes('if-none-match')) return { status: 304, headers: ['etag', '"b"'] };
      return { headers: ['cache-control', 'max-age=60', 'etag', '"c"'], text: 'three' };
    });
    await text(await cache.handle(get(), o.fn));
    tick(5);
    const r = await cache.handle(get(), o.fn);
    assert.deepEqual([r.status, r.cacheStatus, await text(r)], [200, 'EXPIRED', 'three']);
    assert.equal(o.seen.length, 3);
  });
  it('1,000 concurrent misses reach the origin once (stampede)', async () => {
    const { cache, get } = setup();
    const o = slowOrigin(20, () => 'one');
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => cache.handle(get('https://o.example/hot'), o.fn)),
    );
    assert.equal(o.counter.calls, 1);
    assert.ok((await Promise.all(all.map(text))).every((t) => t === 'one'));
  });
});
