// The host's check of a data point: workerd's limits and error texts, and what is stored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AE_ERRORS } from './limits.ts';
import { checkPoint } from './point.ts';

describe('checkPoint', () => {
  it('stores unset blobs as "", unset doubles as 0, NaN as null, bytes decoded as UTF-8', () => {
    const p = checkPoint({
      blobs: ['a', null, new TextEncoder().encode('é').buffer],
      doubles: [1.5, Number.NaN],
    });
    assert.equal(p.index1, '');
    assert.deepEqual(p.blobs.slice(0, 4), ['a', '', 'é', '']);
    assert.equal(p.blobs.length, 20);
    assert.deepEqual(p.doubles.slice(0, 3), [1.5, null, 0]);
    assert.equal(p.doubles.length, 20);
    assert.equal(checkPoint({ indexes: ['k'] }).index1, 'k');
    assert.equal(
      checkPoint({}).blobs.every((b) => b === ''),
      true,
    );
  });

  it("refuses what Cloudflare refuses, with workerd's texts", () => {
    const throwsWith = (p: unknown, message: string) =>
      assert.throws(
        () => checkPoint(p),
        (e: Error) => e instanceof TypeError && e.message === message,
      );
    throwsWith({ blobs: Array(21).fill('x') }, AE_ERRORS.tooManyBlobs);
    throwsWith({ doubles: Array(21).fill(1) }, AE_ERRORS.tooManyDoubles);
    throwsWith({ indexes: ['a', 'b'] }, AE_ERRORS.tooManyIndexes);
    throwsWith({ indexes: ['x'.repeat(97)] }, AE_ERRORS.indexTooBig);
    throwsWith({ blobs: ['x'.repeat(8000), 'y'.repeat(8001)] }, AE_ERRORS.blobsTooBig);
    // Bytes, not characters: 5,334 three-byte characters are 16,002 bytes.
    throwsWith({ blobs: ['€'.repeat(5334)] }, AE_ERRORS.blobsTooBig);
    assert.equal(checkPoint({ blobs: ['x'.repeat(16_000)] }).blobs[0].length, 16_000);
    // Over the limit by its length alone: refused before it is measured or copied.
    throwsWith({ blobs: ['a', 'x'.repeat(20_000_000)] }, AE_ERRORS.blobsTooBig);
    throwsWith({ blobs: [new Uint8Array(16_001)] }, AE_ERRORS.blobsTooBig);
    assert.equal(checkPoint({ indexes: ['x'.repeat(96)] }).index1.length, 96);
    assert.match(AE_ERRORS.tooManyBlobs, /^writeDataPoint\(\): Maximum of 20 blobs supported\.$/);
    assert.match(AE_ERRORS.indexTooBig, /^writeDataPoint\(\): Size of indexes\[0\] exceeds 96 bytes\)\.$/);
  });

  it('refuses shapes the isolate never sends (a tenant calling the syscall itself)', () => {
    assert.throws(() => checkPoint(null), TypeError);
    assert.throws(() => checkPoint({ blobs: 'x' }), /'blobs' field .* not of type 'Array'/);
    assert.throws(() => checkPoint({ blobs: [{}] }), /strings or ArrayBuffers/);
    assert.throws(() => checkPoint({ doubles: ['1'] }), /doubles must be numbers/);
    // A huge sparse array is refused by its length, not walked.
    const sparse: unknown[] = [];
    sparse.length = 2 ** 31;
    assert.throws(
      () => checkPoint({ blobs: sparse }),
      (e: Error) => e.message === AE_ERRORS.tooManyBlobs,
    );
  });
});
