import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeekableBody } from './body.ts';

/** A source handing out `chunks` in order, counting cancellations. */
function source(chunks: string[]) {
  const enc = new TextEncoder();
  const s = {
    cancelled: 0,
    next: async () => {
      const c = chunks.shift();
      return c === undefined ? null : enc.encode(c);
    },
    cancel: () => {
      s.cancelled++;
    },
  };
  return s;
}

async function all(b: PeekableBody): Promise<string> {
  let out = '';
  const dec = new TextDecoder();
  for (let c = await b.next(); c !== null; c = await b.next()) out += dec.decode(c);
  return out;
}

describe('PeekableBody', () => {
  it('a prefix read first is handed on whole, then the rest flows', async () => {
    const b = new PeekableBody(source(['abc', 'def', 'ghi', 'jkl']));
    const p = await b.prefix(5);
    assert.equal(new TextDecoder().decode(p.bytes), 'abcde');
    assert.equal(p.truncated, true);
    assert.equal(await all(b), 'abcdefghijkl');
  });
  it('a body shorter than the prefix is not truncated', async () => {
    const b = new PeekableBody(source(['ab', 'cd']));
    const p = await b.prefix(10);
    assert.equal(p.truncated, false);
    assert.equal(new TextDecoder().decode(p.bytes), 'abcd');
    assert.equal(await all(b), 'abcd');
  });
  it('a replaced body is what the worker reads; the original is cancelled', async () => {
    const s = source(['secret', 'more']);
    const b = new PeekableBody(s);
    await b.prefix(3);
    b.replace(new TextEncoder().encode('clean'));
    assert.equal(s.cancelled, 1);
    assert.equal(await all(b), 'clean');
  });
});
