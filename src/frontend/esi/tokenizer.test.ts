import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTag, type Token } from './tag.ts';
import { Tokenizer } from './tokenizer.ts';

/** Tokens of `chunks`, adjacent text merged, tags reduced to comparable records. */
function tokens(chunks: string[], max?: number): unknown[] {
  const t = new Tokenizer(max);
  const all: Token[] = [];
  for (const c of chunks) all.push(...t.push(c));
  all.push(...t.end());
  const out: unknown[] = [];
  for (const tok of all) {
    const last = out[out.length - 1] as { type: string; text: string } | undefined;
    if (tok.type === 'text' && last?.type === 'text') last.text += tok.text;
    else if (tok.type === 'open') out.push({ ...tok, attrs: Object.fromEntries(tok.attrs) });
    else out.push({ ...tok });
  }
  return out;
}

const PAGE =
  '<html><!-- plain --><p><esi:>x</p><esi:include src="/a?x=1&amp;y=2" alt=\'/b>c\'/>' +
  '<esi:vars>$(HTTP_HOST)</esi:vars><!--esi <esi:comment text="c"/> --> a --> b' +
  '<esi:remove><esi:include src="/gone"/>removed</esi:remove><es<e<!-<!--x</html>';

describe('Tokenizer', () => {
  it('finds ESI tags, comments and text, and leaves other markup as text', () => {
    assert.deepEqual(tokens([PAGE]), [
      { type: 'text', text: '<html><!-- plain --><p>' },
      { type: 'malformed', raw: '<esi:>', reason: 'no element name after <esi:' },
      { type: 'text', text: 'x</p>' },
      {
        type: 'open',
        name: 'include',
        attrs: { src: '/a?x=1&y=2', alt: '/b>c' },
        selfClosing: true,
        raw: '<esi:include src="/a?x=1&amp;y=2" alt=\'/b>c\'/>',
      },
      { type: 'open', name: 'vars', attrs: {}, selfClosing: false, raw: '<esi:vars>' },
      { type: 'text', text: '$(HTTP_HOST)' },
      { type: 'close', name: 'vars', raw: '</esi:vars>' },
      { type: 'comment-open', raw: '<!--esi' },
      { type: 'text', text: ' ' },
      {
        type: 'open',
        name: 'comment',
        attrs: { text: 'c' },
        selfClosing: true,
        raw: '<esi:comment text="c"/>',
      },
      { type: 'text', text: ' ' },
      { type: 'comment-close', raw: '-->' },
      { type: 'text', text: ' a --> b' },
      { type: 'open', name: 'remove', attrs: {}, selfClosing: false, raw: '<esi:remove>' },
      { type: 'close', name: 'remove', raw: '</esi:remove>' },
      { type: 'text', text: '<es<e<!-<!--x</html>' },
    ]);
  });

  it('gives the same tokens however the input is split', () => {
    const whole = tokens([PAGE]);
    for (let i = 0; i <= PAGE.length; i++) {
      for (let j = i; j <= PAGE.length; j += 7) {
        assert.deepEqual(
          tokens([PAGE.slice(0, i), PAGE.slice(i, j), PAGE.slice(j)]),
          whole,
          `split at ${i}, ${j}`,
        );
      }
    }
    assert.deepEqual(tokens([...PAGE]), whole, 'one byte at a time');
  });

  it('hands text on before the chunk ends and holds back only what may start a tag', () => {
    const t = new Tokenizer();
    assert.deepEqual(t.push('abc<es'), [{ type: 'text', text: 'abc' }]);
    assert.deepEqual(t.push('x'), [{ type: 'text', text: '<esx' }]);
    assert.deepEqual(t.push('<esi:include src="a'), []);
    assert.equal(t.push('"/>').length, 1);
    assert.deepEqual(t.push('<!--esi x-'), [
      { type: 'comment-open', raw: '<!--esi' },
      { type: 'text', text: ' x' },
    ]);
    assert.deepEqual(t.push('-'), []);
    assert.deepEqual(t.push('>'), [{ type: 'comment-close', raw: '-->' }]);
  });

  it('a tag longer than the limit is malformed and passed on as text', () => {
    const long = `<esi:include src="${'a'.repeat(100)}"/>`;
    const out = tokens([long.slice(0, 30), long.slice(30), 'after'], 64);
    assert.equal((out[0] as { type: string }).type, 'malformed');
    assert.match((out[0] as { reason: string }).reason, /longer than 64 bytes/);
    const raw = out
      .map((t) => (t as { raw?: string; text?: string }).raw ?? (t as { text: string }).text)
      .join('');
    assert.equal(raw, `${long}after`);
  });

  it('an unfinished tag at the end, or one interrupted by "<", is malformed', () => {
    assert.deepEqual(tokens(['a<esi:include src="x']), [
      { type: 'text', text: 'a' },
      { type: 'malformed', raw: '<esi:include src="x', reason: 'tag unfinished at the end of the body' },
    ]);
    assert.deepEqual(tokens(['<esi:include <p>']), [
      { type: 'malformed', raw: '<esi:include ', reason: 'tag interrupted by "<"' },
      { type: 'text', text: '<p>' },
    ]);
  });

  it('drops esi:remove content without reading it, and reports one left open', () => {
    assert.deepEqual(tokens(['a<esi:remove><esi:try></esi:removed></esi:remove  >b']), [
      { type: 'text', text: 'a' },
      { type: 'open', name: 'remove', attrs: {}, selfClosing: false, raw: '<esi:remove>' },
      { type: 'close', name: 'remove', raw: '</esi:remove  >' },
      { type: 'text', text: 'b' },
    ]);
    const open = tokens(['<esi:remove>', 'x'.repeat(1000)]);
    assert.equal(open.length, 2);
    assert.deepEqual(open[1], {
      type: 'malformed',
      raw: '',
      reason: 'esi:remove not closed; its content to the end was dropped',
    });
  });
});

describe('parseTag', () => {
  it('reads attributes: quoted, unquoted, valueless, entities, first one wins', () => {
    const t = parseTag('<esi:include src=/a onerror=continue alt="x&#65;&#x42;&lt;" src="/b" flag/>');
    assert.equal(t.type, 'open');
    if (t.type !== 'open') return;
    assert.deepEqual(Object.fromEntries(t.attrs), { src: '/a', onerror: 'continue', alt: 'xAB<', flag: '' });
    assert.equal(t.selfClosing, true);
    const u = parseTag('<esi:include src=/a/>');
    assert.ok(u.type === 'open' && u.selfClosing && u.attrs.get('src') === '/a');
  });

  it('numeric references become UTF-8 bytes', () => {
    const t = parseTag('<esi:vars a="&#233;">');
    assert.ok(t.type === 'open');
    if (t.type === 'open') assert.equal(t.attrs.get('a'), '\xc3\xa9');
  });

  it('malformed tags', () => {
    for (const raw of [
      '<esi:include src="a>',
      '<esi:include / src="a">',
      '<esi:x"y">',
      '</esi:try x>',
      '<esi:include src=>',
    ]) {
      assert.equal(parseTag(raw).type, 'malformed', raw);
    }
  });
});
