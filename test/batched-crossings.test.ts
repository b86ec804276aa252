// What crosses from an isolate to the host in batches, and stays what it was when made:
// - outcomes held for the rest of their ring batch (src/runtime/isolate/outbox.ts): a stateless
//   worker's answers that settle in the tasks of one batch cross back together, each still what
//   it was when it settled (an RPC result the worker changes later is copied when held); so do
//   a Durable Object's, which leave before anything the object does later crosses (the output
//   gate's side of that: test/output-gate.test.ts);
// - the isolate's own host calls of one task (src/runtime/isolate/bridge.ts, callHost; host side
//   src/runtime/bridge/posted.ts) cross together, each with its arguments as they were when the
//   call was made, and in order with what refers to them (a fetch's abort). Requests without a
//   body, and tenants that try to change what waits or is held: test/security/batched-crossings.test.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startWorkerSource, startWorkerWithObjects, type TestNetwork } from './helpers.ts';

const WORKER = `
import { DurableObject } from 'cloudflare:workers';
export class Box extends DurableObject {
  state = { n: 0, seen: [] };
  /** The object's own state, returned as it is: later events change it. */
  snap() { return this.state; }
  bump() { this.state.n++; this.state.seen.push(this.state.n); return this.state.n; }
  /** A value no structured clone takes. */
  fn() { return () => 1; }
  nested() { return { inner: this.state }; }
  echo(v) { return v; }
  /** Thrown: describing it (toString) writes, a crossing while the outcome is made ready. */
  async boom() {
    const s = this.ctx.storage;
    throw { toString() { s.put('boom', 1); return 'boom-thrown'; } };
  }
  /** Returned: its getter sets a timer (a call that waits to cross) when the result is copied. */
  timerGetter() {
    return { get g() { setTimeout(() => {}, 0); return 1; } };
  }
  /** Returned: its getter throws an error whose message cannot be read. */
  badGetter() {
    return { get g() { throw { get message() { throw 0; } }; } };
  }
  /** Returned: its getter writes when the result is copied, and counts its reads. */
  getter() {
    const s = this.ctx.storage;
    let reads = 0;
    return { get g() { s.put('g', ++reads); return reads; } };
  }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stub = env.BOX.getByName(url.searchParams.get('name') ?? 'a');
    if (url.pathname === '/snapshots') {
      // Called in one turn: the object's events arrive in one batch of its task ring.
      const calls = [];
      for (let i = 0; i < 15; i++) calls.push(stub.snap(), stub.nested(), stub.bump());
      return Response.json(await Promise.all(calls));
    }
    if (url.pathname === '/bumps') {
      const calls = [];
      for (let i = 0; i < 30; i++) calls.push(stub.bump());
      return Response.json(await Promise.all(calls));
    }
    if (url.pathname === '/made-ready') {
      // Outcomes whose making runs the object's code, which crosses to the host meanwhile.
      const hung = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r('HUNG'), 3000))]);
      const boom = await hung(stub.boom().then(() => 'resolved', (e) => String(e?.message ?? e)));
      const got = await hung(Promise.all([stub.getter(), stub.bump(), stub.getter()]));
      const timer = await hung(Promise.all([stub.bump(), stub.timerGetter(), stub.bump()]));
      const bad = await hung(stub.badGetter().then(() => 'resolved', () => 'rejected'));
      return Response.json({ boom, got, timer, bad });
    }
    if (url.pathname === '/uncopyable') {
      const out = await Promise.allSettled([stub.bump(), stub.fn(), stub.bump(), stub.snap()]);
      return Response.json(out.map((r) => (r.status === 'fulfilled' ? r.value : 'error: ' + r.reason?.message)));
    }
    if (url.pathname === '/arguments') {
      // Arguments changed right after each call: the object gets them as they were.
      const arg = { n: 1, list: [1] };
      const first = stub.echo(arg);
      arg.n = 2;
      arg.list.push(2);
      const second = stub.echo(arg);
      arg.n = 3;
      return Response.json(await Promise.all([first, second]));
    }
    if (url.pathname === '/many-calls') {
      // 20 host calls made in one task: they leave together.
      await Promise.all(Array.from({ length: 20 }, () => new Promise((r) => setTimeout(r, 1))));
      return new Response('done');
    }
    if (url.pathname === '/abort-at-once') {
      // Aborted in the same task that made the fetch: the abort must not overtake the call.
      const c = new AbortController();
      const p = fetch(url.searchParams.get('origin'), { signal: c.signal });
      c.abort();
      const e = await p.then(() => 'answered', (err) => err.name);
      return new Response(e);
    }
    return new Response('ok');
  },
};
`;

