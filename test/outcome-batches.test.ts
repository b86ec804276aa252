// Outcomes held for the rest of their ring batch (src/runtime/isolate/outbox.ts): a Durable
// Object's answers to events that arrived together cross back to the host together, and each
// answer is still what the object returned at the time, not what a later event made of it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DurableObjects, ObjectDirectory } from '../src/durable-objects/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import type { Runtime } from '../src/runtime/index.ts';
import { startWorkerSource, type TestNetwork } from './helpers.ts';

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
    if (url.pathname === '/uncopyable') {
      const out = await Promise.allSettled([stub.bump(), stub.fn(), stub.bump(), stub.snap()]);
      return Response.json(out.map((r) => (r.status === 'fulfilled' ? r.value : 'error: ' + r.reason?.message)));
    }
    return new Response('ok');
  },
};
`;

describe('outcomes held for their ring batch', () => {
  let net: TestNetwork;
  let objects: DurableObjects;
  before(async () => {
    let runtime: Runtime | undefined;
    objects = new DurableObjects({
      directory: new ObjectDirectory(mkdtempSync(join(tmpdir(), 'outpost-outcomes-'))),
      observer: noopObserver,
      runtimeFor: () => runtime as Runtime,
    });
    net = await startWorkerSource(
      WORKER,
      { objects },
      '[[durable_objects.bindings]]\nname = "BOX"\nclass_name = "Box"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Box"]\n',
    );
    runtime = net.runtime;
  });
  after(async () => {
    await net.close();
    await objects.close();
  });

  it('answers to events that arrived together cross back together, each as it was returned', async () => {
    const res = await fetch(`${net.url}/snapshots?name=snap`);
    assert.equal(res.status, 200);
    const out = (await res.json()) as unknown[];
    for (let i = 0; i < 15; i++) {
      const state = { n: i, seen: Array.from({ length: i }, (_, k) => k + 1) };
      assert.deepEqual(out[3 * i], state, `snap() #${i}: the state when it returned`);
      assert.deepEqual(out[3 * i + 1], { inner: state }, `nested() #${i}`);
      assert.equal(out[3 * i + 2], i + 1, `bump() #${i}`);
    }
    // 45 events and the caller's answer did not take 46 crossings back.
    const { meanOutcomes } = net.runtime.stats();
    assert.ok(meanOutcomes > 2, `mean outcomes per crossing back: ${meanOutcomes}`);
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
