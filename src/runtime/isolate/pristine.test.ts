// Promise's methods are as the prelude left them while an extension loads, and the worker's own
// are back after; a worker that locked one of them gets an error, not a load on its version.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { recordPristine, withPristinePromise } from './pristine.ts';

it("puts the recorded methods back for the load and the worker's after", () => {
  recordPristine();
  const realThen = Promise.prototype.then;
  const realResolve = Promise.resolve;
  const theirs = function (this: Promise<unknown>, ...a: any[]) {
    return Reflect.apply(realThen, this, a);
  };
  // biome-ignore lint/suspicious/noThenProperty: the worker's replacement
  Promise.prototype.then = theirs as typeof realThen;
  delete (Promise as any).resolve; // an own property removed: put back for the load too
  let during: unknown[] = [];
  try {
    withPristinePromise('test', () => {
      during = [Promise.prototype.then, Promise.resolve];
    });
    assert.deepEqual(during, [realThen, realResolve]);
    assert.equal(Promise.prototype.then, theirs);
    assert.equal(Object.hasOwn(Promise, 'resolve'), false);
    // Also when the load throws.
    assert.throws(() =>
      withPristinePromise('test', () => {
        throw new Error('load failed');
      }),
    );
    assert.equal(Promise.prototype.then, theirs);
  } finally {
    // biome-ignore lint/suspicious/noThenProperty: restoring the original
    Promise.prototype.then = realThen;
    Promise.resolve = realResolve;
  }
});

it('refuses to load when the worker made one of them unchangeable, and changes nothing', () => {
  recordPristine();
  const realThen = Promise.prototype.then;
  const theirs = function (this: Promise<unknown>, ...a: any[]) {
    return Reflect.apply(realThen, this, a);
  };
  // biome-ignore lint/suspicious/noThenProperty: the worker's replacement
  Promise.prototype.then = theirs as typeof realThen;
  // Node 20 has no Promise.withResolvers: one added for good stands for a locked method.
  assert.ok(
    !Object.hasOwn(Promise, 'withResolvers'),
    'this Node has Promise.withResolvers: pick another stand-in',
  );
  Object.defineProperty(Promise, 'withResolvers', { value: () => null, configurable: false });
  try {
    let ran = false;
    assert.throws(
      () =>
        withPristinePromise('streams', () => {
          ran = true;
        }),
      {
        name: 'TypeError',
        message: /streams cannot load: the worker made Promise\.withResolvers unchangeable/,
      },
    );
    assert.equal(ran, false);
    assert.equal(Promise.prototype.then, theirs, 'what was swapped before the refusal is put back');
  } finally {
    // biome-ignore lint/suspicious/noThenProperty: restoring the original
    Promise.prototype.then = realThen;
  }
});