describe('batched crossings from an isolate to the host', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerWithObjects(
      WORKER,
      { egress: { allow: ['loopback'] } },
      '[[durable_objects.bindings]]\nname = "BOX"\nclass_name = "Box"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Box"]\n',
    );
  });
  after(() => net.close());

  it('the host calls of one task cross together', async () => {
    // First in this file: the mean is this request's (a call per crossing would make it 1).
    const res = await fetch(`${net.url}/many-calls`);
    assert.equal(await res.text(), 'done');
    const { meanPosted } = net.runtime.stats();
    assert.ok(meanPosted > 2, `mean calls per crossing: ${meanPosted}`);
  });

  it("an object's answers to events that arrived together cross back together", async () => {
    // Second in this file: 30 answers of the object and this request's response, against one
    // crossing each without holding (the mean would stay 1, as after the first test).
    const res = await fetch(`${net.url}/bumps?name=bumps`);
    assert.deepEqual(
      await res.json(),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    const { meanOutcomes } = net.runtime.stats();
    assert.ok(meanOutcomes > 2, `mean outcomes per crossing back: ${meanOutcomes}`);
  });

  it("an object's answers to events that arrived together are each what it returned then", async () => {
    const res = await fetch(`${net.url}/snapshots?name=snap`);
    assert.equal(res.status, 200);
    const out = (await res.json()) as unknown[];
    for (let i = 0; i < 15; i++) {
      const state = { n: i, seen: Array.from({ length: i }, (_, k) => k + 1) };
      assert.deepEqual(out[3 * i], state, `snap() #${i}: the state when it returned`);
      assert.deepEqual(out[3 * i + 1], { inner: state }, `nested() #${i}`);
      assert.equal(out[3 * i + 2], i + 1, `bump() #${i}`);
    }
  });

  it("a call's arguments are copied when it is made, not when the task's calls leave", async () => {
    const res = await fetch(`${net.url}/arguments?name=args`);
    assert.deepEqual(await res.json(), [
      { n: 1, list: [1] },
      { n: 2, list: [1, 2] },
    ]);
  });

  it('a fetch aborted in the task that made it is aborted at the host too', async () => {
    // The origin answers after 300 ms; an aborted fetch closes its connection before that.
    let answered = 0;
    let arrived = 0;
    const origin = createServer((req, res) => {
      arrived++;
      const t = setTimeout(() => {
        answered++;
        res.end('late');
      }, 300);
      req.on('close', () => {
        if (!res.writableEnded) clearTimeout(t);
      });
      res.on('close', () => clearTimeout(t));
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    try {
      const at = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/slow`;
      const res = await fetch(`${net.url}/abort-at-once?origin=${encodeURIComponent(at)}`);
      assert.equal(await res.text(), 'AbortError');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(answered, 0, `the origin answered an aborted fetch (${arrived} arrived)`);
    } finally {
      origin.closeAllConnections();
      await new Promise((r) => origin.close(r));
    }
  });

  it("an object's outcome whose making writes (an error's toString, a result's getter) still arrives, whole", async () => {
    const res = await fetch(`${net.url}/made-ready?name=ready`);
    const out = (await res.json()) as { boom: string; got: unknown; timer: unknown; bad: string };
    assert.match(out.boom, /boom-thrown/);
    assert.deepEqual(out.got, [{ g: 1 }, 1, { g: 1 }]);
    // The getter's timer sends what was held (the first bump's answer) while the copy is made.
    assert.deepEqual(out.timer, [2, { g: 1 }, 3]);
    assert.equal(out.bad, 'rejected');
  });

  it('a held result that cannot be copied fails its own call at once; the rest of the batch answers', async () => {
    const res = await fetch(`${net.url}/uncopyable?name=fn`);
    const out = (await res.json()) as unknown[];
    assert.equal(out[0], 1);
    assert.match(String(out[1]), /^error: .*could not be cloned/);
    assert.equal(out[2], 2);
    assert.deepEqual(out[3], { n: 2, seen: [1, 2] });
  });
});

const STATELESS = `
import { WorkerEntrypoint } from 'cloudflare:workers';
const shared = { n: 0, seen: [] };
const tick = () => new Promise((r) => setTimeout(r, 1));
export class Api extends WorkerEntrypoint {
  /** Module state, returned as it is after a timer: later timers' tasks change it. */
  async snap() { await tick(); return shared; }
  async bump() { await tick(); shared.n++; shared.seen.push(shared.n); return shared.n; }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/rpc') {
      const calls = [];
      for (let i = 0; i < 10; i++) calls.push(env.SELF.snap(), env.SELF.bump());
      return Response.json(await Promise.all(calls));
    }
    await tick();
    return new Response('ok');
  },
};
`;

describe('batched crossings: a stateless worker', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(
      STATELESS,
      {},
      'services = [{ binding = "SELF", service = "source", entrypoint = "Api" }]\n',
    );
  });
  after(() => net.close());

  it('answers that settle in the tasks of one ring batch cross back together', async () => {
    // 30 requests each answering after a timer: the timers' answers reach the isolate in one
    // batch of its task ring, and the responses made in those tasks leave together.
    const all = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${net.url}/timer`).then((r) => r.text())),
    );
    assert.deepEqual(new Set(all), new Set(['ok']));
    // One each without holding (measured: exactly 1); how many share a batch depends on how
    // the requests arrive (~2 on a loaded machine, more when idle).
    const { meanOutcomes } = net.runtime.stats();
    assert.ok(meanOutcomes > 1.3, `mean outcomes per crossing back: ${meanOutcomes}`);
  });

  it('an RPC result held for later tasks is what it was when it settled', async () => {
    const out = (await (await fetch(`${net.url}/rpc`)).json()) as unknown[];
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(
        out[2 * i],
        { n: i, seen: Array.from({ length: i }, (_, k) => k + 1) },
        `snap() #${i}`,
      );
      assert.equal(out[2 * i + 1], i + 1, `bump() #${i}`);
    }
  });
});
