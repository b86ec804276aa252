import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hintsFromResponse, linkFieldValues, pathExtension, wantsEarlyHints } from './eligibility.ts';

/** Node's own check in writeEarlyHints (lib/internal/validators.js, Node 20). */
const NODE_LINK = /^(?:<[^>]*>)(?:\s*;\s*[^;"\s]+(?:=(")?[^;"\s]*\1)?)*$/;

describe('hintsFromResponse: what a final response leaves for the next 103', () => {
  const flat = [
    'content-type',
    'text/html',
    'link',
    '</a.css>; rel=preload; as=style, </next>; rel=prefetch, <https://cdn.example>; rel=preconnect',
    'link',
    '</m.js>; rel=modulepreload, </b.js>; rel="preload prefetch"; as=script, </s.css>; rel=stylesheet',
  ];

  it('keeps preload and preconnect, drops every other relation type', () => {
    assert.deepEqual(hintsFromResponse(200, flat), [
      '</a.css>; rel=preload; as=style',
      '<https://cdn.example>; rel=preconnect',
      '</b.js>; rel=preload; as=script',
    ]);
  });

  it('only 200, 301 and 302 are eligible; others leave the cache alone (null)', () => {
    for (const s of [200, 301, 302]) assert.notEqual(hintsFromResponse(s, flat), null, String(s));
    for (const s of [201, 204, 303, 304, 307, 308, 404, 500])
      assert.equal(hintsFromResponse(s, flat), null, String(s));
  });

  it('an eligible response without hints gives [] (forget what was remembered)', () => {
    assert.deepEqual(hintsFromResponse(200, ['content-type', 'text/html']), []);
    assert.deepEqual(hintsFromResponse(200, ['link', '</x>; rel=stylesheet']), []);
  });

  it('reads Headers, pairs and Node header objects alike; names case-insensitively', () => {
    const want = ['</a.css>; rel=preload; as=style'];
    const h = new Headers({ Link: '</a.css>; rel=preload; as=style, </n>; rel=next' });
    assert.deepEqual(hintsFromResponse(200, h), want);
    assert.deepEqual(hintsFromResponse(200, [['Link', '</a.css>; rel=preload; as=style']]), want);
    assert.deepEqual(hintsFromResponse(200, { LINK: ['</a.css>; rel=preload; as=style'] }), want);
    assert.deepEqual(linkFieldValues({ link: 'x', other: 'y' }), ['x']);
  });

  it('a rel list holding both kept types becomes two links; duplicates once', () => {
    assert.deepEqual(
      hintsFromResponse(200, [
        'link',
        '<https://c.example>; rel="preconnect preload", <https://c.example>; rel=preconnect',
      ]),
      ['<https://c.example>; rel=preconnect', '<https://c.example>; rel=preload'],
    );
  });

  it('drops links with an anchor, and links whose parameters Node could not send', () => {
    const out = hintsFromResponse(200, [
      'link',
      '</a.css>; rel=preload; anchor="#x", </p.png>; rel=preload; as=image; imagesrcset="p1.png 1x, p2.png 2x", </ok.png>; rel=preload; as=image',
    ]);
    assert.deepEqual(out, ['</ok.png>; rel=preload; as=image']);
  });

  it('everything it returns passes Node writeEarlyHints validation', () => {
    const out = hintsFromResponse(200, [
      'link',
      '</a%20b.css>; rel=preload; as=style; type=text/css; crossorigin, </f.woff2>; rel=preload; as=font; type="font/woff2"; crossorigin=anonymous; media="(min-width:1px)"',
    ]) as string[];
    assert.equal(out.length, 2);
    for (const l of out) assert.match(l, NODE_LINK);
  });
});

describe('wantsEarlyHints: which requests get a 103', () => {
  const req = (url: string, over: Partial<Parameters<typeof wantsEarlyHints>[0]> = {}) => ({
    method: 'GET',
    url,
    httpVersionMajor: 2,
    ...over,
  });

  it('paths ending in .html, .htm, .php or no extension; query strings do not matter', () => {
    for (const u of [
      '/',
      '/blog/',
      '/about',
      '/a.html',
      '/A.HTM',
      '/x/index.php',
      '/search?q=a.css',
      '/v1.2/page',
    ])
      assert.equal(wantsEarlyHints(req(`https://e.example${u}`)), true, u);
    for (const u of ['/app.js', '/style.css', '/img.png', '/feed.xml', '/data.json'])
      assert.equal(wantsEarlyHints(req(`https://e.example${u}`)), false, u);
  });

  it('only GET', () => {
    for (const method of ['HEAD', 'POST', 'PUT', 'get'])
      assert.equal(wantsEarlyHints(req('https://e.example/', { method })), false);
  });

  it('only HTTP/2 and later, unless HTTP/1.1 is allowed', () => {
    assert.equal(wantsEarlyHints(req('https://e.example/', { httpVersionMajor: 1 })), false);
    assert.equal(wantsEarlyHints(req('https://e.example/', { httpVersionMajor: 3 })), true);
    assert.equal(
      wantsEarlyHints(req('https://e.example/', { httpVersionMajor: 1 }), { allowHttp1: true }),
      true,
    );
  });

  it('with navigationsOnly, a request that says it is not a navigation is skipped', () => {
    const fetchReq = req('https://e.example/', { headers: ['sec-fetch-mode', 'cors'] });
    assert.equal(wantsEarlyHints(fetchReq), true, 'off by default, as Cloudflare');
    assert.equal(wantsEarlyHints(fetchReq, { navigationsOnly: true }), false);
    const nav = req('https://e.example/', { headers: { 'Sec-Fetch-Mode': 'navigate' } });
    assert.equal(wantsEarlyHints(nav, { navigationsOnly: true }), true);
    assert.equal(
      wantsEarlyHints(req('https://e.example/', { headers: [] }), { navigationsOnly: true }),
      true,
    );
  });

  it('pathExtension reads only the last segment', () => {
    assert.equal(pathExtension('/v1.2/page'), '');
    assert.equal(pathExtension('/a/b.PHP'), 'php');
    assert.equal(pathExtension('/.well-known/x'), '');
  });
});
