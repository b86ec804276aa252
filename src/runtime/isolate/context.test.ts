import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bind, enter, frameFor, replace, shareRunning, withStores } from './context.ts';

it('writes the invocation running now, and counts its changes, where the host reads them', () => {
  const buffer = new SharedArrayBuffer(16);
  shareRunning(buffer);
  const id = new Float64Array(buffer, 0, 1);
  const switches = new Int32Array(buffer, 8, 1);
  const seen: number[][] = [];
  const look = () => seen.push([id[0], switches[0]]);
  const one = frameFor(2 ** 31 + 1); // ids pass 2 ** 31 in a long-lived process
  const two = frameFor(2);
  enter(one, () => {
    look(); // one runs: a change
    enter(withStores(one, new Map()), look); // the same invocation (AsyncLocalStorage): no change
    bind(look, two)(); // two runs: a change
    look(); // back in one: a change
  });
  look(); // outside any invocation: a change (what runs here may be another's work)
  enter(one, look); // one again: a change
  replace(two); // (one's end: a change) two: a change
  look();
  replace(undefined);
  assert.deepEqual(seen, [
    [2 ** 31 + 1, 1],
    [2 ** 31 + 1, 1],
    [2, 2],
    [2 ** 31 + 1, 3],
    [0, 4],
    [2 ** 31 + 1, 5],
    [2, 7],
  ]);
  assert.equal(id[0], 0);
});
