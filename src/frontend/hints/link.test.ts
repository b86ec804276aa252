import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLink, linkParam, mergeLinks, parseLinkHeader, relTypes } from './link.ts';

const targets = (v: string) => parseLinkHeader(v).map((l) => l.target);

describe('parseLinkHeader (RFC 8288 §3)', () => {
  it('reads several link-values with their parameters in order', () => {
    const links = parseLinkHeader('</a.css>; rel=preload; as=style, <https://cdn.example>; rel=preconnect');
    assert.deepEqual(links, [
      {
        target: '/a.css',
        params: [
          { name: 'rel', value: 'preload' },
          { name: 'as', value: 'style' },
        ],
      },
      { target: 'https://cdn.example', params: [{ name: 'rel', value: 'preconnect' }] },
    ]);
  });

  it('a comma inside a quoted-string or inside <> does not end the link-value', () => {
    const links = parseLinkHeader(
      '</a,b.js>; rel=preload; title="one, two", </c.png>; rel="preload"; imagesrcset="c1.png 1x, c2.png 2x"',
    );
    assert.deepEqual(
      links.map((l) => l.target),
      ['/a,b.js', '/c.png'],
    );
    assert.equal(linkParam(links[0], 'title'), 'one, two');
    assert.equal(linkParam(links[1], 'imagesrcset'), 'c1.png 1x, c2.png 2x');
  });

  it('a semicolon inside a quoted-string is part of the value, and \\ escapes', () => {
    const [l] = parseLinkHeader('</x>; title="a; b \\"q\\" \\\\"; rel=preload');
    assert.equal(linkParam(l, 'title'), 'a; b "q" \\');
    assert.deepEqual(relTypes(l), ['preload']);
  });

  it('parameter names and relation types compare case-insensitively', () => {
    const [l] = parseLinkHeader('</x.js>; REL="PreLoad Prefetch"; As=script');
    assert.deepEqual(relTypes(l), ['preload', 'prefetch']);
    assert.equal(linkParam(l, 'as'), 'script');
  });

  it('a link-value without <> is skipped up to the next comma; the rest is read', () => {
    assert.deepEqual(targets('/a.css; rel=preload, </b.css>; rel=preload'), ['/b.css']);
    assert.deepEqual(targets('garbage "with, comma", </b.css>; rel=preload'), ['/b.css']);
    assert.deepEqual(targets('</a.css> junk; rel=preload, </b.css>'), ['/b.css']);
    assert.deepEqual(
      targets('junk <x,</evil>; rel=preload>, </ok>'),
      ['/ok'],
      'a comma inside <> of junk is skipped too',
    );
  });

  it('an unterminated target or quoted-string ends the field; what came before is kept', () => {
    assert.deepEqual(targets('</a>; rel=preload, </b; rel=preload'), ['/a']);
    assert.deepEqual(targets('</a>; rel=preload, </b>; title="open, </c>'), ['/a']);
  });

  it('tolerates OWS, empty parameters, valueless ones and values that are not tokens', () => {
    const [l] = parseLinkHeader(
      '  < /x >; rel=preload, </f.woff2> ;rel=preload ; ; as=font;type=font/woff2; crossorigin;',
    );
    assert.equal(l.target, '/f.woff2', 'a target with whitespace is refused');
    assert.deepEqual(l.params, [
      { name: 'rel', value: 'preload' },
      { name: 'as', value: 'font' },
      { name: 'type', value: 'font/woff2' },
      { name: 'crossorigin', value: undefined },
    ]);
  });

  it('only the first rel counts (§3.3)', () => {
    const [l] = parseLinkHeader('</x>; rel=preload; rel=stylesheet');
    assert.deepEqual(relTypes(l), ['preload']);
    assert.equal(l.params.length, 1);
  });

  it('never throws on junk, and yields nothing from nothing', () => {
    for (const v of ['', ',,,', '<', '>', '"', ';', '<>;;=,"\\', '\u0000<\r\n>', 'a'.repeat(10000)])
      assert.doesNotThrow(() => parseLinkHeader(v));
    assert.deepEqual(parseLinkHeader(''), []);
    assert.deepEqual(parseLinkHeader(undefined as unknown as string), []);
    assert.deepEqual(targets('<>; rel=preload'), ['']);
  });
});

describe('formatLink', () => {
  it('writes tokens bare, other values quoted, valueless parameters by name', () => {
    assert.equal(
      formatLink({
        target: '/a b/ü.css',
        params: [
          { name: 'REL', value: 'preload' },
          { name: 'type', value: 'text/css' },
          { name: 'crossorigin', value: undefined },
        ],
      }),
      '</a%20b/%C3%BC.css>; rel=preload; type="text/css"; crossorigin',
    );
  });

  it('refuses values Node writeEarlyHints would refuse (whitespace, ; or " inside)', () => {
    for (const value of ['a b', 'a;b', 'a"b'])
      assert.equal(formatLink({ target: '/x', params: [{ name: 'title', value }] }), null, value);
  });

  it('round-trips through the parser', () => {
    const text = '</x.js>; rel=preload; as=script; title="a,b"; crossorigin';
    assert.equal(formatLink(parseLinkHeader(text)[0]), text);
  });
});

describe('mergeLinks', () => {
  it('keeps the first of each value, in order', () => {
    assert.deepEqual(mergeLinks(['a', 'b'], undefined, ['b', 'c']), ['a', 'b', 'c']);
  });
});
