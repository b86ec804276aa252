import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allOrClose } from './all-or-close.ts';

class Part {
  closed = 0;
  constructor(readonly name: string) {}
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

describe('allOrClose', () => {
  it('gives every part, in order, values and nulls alike, when all start', async () => {
    const a = new Part('a');
    const b = new Part('b');
    const [x, y, z] = await allOrClose([later(20, a), b, null]);
    assert.equal(x, a);
    assert.equal(y, b);
    assert.equal(z, null);
    assert.equal(a.closed + b.closed, 0);
  });

  it('throws the first failure at once, closes what started, and what was still starting once it has', async () => {
    const started = new Part('started');
    const slow = new Part('slow');
    const t0 = performance.now();
    await assert.rejects(
      allOrClose([
        Promise.resolve(started),
        later(300, slow),
        later(10, null).then(() => Promise.reject(new Error('no NATS'))),
      ]),
      /no NATS/,
    );
    assert.ok(performance.now() - t0 < 250, 'not held up by the slow part');
    assert.equal(started.closed, 1);
    assert.equal(slow.closed, 0);
    await later(400, null);
    assert.equal(slow.closed, 1, 'closed once it had started');
  });

  it('a part whose close throws does not hide the failure', async () => {
    const bad = {
      close: () => {
        throw new Error('close failed');
      },
    };
    await assert.rejects(allOrClose([bad, Promise.reject(new Error('the cause'))]), /the cause/);
  });
});
