import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originUrl, requestHref, requestUrl } from './urls.ts';

describe("a request's URL", () => {
  it('is the Host with the origin-form target as its path (RFC 9112 §3.2.1)', () => {
    assert.equal(requestUrl('/a/b?x=1', 'edge.example:8787').href, 'http://edge.example:8787/a/b?x=1');
  });
  it('keeps a target that begins with //, /.// or /\\ on the Host (not scheme-relative, RFC 3986 §4.2)', () => {
    for (const target of ['//10.0.0.5:6379/x', '/.//10.0.0.5:6379/x', '/\\10.0.0.5:6379/x']) {
      const u = requestUrl(target, 'edge.example');
      assert.equal(u.host, 'edge.example', target);
      assert.equal(u.pathname, '//10.0.0.5:6379/x', target);
    }
  });
  it('takes the host of an absolute-form target (RFC 9112 §3.2.2)', () => {
    assert.equal(requestUrl('http://other.example/p', 'edge.example').href, 'http://other.example/p');
  });
  it('refuses a Host that is more than a host and port', () => {
    for (const host of ['a/b', 'a?b', 'a#b', 'u@a', 'a b', 'a\\b', ''])
      assert.throws(() => requestUrl('/p', host), TypeError, host);
  });
});

describe('the URL of a request at the origin', () => {
  it('is the origin with the request path and query', () => {
    assert.equal(
      originUrl('http://127.0.0.1:3000', 'http://edge.example/a/b?x=1').href,
      'http://127.0.0.1:3000/a/b?x=1',
    );
    assert.equal(originUrl(new URL('https://o.example/'), 'http://e/').href, 'https://o.example/');
  });
  it('keeps a path that begins with // on the origin', () => {
    const u = originUrl('http://127.0.0.1:3000', 'http://edge.example//10.0.0.5:6379/x?y');
    assert.equal(u.host, '127.0.0.1:3000');
    assert.equal(u.pathname, '//10.0.0.5:6379/x');
    assert.equal(u.search, '?y');
  });
  it('keeps /.//host/x (normalized to //host/x) on the origin too', () => {
    const request = new URL('/.//10.0.0.5/x', 'http://edge.example');
    assert.equal(request.pathname, '//10.0.0.5/x');
    const u = originUrl('http://127.0.0.1:3000', request);
    assert.equal(u.host, '127.0.0.1:3000');
    assert.equal(u.pathname, '//10.0.0.5/x');
  });
  it('takes no fragment, credentials or host from the request', () => {
    assert.equal(
      originUrl('http://127.0.0.1:3000', 'http://user:pw@evil.example:81/p#frag').href,
      'http://127.0.0.1:3000/p',
    );
  });
});

describe("a request's URL without the parser (requestHref)", () => {
  it('is what requestUrl makes of it, for plain and tricky targets and hosts alike', () => {
    const hosts = [
      'edge.example',
      'edge.example:8787',
      'EDGE.example',
      'edge.example:80',
      'edge.example:080',
      'edge.example:0',
      'edge.example:65535',
      'edge.example:65536',
      'edge.example:99999',
      '127.0.0.1',
      '127.0.0.1:3000',
      '127.1',
      '0x7f.0.0.1',
      '1.2.3',
      '256.1.1.1',
      '01.2.3.4',
      'a.b.2',
      'a.b.0x',
      'a.0xg',
      'xn--nxasmq6b.example',
      'xn--',
      'a..b',
      'a.',
      '-a-.b',
      'localhost',
      'localhost:8080',
      '[::1]:80',
      'a b',
      'a/b',
      '',
    ];
    const pieces = [
      'a',
      'Z',
      '0',
      '/',
      '.',
      '..',
      '%2e',
      '%41',
      '%',
      '?',
      "'",
      '#',
      ' ',
      '\\',
      'é',
      '~',
      '-',
      '=',
      '&',
      '@',
      ':',
      '[',
      '|',
      '{',
    ];
    let seed = 5;
    const targets = ['/', '/?', '//x', '/./a', '/a/../b', '/a/.', '/a?b/../c', "/a'b?c'd", '/%2e%2e/x'];
    for (let i = 0; i < 3000; i++) {
      let t = '/';
      const n = 1 + (i % 9);
      for (let j = 0; j < n; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        t += pieces[Math.floor(seed / 2 ** 16) % pieces.length];
      }
      targets.push(t);
    }
    const outcome = (f: () => string) => {
      try {
        return f();
      } catch (err) {
        return `throws ${(err as Error).name}`;
      }
    };
    for (const host of hosts)
      for (const target of targets)
        assert.equal(
          outcome(() => requestHref(target, host)),
          outcome(() => requestUrl(target, host).href),
          `${target} on ${host}`,
        );
  });
});
