// The task ring (src/runtime/calls.ts, src/runtime/isolate/ring.ts): work that must each run as
// a task of its own in the isolate (answers to host calls, a Durable Object's events, WebSocket
// events) crosses from the host in one apply per turn, and the isolate makes the tasks itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memoryObserver } from '../src/observability/index.ts';
import { createIsolate } from '../src/runtime/pool.ts';
import { startWorkerSource, type TestNetwork, waitFor } from './helpers.ts';

const WORKER = `
const sleep = () => new Promise((r) => setTimeout(r, 0));
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/order') {
      // 20 timers of the same delay: the host answers them in one turn. Each continuation runs
      // with its microtasks to the end before the next starts: a0 b0 a1 b1…, never a0 a1… b0 b1….
      const order = [];
      await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        await sleep();
        order.push('a' + i);
        await null;
        await null;
        order.push('b' + i);
      }));
      return Response.json(order);
    }
    if (url.pathname === '/stray') {
      await sleep();
      Promise.reject(new Error('stray after a timer'));
      await sleep();
      return new Response('answered');
    }
    return new Response('ok');
  },
};
`;

describe('the task ring', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(WORKER);
  });
  after(() => net.close());

  it('answers that arrive together cross in one apply, each still a task of its own', async () => {
    const res = await fetch(`${net.url}/order`);
    const order = (await res.json()) as string[];
    const paired = Array.from({ length: 20 }, (_, i) => [`a${i}`, `b${i}`]).flat();
    assert.deepEqual(order, paired);
    // The 20 answers did not take 20 crossings.
    assert.ok(net.runtime.stats().meanRing > 2, `mean tasks per crossing: ${net.runtime.stats().meanRing}`);
  });

  it('a rejection a task leaves unhandled is logged as Workers logs it, and the request still answers', async () => {
    const res = await fetch(`${net.url}/stray`);
    assert.equal(await res.text(), 'answered');
    const line = await waitFor(
      () => net.logs.find((e) => /Uncaught \(in promise\).*stray after a timer/s.test(e.message)),
      5000,
      'the stray rejection logged',
    );
    assert.equal(line.level, 'error');
  });
});

describe('the task ring: bad input', () => {
  it(
    'an item that cannot be copied fails only its own call; the rest of its batch runs, in order',
    { timeout: 10_000 },
    async () => {
      const iso = await createIsolate(64, memoryObserver());
      try {
        const { calls, api } = iso;
        // One turn: three calls, the middle one with an argument no structured clone can take.
        const throwing = {
          get boom() {
            throw new Error('getter boom');
          },
        };
        const a = calls.call(api.warmup, [1]);
        const b = calls.call(api.warmup, [() => {}]);
        const c = calls.call(api.warmup, [3]);
        // Not a clone error: a getter that throws while the batch is copied.
        const d = calls.call(api.warmup, [throwing]);
        const e = calls.call(api.warmup, [5]);
        const [ra, rb, rc, rd, re] = await Promise.allSettled([a, b, c, d, e]);
        assert.equal(ra.status, 'fulfilled');
        assert.equal(rb.status, 'rejected');
        assert.match(String((rb as PromiseRejectedResult).reason?.message), /could not be cloned/);
        assert.equal(rc.status, 'fulfilled');
        assert.equal(rd.status, 'rejected');
        assert.match(String((rd as PromiseRejectedResult).reason?.message), /getter boom/);
        assert.equal(re.status, 'fulfilled');
        assert.equal(calls.pending, 0);
      } finally {
        iso.isolate.dispose();
      }
    },
  );
});
