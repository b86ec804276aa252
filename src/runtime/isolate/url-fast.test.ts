// The fast path against Node's WHATWG URL parser (the one the host uses): wherever fastParse
// answers, its components must be the parser's, on hand-picked URLs and on generated ones
// built from the characters and shapes that make the parser change what it is given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { URL_PARTS } from '../url-parts.ts';
import { fastParse } from './url-fast.ts';

function hostParse(input: string, base?: string): string[] | null {
  try {
    const u = new URL(input, base);
    return URL_PARTS.map((k) => u[k]);
  } catch {
    return null;
  }
}

/** fastParse agrees with the host wherever it answers; whether it answered. */
function agrees(input: string, base?: string): boolean {
  const fast = fastParse(input, base);
  if (fast === undefined) return false;
  assert.deepEqual(fast, hostParse(input, base), `${JSON.stringify(input)} against ${JSON.stringify(base)}`);
  return true;
}

describe('fastParse', () => {
  it('takes the common URLs, as the WHATWG parser parses them', () => {
    for (const u of [
      'http://127.0.0.1:8787/rpc',
      'https://example.com',
      'https://example.com/',
      'https://api.example.com/v1/users/42?expand=true&x=1#top',
      'http://localhost:3000/a/b/c.js?',
      'https://example.com/?',
      'https://example.com/#',
      'https://example.com/a//b',
      'https://example.com/%20space%2Fslash',
      "https://example.com/it's/fine",
      'https://example.com/path;param=1?q=a?b#frag#more',
      'http://0.0.0.0:65535/',
      'https://sub-domain.example-site.co.uk/x',
      'https://123.example.com/',
    ])
      assert.ok(agrees(u), `takes ${u}`);
  });

  it('takes path-absolute references against a base it takes', () => {
    for (const [u, b] of [
      ['/x?y=1#z', 'https://example.com/a/b?q#h'],
      ['/', 'http://127.0.0.1:8787/rpc'],
      ['https://other.example/', 'https://example.com/'],
    ])
      assert.ok(agrees(u, b), `takes ${u} against ${b}`);
  });

  it('leaves to the host whatever the parser would change or refuse', () => {
    for (const u of [
      'HTTP://example.com/',
      'http://Example.com/',
      'http://example.com:80/',
      'https://example.com:443/',
      'http://example.com:080/',
      'http://example.com:/',
      'http://example.com:99999/',
      'http://user:pass@example.com/',
      'http://example.com/a/../b',
      'http://example.com/a/./b',
      'http://example.com/a/%2e%2E/b',
      'http://example.com/a/.%2e',
      'http://example.com\\a',
      'http://example.com/a\\b',
      'http://example.com/a b',
      'http://example.com/a"b',
      'http://example.com/a<b>',
      'http://example.com/{a}',
      "http://example.com/?q='x'",
      'http://example.com/é',
      ' http://example.com/',
      'http://example.com/\t',
      'http://127.1/',
      'http://0x7f.0.0.1/',
      'http://010.0.0.1/',
      'http://256.0.0.1/',
      'http://example.1/',
      'http://xn--nxasmq6b.com/',
      'http://a..b/',
      'http://example.com./',
      'http://[::1]/',
      'http:///x',
      'ftp://example.com/',
      'wss://example.com/',
      'mailto:a@example.com',
    ])
      assert.equal(fastParse(u), undefined, `leaves ${u}`);
    assert.equal(fastParse('x', 'https://example.com/'), undefined);
    assert.equal(fastParse('//other/', 'https://example.com/'), undefined);
    assert.equal(fastParse('/x', 'not a url'), undefined);
    assert.equal(fastParse(`https://example.com/${'a'.repeat(10_000)}`), undefined);
  });

  it('agrees with the host on 20,000 generated URLs (a seeded generator of tricky parts)', () => {
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)];
    /** Mostly a part the fast path takes, else a tricky one: both sides of every check are met. */
    const either = <T>(plain: readonly T[], tricky: readonly T[]) => (rand(4) ? pick(plain) : pick(tricky));
    const SCHEMES = ['http://', 'https://'];
    const ODD_SCHEMES = ['HTTP://', 'http:/', 'http:', 'https:\\\\', 'ws://', 'Https://'];
    const HOSTS = ['example.com', 'a.b.c', '127.0.0.1', '1.2.3.4', 'a-b.c', '-a.b', 'a.b-', '123.a', 'x'];
    const ODD_HOSTS = [
      'Example.COM',
      '01.2.3.4',
      '1.2.3',
      '0x10.0.0.1',
      '255.255.255.255',
      '256.1.1.1',
      'xn--a.b',
      'a..b',
      'a.b.',
      '',
      'a@b',
      'u:p@h',
      'h%41',
      'exa mple',
      '[::1]',
      'a.123',
    ];
    const PORTS = ['', '', ':8080', ':65535', ':1'];
    const ODD_PORTS = [':80', ':443', ':0', ':00', ':65536', ':', ':1a', ':080'];
    const CHARS = [...'abcXYZ019/.?#%2eE-_~!$&()*+,;=:@'];
    const ODD_CHARS = [...'\'"<>`{}^|\\ \té'];
    const segment = () => {
      const r = rand(30);
      if (r === 0) return '.';
      if (r === 1) return '..';
      if (r === 2) return '%2e';
      return Array.from({ length: rand(6) }, () => (rand(12) ? pick(CHARS) : pick(ODD_CHARS))).join('');
    };
    const tail = () => {
      const path = Array.from({ length: rand(4) }, segment).join('/');
      return (rand(2) ? '/' : '') + path;
    };
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const url = either(SCHEMES, ODD_SCHEMES) + either(HOSTS, ODD_HOSTS) + either(PORTS, ODD_PORTS) + tail();
      if (agrees(url)) taken++;
      if (i % 4 === 0 && agrees(`/${tail()}`, url)) taken++;
    }
    // The generator must reach the fast path often, or the comparison proves nothing.
    assert.ok(taken > 4000, `the fast path answered ${taken} times`);
  });
});
