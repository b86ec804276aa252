import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCacheControl } from './cache-control.ts';
import { ageHeader, currentAge, freshnessLifetime, requestAcceptsStale, usability } from './freshness.ts';

const T = Date.parse('Thu, 01 Jan 2026 00:00:00 GMT');
const date = (ms: number) => new Date(ms).toUTCString();
const cc = (v: string) => parseCacheControl(v ? [v] : []);

describe('freshness lifetime (RFC 9111 §4.2.1)', () => {
  it('s-maxage wins over max-age for a shared cache, max-age over Expires', () => {
    const h = ['date', date(T), 'expires', date(T + 10_000)];
    assert.equal(freshnessLifetime(200, h, cc('max-age=60, s-maxage=120'), T).seconds, 120);
    assert.equal(freshnessLifetime(200, h, cc('max-age=60'), T).seconds, 60);
    assert.equal(freshnessLifetime(200, h, cc(''), T).seconds, 10);
  });
  it('an invalid Expires means already expired (§5.3)', () => {
    assert.equal(freshnessLifetime(200, ['expires', '0'], cc(''), T).seconds, 0);
  });
  it('an Expires that is not an IMF-fixdate or obsolete HTTP-date, or has several lines, is expired (§5.3)', () => {
    const d = ['date', date(T)];
    const future = date(T + 3_600_000); // e.g. "Thu, 01 Jan 2026 01:00:00 GMT"
    assert.equal(freshnessLifetime(200, [...d, 'expires', future], cc(''), T).seconds, 3600);
    for (const bad of [
      future.replace('GMT', 'UTC'),
      future.replace(',', ''),
      future.replace(/ /g, '  '),
      future.replace(/(\d\d) (\w\w\w) (\d{4})/, '$1-$2-$3'),
      future.replace(' 01:', ' 1:'),
    ])
      assert.equal(freshnessLifetime(200, [...d, 'expires', bad], cc(''), T).seconds, 0, bad);
    assert.equal(
      freshnessLifetime(200, [...d, 'expires', future, 'expires', future], cc(''), T).seconds,
      0,
      'two field lines',
    );
  });
  it('heuristic freshness: 10% of the time since Last-Modified, only for heuristically cacheable statuses (§4.2.2)', () => {
    const h = ['date', date(T), 'last-modified', date(T - 100_000_000)];
    const r = freshnessLifetime(200, h, cc(''), T);
    assert.deepEqual(r, { seconds: 10_000, heuristic: true });
    assert.equal(freshnessLifetime(302, h, cc(''), T).seconds, 0);
    assert.equal(freshnessLifetime(302, h, cc('public'), T).seconds, 10_000);
  });
  it('caps a heuristic lifetime at a day', () => {
    const h = ['date', date(T), 'last-modified', date(T - 365 * 86_400_000)];
    assert.equal(freshnessLifetime(200, h, cc(''), T).seconds, 86_400);
  });
});

describe('age (RFC 9111 §4.2.3)', () => {
  it('adds the Age header, the response delay and the time resident in the cache', () => {
    const h = ['date', date(T), 'age', '30'];
    // request sent at T, response received 2 s later, looked up 10 s after that
    assert.equal(currentAge(h, T, T + 2000, T + 12_000), 42);
  });
  it('uses the apparent age when the Date says more than Age does', () => {
    const h = ['date', date(T - 100_000)];
    assert.equal(currentAge(h, T, T, T), 100);
  });
  it('ignores a negative or invalid Age', () => {
    assert.equal(currentAge(['date', date(T), 'age', '-5'], T, T, T + 1000), 1);
    assert.equal(currentAge(['date', date(T), 'age', 'x'], T, T, T + 1000), 1);
    assert.equal(ageHeader(['age', '7200.0']), 0);
    assert.equal(ageHeader(['age', '7200;foo=bar']), 0);
  });
  it('a list-valued Age counts by its first member, on one line or several (§5.1)', () => {
    assert.equal(ageHeader(['age', '7200, 0']), 7200);
    assert.equal(ageHeader(['age', '0, 7200']), 0);
    assert.equal(ageHeader(['age', '7200', 'age', '0']), 7200);
    assert.equal(ageHeader(['age', '0', 'age', '7200']), 0);
    assert.equal(ageHeader(['age', 'x, 7200']), 0, 'an invalid first member: the field is ignored');
    assert.equal(currentAge(['date', date(T), 'age', '7200, 0'], T, T, T), 7200);
  });
});

