/**
 * The CacheStore conformance suite: every implementation runs it (memory.test.ts, disk.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CacheStore, cacheKey, type EntryMeta } from './types.ts';

export interface Subject {
  store: CacheStore;
  /** Clean up (close and remove files). */
  dispose(): Promise<void>;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function meta(url: string, over: Partial<EntryMeta> = {}): EntryMeta {
  return {
    key: cacheKey('GET', url),
    variant: '',
    url,
    status: 200,
    statusText: 'OK',
    headers: ['content-type', 'text/plain', 'cache-control', 'max-age=60'],
    vary: {},
    requestTime: 1000,
    responseTime: 1005,
    tags: [],
    ...over,
  };
}

export function storeConformance(name: string, make: (maxBytes?: number) => Promise<Subject>): void {
  const withStore = (maxBytes: number | undefined, fn: (s: CacheStore) => Promise<void>) => async () => {
    const subject = await make(maxBytes);
    try {
      await fn(subject.store);
    } finally {
      await subject.dispose();
    }
  };

  describe(`CacheStore conformance: ${name}`, () => {
    it(
      'stores and returns an entry with its metadata and body',
      withStore(undefined, async (s) => {
        const m = meta('https://a.example/x', {
          tags: ['t1'],
          vary: { 'accept-encoding': 'gzip' },
          variant: 'v1',
        });
        assert.equal(await s.put(m, bytes('hello')), true);
        const [e, ...rest] = await s.get(m.key);
        assert.equal(rest.length, 0);
        assert.equal(text(e.body), 'hello');
        const { body: _body, ...got } = e;
        assert.deepEqual(got, m);
        assert.deepEqual(await s.get(cacheKey('GET', 'https://a.example/y')), []);
      }),
    );
    it(
      'keeps a policy override with the entry, and none when there is none',
      withStore(undefined, async (s) => {
        const m = meta('https://a.example/p', { edge: { ttl: 90, sie: 600 } });
        await s.put(m, bytes('p'));
        const [e] = await s.get(m.key);
        assert.deepEqual(e.edge, { ttl: 90, sie: 600 });
        await s.put(meta('https://a.example/q'), bytes('q'));
        const [f] = await s.get(cacheKey('GET', 'https://a.example/q'));
        assert.equal(f.edge, undefined);
      }),
    );
    it(
      'keeps variants of one key apart and replaces a variant in place',
      withStore(undefined, async (s) => {
        const url = 'https://a.example/v';
        await s.put(meta(url, { variant: 'gzip' }), bytes('gz'));
        await s.put(meta(url, { variant: 'br' }), bytes('br'));
        await s.put(meta(url, { variant: 'gzip', responseTime: 2000 }), bytes('gz2'));
        const all = await s.get(cacheKey('GET', url));
        assert.deepEqual(all.map((e) => [e.variant, text(e.body)]).sort(), [
          ['br', 'br'],
          ['gzip', 'gz2'],
        ]);
        assert.equal((await s.stats()).entries, 2);
      }),
    );
    it(
      'updates headers and times after a revalidation',
      withStore(undefined, async (s) => {
        const m = meta('https://a.example/u');
        await s.put(m, bytes('body'));
        assert.equal(
          await s.update(m.key, '', { headers: ['etag', '"2"'], requestTime: 5, responseTime: 6 }),
          true,
        );
        const [e] = await s.get(m.key);
        assert.deepEqual(
          [e.headers, e.requestTime, e.responseTime, text(e.body)],
          [['etag', '"2"'], 5, 6, 'body'],
        );
        assert.equal(await s.update(m.key, 'nope', { headers: [], requestTime: 0, responseTime: 0 }), false);
      }),
    );
    it(
      'purges entries a test picks among those under a URL prefix',
      withStore(undefined, async (s) => {
        await s.put(meta('https://a.example/blog/1'), bytes('1'));
        await s.put(meta('https://b.example/blog/2'), bytes('2'));
        await s.put(meta('https://b.example/shop'), bytes('3'));
        await s.put(meta('ns\u001fhttps://c.example/blog/3'), bytes('4'));
        const inBlog = (u: string) => new URL(u.slice(u.indexOf('\u001f') + 1)).pathname.startsWith('/blog/');
        assert.equal(await s.purgeMatching('https://', inBlog), 2);
        assert.equal(await s.purgeMatching('ns\u001f', inBlog), 1);
        assert.equal((await s.stats()).entries, 1);
      }),
    );
    it(
      'deletes by key, purges by URL prefix, by tag and everything',
      withStore(undefined, async (s) => {
        await s.put(meta('https://a.example/blog/1', { tags: ['blog', 'post-1'] }), bytes('1'));
        await s.put(meta('https://a.example/blog/2', { tags: ['blog'] }), bytes('2'));
        await s.put(meta('https://a.example/shop/%_x', { tags: ['shop'] }), bytes('3'));
        await s.put(meta('https://b.example/other'), bytes('4'));
        assert.equal(await s.purgeTag('post-1'), 1);
        assert.equal(await s.purgePrefix('https://a.example/blog/'), 1);
        assert.equal(
          await s.purgePrefix('https://a.example/shop/%_'),
          1,
          'prefixes are literal, not patterns',
        );
        assert.equal(await s.delete(cacheKey('GET', 'https://b.example/other')), true);
        assert.equal(await s.delete(cacheKey('GET', 'https://b.example/other')), false);
        await s.put(meta('https://c.example/'), bytes('5'));
        assert.equal(await s.clear(), 1);
        assert.deepEqual(await s.stats(), { bytes: 0, entries: 0 });
      }),
    );
    it(
      'counts entries per tag, most first, and forgets the tags of purged and replaced entries',
      withStore(undefined, async (s) => {
        assert.deepEqual(await s.topTags(5), []);
        await s.put(meta('https://a.example/1', { tags: ['blog', 'post-1', 'blog'] }), bytes('1'));
        await s.put(meta('https://a.example/2', { tags: ['blog'] }), bytes('2'));
        await s.put(meta('https://a.example/3', { tags: ['shop'] }), bytes('3'));
        assert.deepEqual(await s.topTags(5), [
          ['blog', 2],
          ['post-1', 1],
          ['shop', 1],
        ]);
        assert.deepEqual(await s.topTags(1), [['blog', 2]]);
        await s.purgeTag('post-1');
        await s.put(meta('https://a.example/3', { tags: ['sale'] }), bytes('3'));
        assert.deepEqual(await s.topTags(5), [
          ['blog', 1],
          ['sale', 1],
        ]);
      }),
    );
    it(
      'evicts least recently used entries past its byte budget and refuses an entry larger than it',
      withStore(2500, async (s) => {
        const body = bytes('x'.repeat(400));
        for (const k of ['a', 'b', 'c'])
          assert.equal(await s.put(meta(`https://e.example/${k}`), body), true);
        await s.get(cacheKey('GET', 'https://e.example/a')); // a is now the most recent
        await s.put(meta('https://e.example/d'), body);
        const { bytes: used } = await s.stats();
        assert.ok(used <= 2500, `holds ${used} bytes`);
        assert.equal((await s.get(cacheKey('GET', 'https://e.example/a'))).length, 1);
        assert.equal((await s.get(cacheKey('GET', 'https://e.example/b'))).length, 0);
        assert.equal(await s.put(meta('https://e.example/huge'), new Uint8Array(5000)), false);
      }),
    );
    it(
      'HEAD shares the GET key',
      withStore(undefined, async () => {
        assert.equal(cacheKey('HEAD', 'https://a.example/'), cacheKey('GET', 'https://a.example/'));
        assert.notEqual(cacheKey('POST', 'https://a.example/'), cacheKey('GET', 'https://a.example/'));
      }),
    );
  });
}
