// Coalesced requests share a response only when a shared cache could store it and use it for
// each of them (RFC 9111 §3, §3.5, §4.1): 50 users at once, each with their own cookie or
// credentials, against an origin that builds the page from them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CacheAnswer, Origin } from './http-cache.ts';
import { enc, header, setup, text } from './test-helpers.ts';

const USERS = Array.from({ length: 50 }, (_, i) => `user${i}`);

/** An origin that answers after a moment with a page built from the request's cookie or credentials. */
function personalOrigin(responseHeaders: (user: string) => string[], status = 200) {
  const counter = { calls: 0 };
  const fn: Origin = async (req) => {
    counter.calls++;
    const h = req.headers;
    const cookie = h[h.indexOf('cookie') + 1] ?? '';
    const auth = h.includes('authorization') ? h[h.indexOf('authorization') + 1] : '';
    const user = /user=(\w+)/.exec(cookie)?.[1] ?? /Bearer (\w+)/.exec(auth)?.[1] ?? 'anonymous';
    await new Promise((r) => setTimeout(r, 20));
    return {
      status,
      statusText: '',
      headers: responseHeaders(user),
      body: (async function* () {
        yield enc(`page of ${user}`);
      })(),
    };
  };
  return { fn, counter };
}

async function everyone(
  respond: (user: string) => string[],
  request: (user: string) => string[],
): Promise<{ answers: CacheAnswer[]; bodies: string[]; calls: number }> {
  const { cache, get } = setup();
  const o = personalOrigin(respond);
  const answers = await Promise.all(
    USERS.map((u) => cache.handle(get('https://o.example/me', request(u)), o.fn)),
  );
  return { answers, bodies: await Promise.all(answers.map(text)), calls: o.counter.calls };
}

const byCookie = (u: string) => ['cookie', `user=${u}`];

