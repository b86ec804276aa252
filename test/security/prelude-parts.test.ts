/**
 * The prelude's parts (src/runtime/isolate/parts.ts) under a tenant that hooks everything it can
 * before using its bindings: accessors on Object.prototype named after the parts' machinery,
 * replaced Function.prototype.call/apply, Error.prepareStackTrace reading the frames of part
 * code. None of it may reach the record of prelude modules a part is handed, the loader, or a
 * part's functions through a frame.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerSource, type TestNetwork } from '../helpers.ts';

const WORKER = `
const seen = [];
const NAMES = ['__outpostModules', 'partModules', 'registerPart', 'installPart', 'part', 'loadedPart',
  'closeParts', 'callSync', 'callBinding', 'host', 'bridge.ts', 'context.ts', 'durable', 'r2',
  'R2Bucket', 'commitWrites', 'makeObject', 'DurableObjectNamespace', 'modules'];
for (const name of NAMES)
  Object.defineProperty(Object.prototype, name, {
    configurable: true,
    get() { seen.push('get ' + name); return undefined; },
    set(v) { seen.push('set ' + name + ' ' + typeof v); },
  });
const { call, apply } = Function.prototype;
const named = new Set();
Function.prototype.call = function (...a) { named.add(this.name); return Reflect.apply(this, a[0], a.slice(1)); };
Function.prototype.apply = function (t, a) { named.add(this.name); return Reflect.apply(this, t, a ?? []); };
const frames = [];
Error.prepareStackTrace = (err, callSites) => {
  for (const c of callSites) {
    const file = String(c.getScriptNameOrSourceURL?.() ?? c.getFileName?.() ?? '');
    if (file.includes('outpost:part')) frames.push([file, typeof c.getFunction(), typeof c.getThis()]);
  }
  return String(err);
};
export class C {
  hi() { return 'hi'; }
}
export default {
  async fetch(request, env) {
    await env.B.put('k', 'v');
    const value = await (await env.B.get('k')).text();
    const keys = Array.from({ length: 1001 }, (_, i) => String(i));
    const thrown = await env.B.delete(keys).then(() => 'none', (e) => (void e.stack, String(e)));
    const rpc = await env.C.getByName('x').hi();
    return Response.json({ value, thrown, rpc, seen, frames,
      named: [...named].filter((n) => /part|Part|Modules|callSync|callBinding/.test(n)) });
  },
};
`;

describe('the prelude’s parts against a tenant that hooks everything', () => {
  let net: TestNetwork;
  before(async () => {
    net = await startWorkerSource(
      WORKER,
      {},
      '[[r2_buckets]]\nbinding = "B"\nbucket_name = "b"\n[[durable_objects.bindings]]\nname = "C"\nclass_name = "C"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["C"]\n',
    );
  });
  after(() => net.close());

  it('no accessor, replaced call/apply or stack frame reaches the parts’ machinery', async () => {
    const res = await fetch(`${net.url}/`);
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as {
      value: string;
      thrown: string;
      rpc: string;
      seen: string[];
      frames: [string, string, string][];
      named: string[];
    };
    // The bindings work, from their parts.
    assert.equal(out.value, 'v');
    assert.equal(out.rpc, 'hi');
    assert.match(out.thrown, /RangeError: delete\(\) takes at most 1000 keys/);
    assert.deepEqual(out.seen, [], 'accessors on Object.prototype were called');
    assert.deepEqual(out.named, [], 'replaced call/apply saw the parts’ functions');
    // The error was thrown in the R2 part: its frames give no function and no receiver.
    assert.ok(out.frames.length > 0, 'the R2 part’s frames were seen');
    for (const [file, fn, self] of out.frames) {
      assert.match(file, /^outpost:part\/r2\.js$/);
      assert.equal(fn, 'undefined');
      assert.equal(self, 'undefined');
    }
  });
});
