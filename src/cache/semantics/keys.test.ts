import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidatedUrls } from './invalidation.ts';
import { clientNotModified, conditionalHeaders, freshen, notModifiedMatches } from './validation.ts';
import { varyKey, varyMatches } from './vary.ts';

describe('Vary (RFC 9111 §4.1)', () => {
  it('matches on the named request headers, normalizing whitespace and field lines', () => {
    const key = varyKey(['vary', 'Accept-Encoding, accept-language'], ['accept-encoding', 'gzip,  br']);
    assert.deepEqual(key, { 'accept-encoding': 'gzip,br', 'accept-language': null });
    assert.equal(varyMatches(key, ['accept-encoding', 'gzip', 'accept-encoding', 'br']), true);
    assert.equal(varyMatches(key, ['accept-encoding', 'gzip, br', 'accept-language', 'en']), false);
    assert.equal(varyMatches(key, ['accept-encoding', 'br']), false);
  });
  it('Vary: * never matches', () => {
    assert.equal(varyMatches(varyKey(['vary', '*'], []), []), false);
  });
});

describe('invalidation (RFC 9111 §4.4)', () => {
  it('an unsafe request with a non-error answer invalidates the target, Location and Content-Location on the same origin', () => {
    assert.deepEqual(
      invalidatedUrls('POST', 'https://a.example/items', 201, [
        'location',
        '/items/7',
        'content-location',
        'https://evil.example/x',
      ]),
      ['https://a.example/items', 'https://a.example/items/7'],
    );
  });
  it('safe methods and error answers invalidate nothing', () => {
    assert.deepEqual(invalidatedUrls('GET', 'https://a.example/', 200, []), []);
    assert.deepEqual(invalidatedUrls('DELETE', 'https://a.example/', 500, []), []);
  });
});

describe('validation (RFC 9111 §4.3)', () => {
  const stored = [
    'etag',
    '"v1"',
    'last-modified',
    'Thu, 01 Jan 2026 00:00:00 GMT',
    'content-length',
    '5',
    'x-a',
    'old',
  ];
  it('sends If-None-Match and If-Modified-Since from the stored validators (§4.3.1)', () => {
    assert.deepEqual(conditionalHeaders(stored), [
      'if-none-match',
      '"v1"',
      'if-modified-since',
      'Thu, 01 Jan 2026 00:00:00 GMT',
    ]);
  });
  it('a 304 replaces stored headers except those describing the body (§4.3.4)', () => {
    const out = freshen(stored, ['x-a', 'new', 'content-length', '0', 'cache-control', 'max-age=9']);
    assert.deepEqual(out, [
      'etag',
      '"v1"',
      'last-modified',
      'Thu, 01 Jan 2026 00:00:00 GMT',
      'content-length',
      '5',
      'x-a',
      'new',
      'cache-control',
      'max-age=9',
    ]);
  });
  it('a 304 applies only when its validator matches the stored one (§4.3.4)', () => {
    assert.equal(notModifiedMatches(stored, ['etag', '"v1"']), true);
    assert.equal(notModifiedMatches(stored, ['etag', '"v2"']), false);
  });
  it('answers a client conditional from the stored response (RFC 9110 §13.1.2, §13.1.3)', () => {
    assert.equal(clientNotModified(['if-none-match', 'W/"v1", "x"'], stored), true);
    assert.equal(clientNotModified(['if-none-match', '"v2"'], stored), false);
    assert.equal(clientNotModified(['if-modified-since', 'Fri, 02 Jan 2026 00:00:00 GMT'], stored), true);
    assert.equal(clientNotModified(['if-modified-since', 'Wed, 31 Dec 2025 00:00:00 GMT'], stored), false);
  });
});