describe('HttpCache: coalescing never hands one user’s response to another', () => {
  for (const [kind, respond] of [
    ['private', () => ['cache-control', 'private, max-age=60']],
    ['private, no-store', () => ['cache-control', 'private, no-store']],
    ['no-store', () => ['cache-control', 'no-store']],
    ['Set-Cookie', (u: string) => ['cache-control', 'max-age=60', 'set-cookie', `session=${u}`]],
  ] as const)
    it(`${kind}: 50 concurrent users each get their own page, BYPASS (§3; Set-Cookie: Cloudflare)`, async () => {
      const { answers, bodies, calls } = await everyone(respond, byCookie);
      assert.equal(calls, 50, 'one origin request per user');
      assert.deepEqual(
        bodies,
        USERS.map((u) => `page of ${u}`),
      );
      assert.ok(answers.every((a) => a.cacheStatus === 'BYPASS'));
      if (kind === 'Set-Cookie')
        assert.deepEqual(
          answers.map((a) => header(a, 'set-cookie')),
          USERS.map((u) => `session=${u}`),
        );
    });

  it('Authorization without public/s-maxage/must-revalidate: each user asks the origin (§3.5)', async () => {
    const { bodies, calls } = await everyone(
      () => ['cache-control', 'max-age=60'],
      (u) => ['authorization', `Bearer ${u}`],
    );
    assert.equal(calls, 50);
    assert.deepEqual(
      bodies,
      USERS.map((u) => `page of ${u}`),
    );
  });

  it('a waiter with Authorization does not get a response fetched without it unless it is public (§3.5)', async () => {
    const { cache, get } = setup();
    const o = personalOrigin(() => ['cache-control', 'max-age=60']);
    const [anon, alice] = await Promise.all([
      cache.handle(get('https://o.example/me'), o.fn),
      cache.handle(get('https://o.example/me', ['authorization', 'Bearer alice']), o.fn),
    ]);
    assert.deepEqual([await text(anon), await text(alice)], ['page of anonymous', 'page of alice']);
    assert.equal(o.counter.calls, 2);
  });

  it('Vary: Cookie: each user gets the variant fetched with their own cookie (§4.1)', async () => {
    const { answers, bodies, calls } = await everyone(
      () => ['cache-control', 'max-age=60', 'vary', 'cookie'],
      byCookie,
    );
    assert.equal(calls, 50);
    assert.deepEqual(
      bodies,
      USERS.map((u) => `page of ${u}`),
    );
    assert.ok(answers.every((a) => a.cacheStatus === 'MISS'));
  });

  it('shareable responses are still shared: public with Authorization, and matching Vary (§3.5, §4.1)', async () => {
    const pub = await everyone(
      () => ['cache-control', 'public, max-age=60'],
      (u) => ['authorization', `Bearer ${u}`],
    );
    assert.equal(pub.calls, 1);
    assert.ok(pub.bodies.every((b) => b === 'page of user0'));
    const lang = await everyone(
      () => ['cache-control', 'max-age=60', 'vary', 'accept-language'],
      (u) => ['accept-language', 'en', ...byCookie(u)],
    );
    assert.equal(lang.calls, 1);
  });

  it('waiters do not receive the fields private="…" or no-cache="…" name (§5.2.2.7, §5.2.2.4)', async () => {
    const { answers, calls } = await everyone(
      (u) => [
        'cache-control',
        'max-age=60, private="x-user", no-cache="set-cookie"',
        'x-user',
        u,
        'set-cookie',
        `s=${u}`,
      ],
      byCookie,
    );
    assert.equal(calls, 1);
    assert.deepEqual([header(answers[0], 'x-user'), header(answers[0], 'set-cookie')], ['user0', 's=user0']);
    for (const a of answers.slice(1))
      assert.deepEqual([header(a, 'x-user'), header(a, 'set-cookie')], [undefined, undefined]);
  });

  it('a 5xx while a stale copy exists is not handed to waiters that cannot serve stale', async () => {
    const { cache, get, tick } = setup();
    let n = 0;
    const o: Origin = async (req) => {
      n++;
      const cookie = req.headers[req.headers.indexOf('cookie') + 1];
      await new Promise((r) => setTimeout(r, 10));
      if (n === 1)
        return { status: 200, statusText: '', headers: ['cache-control', 'max-age=1'], body: null };
      return {
        status: 500,
        statusText: '',
        headers: ['cache-control', 'no-store'],
        body: (async function* () {
          yield enc(`error for ${cookie}`);
        })(),
      };
    };
    await cache.handle(get('https://o.example/e'), o);
    tick(5);
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((u) => cache.handle(get('https://o.example/e', ['cookie', `user=${u}`]), o)),
    );
    assert.deepEqual(await Promise.all(answers.map(text)), [
      'error for user=a',
      'error for user=b',
      'error for user=c',
    ]);
  });

  it('a revalidated stored response is shared only with waiters of the same variant (§4.1)', async () => {
    const { cache, get, tick } = setup();
    let n = 0;
    const o: Origin = async (req) => {
      n++;
      const lang = req.headers[req.headers.indexOf('accept-language') + 1];
      await new Promise((r) => setTimeout(r, 10));
      if (req.headers.includes('if-none-match'))
        return {
          status: 304,
          statusText: '',
          headers: ['etag', `"${lang}"`, 'cache-control', 'max-age=60'],
          body: null,
        };
      return {
        status: 200,
        statusText: '',
        headers: ['cache-control', 'max-age=1', 'vary', 'accept-language', 'etag', `"${lang}"`],
        body: (async function* () {
          yield enc(`in ${lang}`);
        })(),
      };
    };
    await text(await cache.handle(get('https://o.example/v', ['accept-language', 'en']), o));
    tick(5);
    const [en1, fr, en2] = await Promise.all(
      ['en', 'fr', 'en'].map((l) => cache.handle(get('https://o.example/v', ['accept-language', l]), o)),
    );
    assert.deepEqual([await text(en1), await text(fr), await text(en2)], ['in en', 'in fr', 'in en']);
    assert.deepEqual([en1.cacheStatus, en2.cacheStatus], ['REVALIDATED', 'REVALIDATED']);
    assert.equal(n, 3, 'first fill, one revalidation for en, one fetch for fr');
  });
});