describe('serving from the cache (§4.2, §5.2.1, RFC 5861)', () => {
  it('fresh while age < lifetime; request max-age and min-fresh tighten it (§5.2.1.1, §5.2.1.3)', () => {
    assert.equal(usability(60, 30, cc(''), cc('')).fresh, true);
    assert.equal(usability(60, 30, cc(''), cc('max-age=10')).fresh, false);
    assert.equal(usability(60, 30, cc(''), cc('min-fresh=40')).fresh, false);
    assert.equal(usability(60, 61, cc(''), cc('')).fresh, false);
  });
  it('no-cache responses are never fresh without validation (§5.2.2.4)', () => {
    assert.equal(usability(60, 1, cc('no-cache'), cc('')).fresh, false);
  });
  it('stale-while-revalidate and stale-if-error windows (RFC 5861), closed by must-revalidate (§5.2.2.2)', () => {
    const u = usability(10, 15, cc('max-age=10, stale-while-revalidate=10, stale-if-error=100'), cc(''));
    assert.deepEqual([u.withinStaleWhileRevalidate, u.withinStaleIfError], [true, true]);
    const late = usability(10, 25, cc('max-age=10, stale-while-revalidate=10, stale-if-error=100'), cc(''));
    assert.deepEqual([late.withinStaleWhileRevalidate, late.withinStaleIfError], [false, true]);
    const strict = usability(10, 15, cc('max-age=10, stale-while-revalidate=10, must-revalidate'), cc(''));
    assert.equal(strict.withinStaleWhileRevalidate, false);
    assert.equal(
      usability(10, 15, cc('max-age=10, proxy-revalidate, stale-if-error=60'), cc('')).withinStaleIfError,
      false,
    );
  });
  it('a request may accept staleness with max-stale, unless the response forbids it (§5.2.1.2, §4.2.4)', () => {
    assert.equal(requestAcceptsStale(5, cc(''), cc('max-stale=10')), true);
    assert.equal(requestAcceptsStale(15, cc(''), cc('max-stale=10')), false);
    assert.equal(requestAcceptsStale(1000, cc(''), cc('max-stale')), true);
    for (const forbid of ['must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage=10'])
      assert.equal(requestAcceptsStale(5, cc(`max-age=10, ${forbid}`), cc('max-stale')), false, forbid);
  });
  it('served stale when the origin cannot be reached, unless a directive forbids it (§4.2.4)', () => {
    assert.equal(usability(10, 15, cc('max-age=10'), cc('')).staleIfDisconnected, true);
    assert.equal(usability(10, 5, cc('max-age=10'), cc('')).staleIfDisconnected, false, 'fresh');
    for (const forbid of ['must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage=10'])
      assert.equal(
        usability(10, 15, cc(`max-age=10, ${forbid}`), cc('')).staleIfDisconnected,
        false,
        `${forbid} (§5.2.2.2, §5.2.2.8, §5.2.2.4, §5.2.2.10)`,
      );
    for (const ask of ['no-cache', 'max-age=0', 'min-fresh=1', 'max-stale=2'])
      assert.equal(usability(10, 15, cc('max-age=10'), cc(ask)).staleIfDisconnected, false, ask);
    assert.equal(usability(10, 15, cc('max-age=10'), cc('max-stale=20')).staleIfDisconnected, true);
    assert.equal(usability(10, 1000, cc('max-age=10'), cc('')).staleIfDisconnected, true, 'however stale');
    assert.equal(
      usability(10, 1000, cc('max-age=10, stale-if-error=60'), cc('')).staleIfDisconnected,
      false,
      'an explicit stale-if-error window bounds it',
    );
  });
  it('no-cache closes the stale-if-error window; s-maxage does not close explicit stale windows', () => {
    assert.equal(
      usability(10, 15, cc('max-age=10, no-cache, stale-if-error=60'), cc('')).withinStaleIfError,
      false,
    );
    const u = usability(10, 15, cc('s-maxage=10, stale-while-revalidate=30, stale-if-error=60'), cc(''));
    assert.deepEqual([u.withinStaleWhileRevalidate, u.withinStaleIfError], [true, true]);
  });
});
