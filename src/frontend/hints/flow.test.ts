import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { EarlyHintsCache } from './cache.ts';
import { hintsFromResponse, wantsEarlyHints } from './eligibility.ts';
import { mergeLinks } from './link.ts';
import { preloadsFromViteManifest } from './vite.ts';

describe('the whole path: remembered from one response, sent by Node as the next 103', () => {
  it('what the cache gives, Node writeEarlyHints sends, and a client reads back', async () => {
    const cache = new EarlyHintsCache();
    const url = 'https://e.example/page?x=1';
    assert.ok(wantsEarlyHints({ method: 'GET', url, httpVersionMajor: 2 }));
    const remembered = hintsFromResponse(200, [
      'link',
      '</a.css>; rel=preload; as=style; type=text/css, <https://cdn.example>; rel=preconnect; crossorigin, </m.js>; rel=modulepreload',
      'link',
      '</f.woff2>; rel="preload"; as=font; type="font/woff2"; crossorigin=anonymous',
    ]);
    cache.remember(cache.keyOf(url) as string, remembered ?? []);
    const built = preloadsFromViteManifest({
      'src/main.tsx': { file: 'assets/main-1.js', isEntry: true, css: ['assets/main-2.css'] },
    })['src/main.tsx'];
    const links = mergeLinks(built, cache.lookup(cache.keyOf('https://e.example/page') as string));
    assert.equal(links.length, 5);

    const server = createServer((_req, res) => {
      res.writeEarlyHints({ link: links });
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const info: string[] = [];
      const req = request({ host: '127.0.0.1', port, path: '/page' });
      req.on('information', (i) => {
        if (i.statusCode === 103) info.push(String(i.headers.link));
      });
      req.end();
      const [res] = await once(req, 'response');
      res.resume();
      await once(res, 'end');
      assert.deepEqual(info, [links.join(', ')]);
    } finally {
      server.close();
    }
  });
});
