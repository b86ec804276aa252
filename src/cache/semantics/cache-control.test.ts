import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edgeDirectives, parseCacheControl } from './cache-control.ts';

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it('reads directives case-insensitively across field lines, with quoted arguments (§5.2)', () => {
    const d = parseCacheControl(['Max-Age=60, no-cache="Set-Cookie, X-A"', 'S-MAXAGE="120", public']);
    assert.equal(d.maxAge, 60);
    assert.equal(d.sMaxage, 120);
    assert.equal(d.noCache, false);
    assert.deepEqual(d.noCacheFields, ['set-cookie', 'x-a']);
    assert.equal(d.public, true);
  });
  it('treats an invalid or duplicated delta-seconds as 0, i.e. stale (§4.2.1, §1.2.2)', () => {
    assert.equal(parseCacheControl(['max-age=abc']).maxAge, 0);
    assert.equal(parseCacheControl(['max-age=-5']).maxAge, 0);
    assert.equal(parseCacheControl(['max-age=60, max-age=3600']).maxAge, 0);
    assert.equal(parseCacheControl(['max-age=99999999999']).maxAge, 2147483648);
  });
  it('bare max-stale accepts any staleness; with a value, that much (§5.2.1.2)', () => {
    assert.equal(parseCacheControl(['max-stale']).maxStaleAny, true);
    assert.equal(parseCacheControl(['max-stale=30']).maxStale, 30);
  });
  it('private with field names does not make the response private as a whole (§5.2.2.7)', () => {
    const d = parseCacheControl(['private="set-cookie"']);
    assert.equal(d.private, false);
    assert.deepEqual(d.privateFields, ['set-cookie']);
    assert.equal(parseCacheControl(['private']).private, true);
  });
  it('reads stale-while-revalidate and stale-if-error (RFC 5861 §3, §4)', () => {
    const d = parseCacheControl(['max-age=1, stale-while-revalidate=30, stale-if-error=600']);
    assert.deepEqual([d.staleWhileRevalidate, d.staleIfError], [30, 600]);
  });
  it('ignores garbage without throwing', () => {
    const d = parseCacheControl(['=,,;;"unterminated, max-age=5']);
    assert.equal(d.noStore, false);
  });
});

describe('edge directives (RFC 9213)', () => {
  it('CDN-Cache-Control replaces Cache-Control for the edge (§2.1)', () => {
    const { directives, from } = edgeDirectives([
      'cache-control',
      'max-age=60',
      'cdn-cache-control',
      'max-age=3600',
    ]);
    assert.equal(from, 'cdn-cache-control');
    assert.equal(directives.maxAge, 3600);
  });
  it('Surrogate-Control is next; Cache-Control last', () => {
    assert.equal(
      edgeDirectives(['surrogate-control', 'max-age=5', 'cache-control', 'no-store']).directives.maxAge,
      5,
    );
    // A Surrogate-Control that only asks for ESI says nothing of freshness: Cache-Control decides.
    assert.equal(
      edgeDirectives(['surrogate-control', 'content="ESI/1.0"', 'cache-control', 'max-age=60']).directives
        .maxAge,
      60,
    );
    assert.equal(edgeDirectives(['cache-control', 'no-store']).directives.noStore, true);
  });
});
