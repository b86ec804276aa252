// objectLinks (object-links.ts): a binding's class is found once and kept only while the worker
// it is in keeps that version, so a redeploy (the class gone, the worker gone, back again) is
// seen by the next call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DurableObjects, ObjectClass } from '../durable-objects/index.ts';
import { objectLinks } from './object-links.ts';
import type { WorkerVersion } from './types.ts';

function version(tenant: string, classes: string[], bindings: unknown[] = []): WorkerVersion {
  return {
    tenant,
    account: 'acct',
    bindings,
    durableObjectClasses: classes.map((className) => ({ className, storage: 'sqlite' })),
  } as unknown as WorkerVersion;
}

describe('Durable Object links', () => {
  it("follow a redeploy of the class's worker", async () => {
    const deployed = new Map<string, WorkerVersion>();
    const runtime = { current: (t: string) => deployed.get(t) };
    const called: ObjectClass[] = [];
    const objects = {
      call: async (_pop: string, t: ObjectClass) => {
        called.push(t);
        return 'ok';
      },
    } as unknown as DurableObjects;
    const caller = version(
      'app',
      [],
      [{ type: 'do', binding: 'C', className: 'Counter', scriptName: 'store' }],
    );
    deployed.set('app', caller);
    deployed.set('store', version('store', ['Counter']));
    const links = objectLinks(runtime, objects, 'pop', caller);
    const call = {
      binding: 'C',
      id: 'x',
      name: null,
      hint: null,
      hops: null,
      chain: { hops: 0, tree: { invocations: 0 } },
    };
    assert.equal(await links.rpc(call, 'inc', []), 'ok');
    assert.equal(await links.rpc(call, 'inc', []), 'ok');
    assert.equal(called[0]?.namespace, 'store/Counter');
    assert.equal(called[1], called[0], 'the class found once is kept');
    // Redeployed without the class: the next call says so.
    deployed.set('store', version('store', []));
    assert.throws(
      () => links.rpc(call, 'inc', []),
      /no migration of worker "store" creates the class "Counter"/,
    );
    // Gone: not running.
    deployed.delete('store');
    assert.throws(() => links.rpc(call, 'inc', []), /not running/);
    // Back, with the class: found again.
    deployed.set('store', version('store', ['Counter']));
    assert.equal(await links.rpc(call, 'inc', []), 'ok');
    assert.equal(called.length, 3);
    assert.notEqual(called[2], called[0]);
    // A binding this worker does not have.
    assert.throws(
      () => links.rpc({ ...call, binding: 'D' }, 'inc', []),
      /"D" is not a Durable Object binding/,
    );
  });
});
