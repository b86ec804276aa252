// utf8 (response-body.ts): the bytes TextEncoder makes, in an array of their own, for the short
// ASCII text it copies by a loop and for everything it hands to TextEncoder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from './response-body.ts';

describe('utf8', () => {
  it('encodes as TextEncoder does, each result in a buffer of its own', () => {
    const encoder = new TextEncoder();
    const texts = [
      '',
      'hello',
      '{"ok":true}',
      '\u007f',
      '\u0080',
      'é',
      '€',
      '😀',
      '\ud800',
      'a\udc00b',
      '\0x',
    ];
    for (const n of [63, 64, 65, 100]) {
      texts.push('a'.repeat(n));
      texts.push(`${'a'.repeat(n - 1)}é`);
      texts.push(`é${'a'.repeat(n - 1)}`);
      texts.push(`${'a'.repeat(n - 1)}\ud83d`);
    }
    for (const text of texts) {
      const bytes = utf8(text);
      assert.deepEqual([...bytes], [...encoder.encode(text)], JSON.stringify(text));
      assert.equal(bytes.byteOffset, 0);
      assert.equal(bytes.buffer.byteLength, bytes.byteLength, JSON.stringify(text));
    }
  });
});
