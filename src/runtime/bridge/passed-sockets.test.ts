import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkerWebSocket } from '../types.ts';
import { passOn, takePassedSocket } from './passed-sockets.ts';

const end = (): WorkerWebSocket & { refused: string[] } => {
  const refused: string[] = [];
  return { refused, attach() {}, refuse: (r) => void refused.push(r) };
};

describe('WebSocket ends passed between isolates', () => {
  it('a token is 128 random bits, redeemable once, by the isolate it was passed to only', () => {
    const a = {};
    const b = {};
    const ws = end();
    const token = passOn(ws, a);
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.notEqual(passOn(end(), a), token);
    assert.equal(takePassedSocket(token, b), undefined, 'another isolate cannot redeem it');
    assert.equal(takePassedSocket(token, a), ws);
    assert.equal(takePassedSocket(token, a), undefined, 'only once');
  });
  it('guessed, malformed and foreign values redeem nothing', () => {
    const a = {};
    passOn(end(), a);
    for (const v of ['f'.repeat(32), '1', 1, -1, null, undefined, {}, ['x']])
      assert.equal(takePassedSocket(v, a), undefined);
  });
});
