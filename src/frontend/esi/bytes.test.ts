import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binaryToUtf8,
  fromBinary,
  portableFromBinary,
  portableToBinary,
  toBinary,
  utf8ToBinary,
} from './bytes.ts';

const every = new Uint8Array(20000).map((_, i) => (i * 7) % 256);

describe('binary strings', () => {
  it('every byte value survives the round trip, native and portable, from any offset', () => {
    const part = every.subarray(3, 19000);
    const s = toBinary(part);
    assert.equal(s.length, part.length);
    assert.equal(s, portableToBinary(part));
    assert.deepEqual(fromBinary(s), new Uint8Array(part));
    assert.deepEqual(portableFromBinary(s), new Uint8Array(part));
    assert.equal(fromBinary(s).byteOffset, 0);
    assert.equal(fromBinary(s).buffer.byteLength, part.length, 'an ArrayBuffer of its own');
  });

  it('UTF-8 to and from binary', () => {
    assert.equal(utf8ToBinary('aé中'), 'a\xc3\xa9\xe4\xb8\xad');
    assert.equal(binaryToUtf8('a\xc3\xa9\xe4\xb8\xad'), 'aé中');
    assert.equal(utf8ToBinary('plain'), 'plain');
  });
});
