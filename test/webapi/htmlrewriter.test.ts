// HTMLRewriter inside an isolate: element, text, comment and document handlers, async
// handlers, streaming input, and the error paths.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

describe('HTMLRewriter', () => {
  it('rewrites attributes, content, text and comments', async () => {
    const out = await h.run(`
      const html = '<!doctype html><html><head><title>Old</title></head><body><!-- c --><a href="http://old.example/x">link</a><p class="k">keep</p><div id="gone">x</div></body></html>';
      const seen = [];
      const res = new HTMLRewriter()
        .on('a[href]', { element(e) { e.setAttribute('href', e.getAttribute('href').replace('old.example', 'new.example')); e.setAttribute('rel', 'noopener'); } })
        .on('title', { text(t) { if (t.text) t.replace('New'); } })
        .on('#gone', { element(e) { e.remove(); } })
        .on('p.k', { element(e) { e.prepend('<b>', { html: true }); e.append('</b>', { html: true }); seen.push(e.tagName); } })
        .onDocument({ comments(c) { c.remove(); }, doctype(d) { seen.push(d.name); }, end(end) { end.append('<!-- done -->', { html: true }); } })
        .transform(new Response(html, { headers: { 'content-type': 'text/html', 'content-length': String(html.length) } }));
      return { body: await res.text(), length: res.headers.get('content-length'), type: res.headers.get('content-type'), seen };`);
    assert.equal(
      out.body,
      '<!doctype html><html><head><title>New</title></head><body><a href="http://new.example/x" rel="noopener">link</a><p class="k"><b>keep</b></p></body></html><!-- done -->',
    );
    assert.equal(out.length, null, 'Content-Length is dropped');
    assert.equal(out.type, 'text/html');
    assert.deepEqual(out.seen, ['html', 'p']);
  });
  it('awaits async handlers (e.g. a fetch per element) and works on a streamed body split mid-tag', async () => {
    const out = await h.run(`
      const parts = ['<ul><li data-id="1">', 'a</li><l', 'i data-id="2">b</li></ul>'];
      const res = new HTMLRewriter()
        .on('li', { async element(e) { await scheduler.wait(5); e.setAttribute('data-seen', e.getAttribute('data-id')); } })
        .transform(new Response(ReadableStream.from(parts.map((p) => new TextEncoder().encode(p)))));
      return res.text();`);
    assert.equal(out, '<ul><li data-id="1" data-seen="1">a</li><li data-id="2" data-seen="2">b</li></ul>');
  });
  it('one rewriter transforms several responses', async () => {
    const out = await h.run(`
      const rw = new HTMLRewriter().on('i', { element(e) { e.tagName = 'em'; } });
      return [await rw.transform(new Response('<i>1</i>')).text(), await rw.transform(new Response('<i>2</i>')).text()];`);
    assert.deepEqual(out, ['<em>1</em>', '<em>2</em>']);
  });
  it('a bad selector throws a TypeError at on(); transform() wants a Response', async () => {
    const bad = await h.fails(`return new HTMLRewriter().on('<<<', {});`);
    assert.equal(bad.name, 'TypeError');
    assert.match(bad.message, /Invalid selector/);
    assert.equal((await h.fails(`return new HTMLRewriter().transform('x');`)).name, 'TypeError');
  });
  it('streams the rewritten response to the client', async () => {
    const res = await h.raw(`
      return new HTMLRewriter().on('h1', { element(e) { e.setInnerContent('Rewritten'); } })
        .transform(new Response('<h1>Original</h1>', { headers: { 'content-type': 'text/html' } }));`);
    assert.equal(await res.text(), '<h1>Rewritten</h1>');
  });
});
