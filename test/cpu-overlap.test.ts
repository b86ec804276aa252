// The CPU limit of one invocation while many others are in flight in the same isolate
// (src/runtime/cpu-meter.ts). Found by the bridge fuzz: a Durable Object event spinning in a
// loop while other calls to the object waited was charged only its share of the CPU, so it ran
// for (calls in flight) × the limit, and every caller waited that long. Now an interval in which
// the isolate says one invocation ran alone is charged to it alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerSource, type TestNetwork } from './helpers.ts';

const CPU_MS = 100;
/** Invocations waiting beside the spinning one: shared equally, it would run this many times its limit. */
const WAITING = 39;

const WORKER = `
import { DurableObject } from 'cloudflare:workers';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Spinner extends DurableObject {
  async wait() {
    await sleep(8000);
    return 'waited';
  }
  spin() {
    for (;;) {}
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/wait') {
      await sleep(8000);
      return new Response('waited');
    }
    if (url.pathname === '/spin') for (;;) {}
    if (url.pathname === '/chunks') {
      // A fixed count of slices of ~0.5 ms of work each (the clock stands still while code
      // runs, so the work is counted, not timed), yielding between them: overlapping requests
      // interleave, and none may be charged another's slices.
      const slices = Number(url.searchParams.get('slices') ?? 40);
      for (let s = 0; s < slices; s++) {
        let x = 0;
        for (let i = 0; i < 200000; i++) x += Math.sqrt(i);
        if (x < 0) throw new Error('unreachable');
        await sleep(0);
      }
      return new Response('done');
    }
    const stub = env.SPIN.get(env.SPIN.idFromName('one'));
    if (url.pathname === '/object/wait') return new Response(await stub.wait());
    if (url.pathname === '/object/spin') {
      try {
        await stub.spin();
        return new Response('returned');
      } catch (err) {
        return new Response(String(err && err.message), { status: 500 });
      }
    }
    return new Response('not found', { status: 404 });
  },
};
`;

const TOML = `
[[durable_objects.bindings]]
name = "SPIN"
class_name = "Spinner"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Spinner"]
`;

describe('CPU time of one invocation among many in flight', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(WORKER, { limits: { cpuMs: CPU_MS, wallMs: 20_000 } }, TOML);
  });
  after(() => net.close());

  /** Start `n` waiting requests, then time `path` until it answers. */
  async function spinAmongWaiters(
    waitPath: string,
    path: string,
  ): Promise<{ ms: number; status: number; body: string }> {
    const waiting = Array.from({ length: WAITING }, () =>
      fetch(`${net.url}${waitPath}`)
        .then((r) => r.text())
        .catch(() => ''),
    );
    // Until all are in flight in the isolate (each awaits a timer).
    await new Promise((r) => setTimeout(r, 300));
    const t = performance.now();
    const res = await fetch(`${net.url}${path}`);
    const body = await res.text();
    const ms = performance.now() - t;
    await Promise.all(waiting);
    return { ms, status: res.status, body };
  }

  it(`a request that loops is stopped at its own limit, not at its share beside ${WAITING} waiting`, async () => {
    const r = await spinAmongWaiters('/wait', '/spin');
    assert.equal(r.status, 503, r.body);
    assert.match(r.body, /exceeded CPU time limit/);
    // Shared with the waiting requests it would have run ~40 × 100 ms; its own limit is 100 ms.
    // The bound leaves room for a loaded machine (contended CPU is weighed: contention.ts).
    assert.ok(r.ms < 1500, `the looping request answered after ${r.ms.toFixed(0)} ms`);
  });

  it(`a Durable Object event that loops is stopped at its own limit beside ${WAITING} waiting calls`, async () => {
    const r = await spinAmongWaiters('/object/wait', '/object/spin');
    assert.equal(r.status, 500, r.body);
    assert.match(r.body, /exceeded CPU time limit/);
    assert.ok(r.ms < 1500, `the looping call failed after ${r.ms.toFixed(0)} ms`);
  });

  it('requests that interleave their work are each charged their own (no false breach)', async () => {
    // 12 requests of 30 slices each (~15 ms of CPU here, measured by the process's clock), all at
    // once on a 100 ms limit: together they run ~180 ms, interleaved, so a request charged the
    // slices that ran while it was in flight would breach; each must answer. (With 40 slices,
    // ~20 ms, one request read 100.3 ms once in a full CI run, beside another test file's
    // outpost dev processes: a running task is timed by the wall clock, contention.ts.)
    const all = await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(`${net.url}/chunks?slices=30`).then(async (r) => [r.status, await r.text()]),
      ),
    );
    for (const [status, body] of all) assert.equal(status, 200, String(body));
  });
});
