import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyRegistry, fromAsyncIterable, fromBytes } from './bodies.ts';

async function* chunks(...parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('BodyRegistry', () => {
  it('reads chunks as standalone ArrayBuffers, then null, then forgets the body', async () => {
    const r = new BodyRegistry();
    const id = r.add(fromAsyncIterable(chunks('ab', 'cd')));
    assert.equal(new TextDecoder().decode(await r.read(id)), 'ab');
    assert.equal(new TextDecoder().decode(await r.read(id)), 'cd');
    assert.equal(await r.read(id), null);
    await assert.rejects(r.read(id), /already been read or was cancelled/);
    assert.equal(r.size, 0);
  });
  it('copies out of a larger buffer instead of exposing it', async () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5]);
    const r = new BodyRegistry();
    const id = r.add(fromBytes(backing.subarray(1, 3)));
    const ab = (await r.read(id))!;
    assert.equal(ab.byteLength, 2);
    assert.deepEqual([...new Uint8Array(ab)], [2, 3]);
  });
  it('cancels one body, or all of them, calling their cancel hooks', async () => {
    const r = new BodyRegistry();
    const cancelled: string[] = [];
    const a = r.add(fromAsyncIterable(chunks('x'), (why) => cancelled.push(`a:${why}`)));
    r.add(fromAsyncIterable(chunks('y'), (why) => cancelled.push(`b:${why}`)));
    r.cancel(a, 'one');
    r.cancelAll('all');
    assert.deepEqual(cancelled, ['a:one', 'b:all']);
    assert.equal(r.size, 0);
  });
  it('take() hands a body over for piping', async () => {
    const r = new BodyRegistry();
    const id = r.add(fromBytes(new Uint8Array([7])));
    const source = r.take(id)!;
    assert.deepEqual([...(await source.next())!], [7]);
    assert.equal(r.take(id), undefined);
  });
});
