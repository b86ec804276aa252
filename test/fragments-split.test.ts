// The cut outpost/fragments makes before each placeholder's start tag (fragment-split.ts), so
// that workerd's HTMLRewriter sends what precedes a placeholder before its fragment is awaited.
// Outpost's HTMLRewriter streams either way, so test/fragments.test.ts cannot see the cut.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutBeforePlaceholders } from '../src/frontend/worker/fragment-split.ts';

async function pieces(chunks: string[]): Promise<string[]> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const out: string[] = [];
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const s of chunks) c.enqueue(enc.encode(s));
      c.close();
    },
  });
  for await (const p of source.pipeThrough(cutBeforePlaceholders())) out.push(dec.decode(p));
  return out;
}

describe('cutBeforePlaceholders', () => {
  it('cuts each chunk before the < of every tag with data-fragment, any case', async () => {
    assert.deepEqual(
      await pieces(['<h1>a</h1><div data-fragment="x">f</div><p>b</p><NAV DATA-FRAGMENT="y"></NAV>end']),
      ['<h1>a</h1>', '<div data-fragment="x">f</div><p>b</p>', '<NAV DATA-FRAGMENT="y"></NAV>end'],
    );
  });
  it('leaves chunks without a placeholder, or whose tag began in an earlier chunk, whole', async () => {
    assert.deepEqual(await pieces(['<p>plain</p>', '<div data-fr', 'agment="x">', ' data-fragment="y">']), [
      '<p>plain</p>',
      '<div data-fr',
      'agment="x">',
      ' data-fragment="y">',
    ]);
  });
  it('makes no empty piece when a chunk starts with a placeholder', async () => {
    assert.deepEqual(await pieces(['<i data-fragment="a"></i><b data-fragment="b"></b>']), [
      '<i data-fragment="a"></i>',
      '<b data-fragment="b"></b>',
    ]);
  });
});
