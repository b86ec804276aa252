import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type WebSocket from 'ws';
import { Inflow, ISOLATE_HIGH_BYTES, SOCKET_HIGH_BYTES, SOCKET_HIGH_MESSAGES } from './inflow.ts';

function fakeSocket() {
  const s = { paused: false, pauses: 0, pause: () => {}, resume: () => {} };
  s.pause = () => {
    s.paused = true;
    s.pauses++;
  };
  s.resume = () => {
    s.paused = false;
  };
  return s;
}
const pending = () => {
  let resolve!: () => void;
  const p = new Promise<void>((r) => {
    resolve = r;
  });
  return { p, resolve };
};
const tick = () => new Promise((r) => setImmediate(r));

describe('Inflow (WebSocket back-pressure)', () => {
  it('pauses a socket past its byte share and resumes it once delivery catches up', async () => {
    const flow = new Inflow();
    const s = fakeSocket();
    const deliveries = [];
    for (let i = 0; i < 5; i++) {
      const d = pending();
      deliveries.push(d);
      flow.track(s as unknown as WebSocket, SOCKET_HIGH_BYTES / 4, d.p);
    }
    assert.equal(s.paused, true);
    assert.equal(s.pauses, 1, 'paused once, not once per message');
    for (const d of deliveries.slice(0, 2)) d.resolve();
    await tick();
    assert.equal(s.paused, true, 'still above half its share');
    for (const d of deliveries.slice(2)) d.resolve();
    await tick();
    assert.equal(s.paused, false);
    assert.equal(flow.bytes, 0);
  });

  it('pauses on message count too, and on the isolate total across sockets', async () => {
    const flow = new Inflow();
    const s = fakeSocket();
    for (let i = 0; i <= SOCKET_HIGH_MESSAGES; i++) flow.track(s as unknown as WebSocket, 1, pending().p);
    assert.equal(s.paused, true);

    const total = new Inflow();
    const sockets = Array.from({ length: 20 }, fakeSocket);
    const each = SOCKET_HIGH_BYTES; // at its own share: not over it
    const ds = sockets.map((sock) => {
      const d = pending();
      total.track(sock as unknown as WebSocket, each, d.p);
      return d;
    });
    assert.ok(20 * each > ISOLATE_HIGH_BYTES);
    assert.ok(
      sockets.some((x) => x.paused),
      'the isolate total paused the later sockets',
    );
    for (const d of ds) d.resolve();
    await tick();
    assert.ok(
      sockets.every((x) => !x.paused),
      'all resumed',
    );
  });

  it('a failed delivery is released like a delivered one', async () => {
    const flow = new Inflow();
    const s = fakeSocket();
    const d = Promise.reject(new Error('isolate gone'));
    flow.track(s as unknown as WebSocket, SOCKET_HIGH_BYTES * 2, d);
    assert.equal(s.paused, true);
    await tick();
    assert.equal(s.paused, false);
    assert.equal(flow.bytes, 0);
  });
});
