import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bind, enter, frameFor, replace, shareRunning, withStores } from './context.ts';

it('writes the invocation running now, and counts switches between invocations, where the host reads them', () => {
  const running = new Int32Array(2);
  shareRunning(running);
  const seen: number[][] = [];
  const look = () => seen.push([running[0], running[1]]);
  const one = frameFor(1);
  const two = frameFor(2);
  enter(one, () => {
    look(); // 1 runs: a switch
    enter(withStores(one, new Map()), look); // the same invocation (AsyncLocalStorage): no switch
    bind(look, two)(); // 2 runs: a switch
    look(); // back in 1: a switch
  });
  look(); // outside any invocation: 0, no switch
  enter(one, look); // 1 again after nothing else ran: no switch
  replace(two);
  look();
  replace(undefined);
  assert.deepEqual(seen, [
    [1, 1],
    [1, 1],
    [2, 2],
    [1, 3],
    [0, 3],
    [1, 3],
    [2, 4],
  ]);
  assert.equal(running[0], 0);
});
