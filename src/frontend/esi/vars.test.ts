import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptsLanguage,
  parseUserAgent,
  readVarRef,
  substitute,
  substitutePart,
  Variables,
} from './vars.ts';

const UA_CHROME_WIN =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const vars = new Variables({
  url: new URL('https://shop.test/p?q=a%26b&x=1&empty=&x=2'),
  headers: new Map([
    ['cookie', 'user=bob; theme="dark"; user=shadow'],
    ['host', 'www.shop.test'],
    ['referer', 'https://ref.test/from'],
    ['accept-language', 'da, en-GB;q=0.8, fr;q=0'],
    ['user-agent', UA_CHROME_WIN],
  ]),
  geo: { country_code: 'DK', city: 'København' },
});
const v = (s: string) => substitute(s, vars);

describe('ESI variables', () => {
  it('HTTP_COOKIE: one cookie (first wins, quotes off) or the whole header', () => {
    assert.equal(v('$(HTTP_COOKIE{user})'), 'bob');
    assert.equal(v('$(HTTP_COOKIE{theme})'), 'dark');
    assert.equal(v('[$(HTTP_COOKIE{none})]'), '[]');
    assert.equal(v('$(HTTP_COOKIE)'), 'user=bob; theme="dark"; user=shadow');
  });

  it('HTTP_HOST, HTTP_REFERER', () => {
    assert.equal(v('$(HTTP_HOST)'), 'www.shop.test');
    assert.equal(v('$(HTTP_REFERER)'), 'https://ref.test/from');
    const bare = new Variables({ url: new URL('http://h.test:8080/'), headers: () => null });
    assert.equal(substitute('$(HTTP_HOST)|$(HTTP_REFERER)', bare), 'h.test:8080|');
  });

  it('QUERY_STRING: a parameter as sent (first value) or the whole query', () => {
    assert.equal(v('$(QUERY_STRING{q})'), 'a%26b');
    assert.equal(v('$(QUERY_STRING{x})'), '1');
    assert.equal(v('[$(QUERY_STRING{empty})]'), '[]');
    assert.equal(v('$(QUERY_STRING)'), 'q=a%26b&x=1&empty=&x=2');
  });

  it('HTTP_ACCEPT_LANGUAGE{lang} is a boolean; bare it is the header', () => {
    assert.equal(v('$(HTTP_ACCEPT_LANGUAGE{da})'), 'true');
    assert.equal(v('$(HTTP_ACCEPT_LANGUAGE{en})'), 'true', 'en-GB counts for en');
    assert.equal(v('$(HTTP_ACCEPT_LANGUAGE{fr})'), 'false', 'q=0 is not acceptable');
    assert.equal(v('$(HTTP_ACCEPT_LANGUAGE{de})'), 'false');
    assert.equal(v('$(HTTP_ACCEPT_LANGUAGE)'), 'da, en-GB;q=0.8, fr;q=0');
    assert.equal(acceptsLanguage('en-us', 'EN'), true);
    assert.equal(acceptsLanguage('english', 'en'), false);
  });

  it('HTTP_USER_AGENT{browser|version|os}', () => {
    assert.equal(
      v('$(HTTP_USER_AGENT{browser}) $(HTTP_USER_AGENT{version}) $(HTTP_USER_AGENT{os})'),
      'MOZILLA 5.0 WIN',
    );
    assert.deepEqual(parseUserAgent('Mozilla/4.0 (compatible; MSIE 6.0; Windows 98)'), {
      browser: 'MSIE',
      version: '6.0',
      os: 'WIN',
    });
    assert.equal(parseUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)').os, 'MAC');
    assert.equal(parseUserAgent('Mozilla/5.0 (X11; Linux x86_64)').os, 'UNIX');
    assert.deepEqual(parseUserAgent('curl/8.0'), { browser: 'OTHER', version: '', os: 'OTHER' });
    assert.equal(v('$(HTTP_USER_AGENT)'), UA_CHROME_WIN);
  });

  it('GEO{…} from the caller; unknown names and keys are empty', () => {
    assert.equal(v('$(GEO{country_code}) $(GEO{city})'), 'DK København');
    assert.equal(v('[$(GEO{region_code})][$(GEO)][$(NOPE)][$(HTTP_HOST{x})]'), '[][][][www.shop.test]');
  });

  it('defaults (§4.2) stand in for empty values, quoted or not', () => {
    assert.equal(v("$(HTTP_COOKIE{none}|'guest')"), 'guest');
    assert.equal(v('$(HTTP_COOKIE{none}|guest)'), 'guest');
    assert.equal(v("$(HTTP_COOKIE{user}|'guest')"), 'bob');
    assert.equal(v("$(QUERY_STRING{empty}|'e')"), 'e');
    assert.equal(v("$(HTTP_COOKIE{none}|'a)b')"), 'a)b');
  });

  it('text that only looks like a reference stays', () => {
    assert.equal(v('$ $( $(lower case) $(HTTP_HOST'), '$ $( $(lower case) $(HTTP_HOST');
    assert.equal(readVarRef('$(A{k}|d)')?.ref.fallback, 'd');
  });

  it('substitutePart: the same result wherever the text is split', () => {
    const text = "a $(HTTP_COOKIE{user}) b $(HTTP_COOKIE{x}|'q)r') $(HTTP_HOST $ $(GEO{city})$";
    const whole = v(text);
    for (let i = 0; i <= text.length; i++) {
      const a = substitutePart(text.slice(0, i), vars, (s) => s, true);
      const b = substitutePart(a.rest + text.slice(i), vars, (s) => s, false);
      assert.equal(a.out + b.out, whole, `split at ${i}`);
    }
  });
});
