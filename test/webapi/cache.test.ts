// The Cache API inside an isolate: caches.default / caches.open with Cloudflare's put() rules.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileSnippet, type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('caches', () => {
  it('put then match returns the stored response with cf-cache-status: HIT', async () => {
    const out = await h.run(`
      const url = 'https://example.com/cached?' + Math.random();
      await caches.default.put(url, new Response('stored body', { headers: { 'cache-control': 'max-age=60', 'x-a': '1' } }));
      const hit = await caches.default.match(url);
      const miss = await caches.default.match(url + '&other');
      return [hit.status, await hit.text(), hit.headers.get('x-a'), hit.headers.get('cf-cache-status'), hit.headers.get('age'), miss];`);
    assert.deepEqual(out, [200, 'stored body', '1', 'HIT', '0', null]);
  });
  it('match ignores non-GET requests unless ignoreMethod; delete reports what it removed', async () => {
    const out = await h.run(`
      const url = 'https://example.com/m?' + Math.random();
      await caches.default.put(url, new Response('x', { headers: { 'cache-control': 'max-age=60' } }));
      const post = new Request(url, { method: 'POST' });
      return [await caches.default.match(post) ?? null, (await caches.default.match(post, { ignoreMethod: true }))?.status,
        await caches.default.delete(url), await caches.default.delete(url), await caches.default.match(url) ?? null];`);
    assert.deepEqual(out, [null, 200, true, false, null]);
  });
  it('named caches are separate from the default one', async () => {
    const out = await h.run(`
      const url = 'https://example.com/named?' + Math.random();
      const mine = await caches.open('mine');
      await mine.put(url, new Response('named', { headers: { 'cache-control': 'max-age=60' } }));
      return [await (await mine.match(url)).text(), await caches.default.match(url) ?? null, await (await (await caches.open('mine')).match(url)).text()];`);
    assert.deepEqual(out, ['named', null, 'named']);
  });
  it('does not store no-store, private or Set-Cookie responses; private=Set-Cookie is stored', async () => {
    const out = await h.run(`
      const base = 'https://example.com/rules?' + Math.random();
      const put = async (k, headers) => { await caches.default.put(base + k, new Response('x', { headers })); return !!(await caches.default.match(base + k)); };
      return [
        await put('a', { 'cache-control': 'no-store' }),
        await put('b', { 'cache-control': 'private' }),
        await put('c', { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }),
        await put('d', { 'cache-control': 'max-age=60, private=Set-Cookie', 'set-cookie': 'a=1' }),
        await put('e', {}),
        await put('f', { 'cache-control': 'max-age=0' }),
      ];`);
    assert.deepEqual(out, [false, false, false, true, true, false]);
  });
  it('expires entries after max-age', async () => {
    const out = await h.run(`
      const url = 'https://example.com/exp?' + Math.random();
      await caches.default.put(url, new Response('x', { headers: { 'cache-control': 'max-age=1' } }));
      const before = !!(await caches.default.match(url));
      await scheduler.wait(1100);
      return [before, await caches.default.match(url) ?? null];`);
    assert.deepEqual(out, [true, null]);
  });
  it('answers If-None-Match with 304 when the ETag matches', async () => {
    const out = await h.run(`
      const url = 'https://example.com/etag?' + Math.random();
      await caches.default.put(url, new Response('x', { headers: { 'cache-control': 'max-age=60', etag: '"v1"' } }));
      const r = await caches.default.match(new Request(url, { headers: { 'if-none-match': 'W/"v1"' } }));
      return [r.status, await r.text()];`);
    assert.deepEqual(out, [304, '']);
  });
  it('put() refuses what Cloudflare refuses', async () => {
    const cases = {
      post: `await caches.default.put(new Request('https://e.com/', { method: 'POST' }), new Response('x'));`,
      partial: `await caches.default.put('https://e.com/', new Response('x', { status: 206 }));`,
      varyStar: `await caches.default.put('https://e.com/', new Response('x', { headers: { vary: 'Accept, *' } }));`,
      notResponse: `await caches.default.put('https://e.com/', 'x');`,
      used: `const r = new Response('x'); await r.text(); await caches.default.put('https://e.com/', r);`,
      scheme: `await caches.default.put('ftp://e.com/', new Response('x'));`,
    };
    for (const [name, code] of Object.entries(cases)) {
      const e = await h.fails(code);
      assert.equal(e.name, 'TypeError', `${name}: ${e.message}`);
    }
  });
  it('tenants do not see each other’s entries', async () => {
    // The store namespaces by tenant: a second worker in the same runtime misses.
    const { startTenants } = await import('../helpers.ts');
    const net = await startTenants({ a: 'eval', b: 'eval' });
    try {
      const snippet = (code: string) =>
        net
          .fetchAs('a', '/', { method: 'POST', body: JSON.stringify({ code: compileSnippet(code) }) })
          .then((r) => r.json() as Promise<any>);
      const snippetB = (code: string) =>
        net
          .fetchAs('b', '/', { method: 'POST', body: JSON.stringify({ code: compileSnippet(code) }) })
          .then((r) => r.json() as Promise<any>);
      await snippet(
        `await caches.default.put('https://shared.example/x', new Response('secret', { headers: { 'cache-control': 'max-age=60' } })); return 1;`,
      );
      assert.deepEqual(
        await snippet(`return (await caches.default.match('https://shared.example/x'))?.status ?? null;`),
        { ok: true, result: 200 },
      );
      assert.deepEqual(
        await snippetB(`return (await caches.default.match('https://shared.example/x'))?.status ?? null;`),
        { ok: true, result: null },
      );
    } finally {
      await net.close();
    }
  });
});
