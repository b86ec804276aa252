import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rangeFor } from './range.ts';

const stored = ['etag', '"v1"', 'last-modified', 'Wed, 01 Jan 2025 00:00:00 GMT'];
const r = (range: string, extra: string[] = [], method = 'GET') =>
  rangeFor(method, ['range', range, ...extra], stored, 10);

describe('Range from a stored response (RFC 9110 §14)', () => {
  it('serves byte-range-spec, open-ended and suffix ranges (§14.1.1, §14.1.2)', () => {
    assert.deepEqual(r('bytes=0-1'), { kind: 'partial', start: 0, end: 1 });
    assert.deepEqual(r('bytes=1-'), { kind: 'partial', start: 1, end: 9 });
    assert.deepEqual(r('bytes=-1'), { kind: 'partial', start: 9, end: 9 });
    assert.deepEqual(r('bytes=-50'), { kind: 'partial', start: 0, end: 9 });
    assert.deepEqual(
      r('bytes=5-500'),
      { kind: 'partial', start: 5, end: 9 },
      'last-pos past the end is clamped',
    );
  });
  it('answers 416 when the first position is past the end (§15.5.17)', () => {
    assert.deepEqual(r('bytes=10-'), { kind: 'unsatisfiable' });
    assert.deepEqual(r('bytes=-0'), { kind: 'unsatisfiable' });
  });
  it('ignores invalid ranges, other units, several ranges and non-GET methods (§14.2)', () => {
    for (const v of ['bytes=5-2', 'items=0-1', 'bytes=0-1,3-4', 'bytes=abc', 'bytes=-'])
      assert.deepEqual(r(v), { kind: 'full' }, v);
    assert.deepEqual(r('bytes=0-1', [], 'HEAD'), { kind: 'full' });
    assert.deepEqual(rangeFor('GET', [], stored, 10), { kind: 'full' });
  });
  it('If-Range needs a strong ETag match or the exact Last-Modified date (§13.1.5)', () => {
    assert.equal(r('bytes=0-1', ['if-range', '"v1"']).kind, 'partial');
    assert.equal(r('bytes=0-1', ['if-range', '"v2"']).kind, 'full');
    assert.equal(r('bytes=0-1', ['if-range', 'W/"v1"']).kind, 'full');
    assert.equal(r('bytes=0-1', ['if-range', 'Wed, 01 Jan 2025 00:00:00 GMT']).kind, 'partial');
    assert.equal(r('bytes=0-1', ['if-range', 'Thu, 02 Jan 2025 00:00:00 GMT']).kind, 'full');
  });
});
