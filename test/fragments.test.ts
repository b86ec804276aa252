// outpost/fragments (src/frontend/worker/fragments.ts) in a worker served by `outpost dev`: the
// fixture imports the package's own export, so the build root is the repository. The origin is
// a server of the test on 127.0.0.1 that serves the shells (/shell/<name>) and the fragments
// (/fragments/<key>) each test defines; the worker fetches both through the PoP's cache.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFixture, startUpstream, type TestDev, type Upstream } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..');

let dev: TestDev;
let up: Upstream;

before(async () => {
  up = await startUpstream();
  dev = await startFixture('fragments', { buildRoot: ROOT });
});
after(async () => {
  await dev?.close();
  await up?.close();
});

type Route = (req: IncomingMessage, res: ServerResponse) => void;

function shell(name: string, body: string): void {
  up.routes.set(`/shell/${name}`, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>${name}</title></head><body>${body}</body></html>`);
  });
}

function fragment(key: string, route: Route): void {
  up.routes.set(`/fragments/${key}`, route);
}

/** A fragment answering `html` after `ms`. */
const delayed =
  (ms: number, html: string): Route =>
  (_req, res) => {
    setTimeout(() => res.end(html), ms);
  };

/** A promise with its resolver. */
function gate(): { open(): void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

function page(name: string, query = ''): Promise<Response> {
  return fetch(`${dev.url}/${name}?origin=${encodeURIComponent(up.url)}${query}`);
}

const hits = (key: string) => up.hits.get(`/fragments/${key}`) ?? 0;

/** The body's text between <body> and </body>. */
async function bodyOf(res: Response): Promise<string> {
  const html = await res.text();
  return html.slice(html.indexOf('<body>') + 6, html.indexOf('</body>'));
}

describe('outpost/fragments', () => {
  it('puts every fragment in its placeholder, in document order, whatever order they arrive in', async () => {
    shell(
      'order',
      '<header data-fragment="o-1">f1</header><p>a</p><nav data-fragment="o-2">f2</nav><p>b</p><div data-fragment="o-3"></div>',
    );
    // The first placeholder's fragment arrives last.
    fragment('o-1', delayed(300, '<h1>one</h1>'));
    fragment('o-2', delayed(150, '<ul><li>two</li></ul>'));
    fragment('o-3', delayed(0, 'three'));
    const res = await page('order');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(
      await bodyOf(res),
      '<header data-fragment="o-1"><h1>one</h1></header><p>a</p><nav data-fragment="o-2"><ul><li>two</li></ul></nav><p>b</p><div data-fragment="o-3">three</div>',
    );
  });

  it('fetches the fragments in parallel: the origin has every request before it answers one', async () => {
    shell(
      'parallel',
      ['p-1', 'p-2', 'p-3'].map((k) => `<div data-fragment="${k}" data-timeout="5000">fb</div>`).join(''),
    );
    const all = gate();
    let arrived = 0;
    const seenAtFirstAnswer: number[] = [];
    const held: Route = (req, res) => {
      if (++arrived === 3) all.open();
      // Fetched one after another, the first would wait here for the 3 s and answer alone.
      const waited = Promise.race([all.opened, new Promise((r) => setTimeout(r, 3000))]);
      void waited.then(() => {
        seenAtFirstAnswer.push(arrived);
        res.end(`got ${new URL(req.url ?? '', 'http://x').pathname}`);
      });
    };
    for (const k of ['p-1', 'p-2', 'p-3']) fragment(k, held);
    const res = await page('parallel');
    assert.equal(
      await bodyOf(res),
      '<div data-fragment="p-1" data-timeout="5000">got /fragments/p-1</div><div data-fragment="p-2" data-timeout="5000">got /fragments/p-2</div><div data-fragment="p-3" data-timeout="5000">got /fragments/p-3</div>',
    );
    assert.equal(seenAtFirstAnswer[0], 3, 'the origin answered a fragment before it had all three requests');
  });

  it('caches each fragment at the edge for its TTL: data-ttl="0" goes to the origin every time', async () => {
    shell(
      'cached',
      '<div data-fragment="c-long" data-ttl="3600"></div><div data-fragment="c-default"></div><div data-fragment="c-zero" data-ttl="0"></div>',
    );
    for (const k of ['c-long', 'c-default', 'c-zero'])
      fragment(k, (_req, res) => res.end(`${k} #${hits(k)}`));
    const first = await page('cached', '&header=1');
    const firstBody = await bodyOf(first);
    assert.match(
      first.headers.get('x-fragments') ?? '',
      /^c-long;desc=miss;dur=\d+, c-default;desc=miss;dur=\d+, c-zero;desc=\w+;dur=\d+$/,
    );
    const second = await page('cached', '&header=1');
    const secondBody = await bodyOf(second);
    assert.deepEqual([hits('c-long'), hits('c-default'), hits('c-zero')], [1, 1, 2]);
    // The cached fragments are the first answers; the uncached one is the second.
    assert.equal(firstBody.replace('c-zero #1', 'c-zero #2'), secondBody);
    assert.match(
      second.headers.get('x-fragments') ?? '',
      /^c-long;desc=hit;dur=\d+, c-default;desc=hit;dur=\d+, c-zero;/,
    );
  });

  it("leaves the fallback when a fragment times out: the placeholder's content, else the option", async () => {
    shell(
      'timeout',
      '<div data-fragment="t-slow" data-timeout="200"><p>cached teaser</p></div><div data-fragment="t-empty" data-timeout="200"></div><div data-fragment="t-ok">x</div>',
    );
    fragment('t-slow', delayed(3000, 'too late'));
    fragment('t-empty', delayed(3000, 'too late'));
    fragment('t-ok', delayed(0, 'ok'));
    const started = Date.now();
    const res = await page('timeout', '&header=1');
    const body = await bodyOf(res);
    assert.ok(
      Date.now() - started < 2500,
      `the page waited ${Date.now() - started} ms for fragments past their timeout`,
    );
    assert.equal(
      body,
      '<div data-fragment="t-slow" data-timeout="200"><p>cached teaser</p></div><div data-fragment="t-empty" data-timeout="200"><i>t-empty unavailable (timeout)</i></div><div data-fragment="t-ok">ok</div>',
    );
    assert.match(
      res.headers.get('x-fragments') ?? '',
      /^t-slow;desc=timeout;dur=\d+, t-empty;desc=timeout;dur=\d+, t-ok;desc=miss;dur=\d+$/,
    );
  });

  it('leaves the fallback for a non-2xx fragment, and does not cache the error', async () => {
    shell(
      'error',
      '<div data-fragment="e-500" data-ttl="3600">the fallback</div><div data-fragment="e-empty"></div>',
    );
    const failing: Route = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<h1>Internal Server Error</h1>');
    };
    fragment('e-500', failing);
    fragment('e-empty', failing);
    for (let i = 1; i <= 2; i++) {
      const res = await page('error', '&header=1');
      assert.equal(res.status, 200);
      assert.equal(
        await bodyOf(res),
        '<div data-fragment="e-500" data-ttl="3600">the fallback</div><div data-fragment="e-empty"><i>e-empty unavailable (status)</i></div>',
      );
      assert.match(
        res.headers.get('x-fragments') ?? '',
        /^e-500;desc=http-500;dur=\d+, e-empty;desc=http-500;dur=\d+$/,
      );
      assert.equal(hits('e-500'), i);
    }
  });

  it('fetches at most maxFragments fragments a page; the rest keep their fallback', async () => {
    shell(
      'limit',
      '<div data-fragment="l-1"></div><div data-fragment="l-1"></div><div data-fragment="l-2"></div><div data-fragment="l-3">kept</div>',
    );
    for (const k of ['l-1', 'l-2', 'l-3']) fragment(k, (_req, res) => res.end(k));
    const res = await page('limit', '&header=1&max=2');
    assert.equal(
      await bodyOf(res),
      '<div data-fragment="l-1">l-1</div><div data-fragment="l-1">l-1</div><div data-fragment="l-2">l-2</div><div data-fragment="l-3">kept</div>',
    );
    // The same URL twice is one fetch.
    assert.deepEqual([hits('l-1'), hits('l-2'), hits('l-3')], [1, 1, 0]);
    assert.match(res.headers.get('x-fragments') ?? '', /, l-3;desc=limit;dur=0$/);
  });

  it('streams the page: the shell before a slow fragment reaches the client before that fragment answers', async () => {
    shell(
      'stream',
      '<h1>above the fold</h1><div data-fragment="s-slow" data-timeout="10000">fb</div><p>below</p>',
    );
    const slow = gate();
    let asked = false;
    fragment('s-slow', (_req, res) => {
      asked = true;
      void slow.opened.then(() => res.end('<b>slow part</b>'));
    });
    try {
      const res = await page('stream');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const deadline = Date.now() + 5000;
      while (!text.includes('</h1>')) {
        const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), deadline - Date.now()));
        const chunk = await Promise.race([reader.read(), timer]);
        assert.notEqual(
          chunk,
          'late',
          'the top of the page did not arrive while the slow fragment was pending',
        );
        if (chunk === 'late' || chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      assert.match(text, /<h1>above the fold<\/h1>/);
      assert.doesNotMatch(text, /slow part|<p>below/);
      assert.ok(asked, 'the slow fragment was not requested');
      slow.open();
      for (let c = await reader.read(); !c.done; c = await reader.read())
        text += decoder.decode(c.value, { stream: true });
      assert.match(
        text,
        /<h1>above the fold<\/h1><div data-fragment="s-slow" data-timeout="10000"><b>slow part<\/b><\/div><p>below<\/p>/,
      );
    } finally {
      slow.open();
    }
  });
});
