// Attacks on the task ring (src/runtime/calls.ts, src/runtime/isolate/ring.ts): the host sends
// the answers to an isolate's host calls, a Durable Object's events and WebSocket events in one
// batch, and the isolate schedules a task per item on itself. Tenant code runs in that isolate:
// whatever it replaces or hooks must not let it see a batch (call ids, arguments, answers),
// change it, drop it, or get an item run twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerSource, type TestNetwork, waitFor } from '../helpers.ts';

const WORKER = `
// Recorded without arrays (their setters and push are hooked below).
let seen = '';
const looksLikeBatch = (v) => Array.prototype.slice.call(v ?? []).length > 1 && typeof v[0] === 'number' && typeof v[1] === 'object';
// Every global the ring could have used, hooked.
const nativeIsArray = Array.isArray;
Array.isArray = (v) => {
  if (nativeIsArray(v) && looksLikeBatch(v)) seen += 'isArray;';
  return nativeIsArray(v);
};
const nativeApply = Reflect.apply;
Reflect.apply = (f, t, args) => {
  if (nativeIsArray(args) && args.some((a) => nativeIsArray(a) && looksLikeBatch(a))) seen += 'apply;';
  return nativeApply(f, t, args);
};
const nativePush = Array.prototype.push;
Array.prototype.push = function (...items) {
  if (items.length === 2 && typeof items[0] === 'number' && nativeIsArray(items[1])) seen += 'push;';
  return nativePush.apply(this, items);
};
for (const i of [0, 1, 2, 3]) {
  Object.defineProperty(Array.prototype, i, {
    configurable: true,
    set(v) {
      // A ring item follows its numeric code, an outcome is [id, ok, value]. (The tenant's own
      // Headers, strings and pairs of them, go through its own Array.prototype: not a leak.)
      if (typeof v === 'number' || typeof v === 'boolean') seen += 'setter ' + i + ';';
      Object.defineProperty(this, i, { value: v, writable: true, enumerable: true, configurable: true });
    },
  });
}
const nativeThen = Promise.prototype.then;
Promise.prototype.then = function (a, b) {
  return nativeThen.call(this, a, b);
};
const sleep = () => new Promise((r) => setTimeout(r, 0));
let runs = 0;
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/forge') {
      // A rejection worded like a copy failure, left unhandled after I/O: it must be logged,
      // not make the host send anything again.
      await sleep();
      Promise.reject(new Error('could not be cloned'));
    }
    runs = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      await sleep();
      runs++;
    }));
    await sleep();
    return Response.json({ seen, runs });
  },
};
`;

describe('the task ring under tenant tampering', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(WORKER);
  });
  after(() => net.close());

  it('replaced globals and Array.prototype setters never see a batch; each answer runs once', async () => {
    const res = await fetch(`${net.url}/`);
    assert.equal(res.status, 200, await res.clone().text());
    const { seen, runs } = (await res.json()) as { seen: string; runs: number };
    assert.equal(seen, '');
    assert.equal(runs, 20);
    assert.ok(net.runtime.stats().meanRing > 1, 'the answers crossed in batches');
  });

  it('a rejection worded as a copy failure is logged, and nothing is sent twice', async () => {
    const res = await fetch(`${net.url}/forge`);
    const { runs } = (await res.json()) as { runs: number };
    assert.equal(runs, 20);
    await waitFor(
      () => net.logs.find((e) => /Uncaught \(in promise\).*could not be cloned/s.test(e.message)),
      5000,
      'the forged rejection logged as a stray one',
    );
  });
});
