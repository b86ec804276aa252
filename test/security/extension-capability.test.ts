// Runtime extensions (Web Streams, URLPattern, the compression codecs) are evaluated inside the
// tenant's isolate the first time its worker uses them, handed the prelude's private capability
// object (raw syscalls, the request context). A sloppy tenant script that finds the extension's
// factory on the stack while it loads must not read that object, and a replaced
// Map.prototype.get must not hand the prelude the tenant's module instead of the extension. The
// helpers esbuild writes at the top of each extension run after tenant code too: they must not
// pass the extension's functions (node:crypto's syscall wrapper) to builtins the tenant replaced.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;

before(async () => {
  net = await startTenants({ leak: 'capability-leak', swap: 'capability-leak', helpers: 'capability-leak' });
});
after(() => net.close());

describe('extension loads and the prelude capability', () => {
  for (const path of ['/streams', '/urlpattern', '/compression']) {
    it(`${path}: the factory's arguments are out of reach while it loads`, async () => {
      const res = await net.fetchAs('leak', path);
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { escaped: false, hooked: true });
    });
  }
  it("esbuild's helpers in an extension hand none of its functions to a tenant's builtins", async () => {
    const res = await net.fetchAs('helpers', '/helpers');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { escaped: false, seen: true });
  });
  it("the prelude's awaits, timers and body reads hand nothing to a tenant's promise plumbing", async () => {
    const res = await net.fetchAs('helpers', '/promise-hooks');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { seen: [], ran: 6 });
  });
  it("node:stream's async iteration runs on the prelude's async-generator helpers", async () => {
    const res = await net.fetchAs('leak', '/promise-hooks-node-stream');
    assert.equal(res.status, 200, await res.clone().text());
    const { seen, ran } = (await res.json()) as { seen: string[]; ran: number };
    assert.equal(ran, 1);
    // readable-stream calls `Function.prototype.call` on its own functions as it runs (listed in
    // docs/security.md); what the async iteration awaits goes through no replaced promise method.
    assert.deepEqual(
      seen.filter((s) => !s.startsWith('call: ') && !s.startsWith('apply: ')),
      [],
    );
  });
  it("Web Streams loaded after a tenant's promise plumbing was replaced capture the prelude's", async () => {
    const res = await net.fetchAs('swap', '/promise-hooks-streams');
    assert.equal(res.status, 200, await res.clone().text());
    const { seen, ran } = (await res.json()) as { seen: string[]; ran: number };
    assert.equal(ran, 1);
    assert.deepEqual(seen, []);
  });
  it("a non-extractable key's material is out of reach of getters on Promise and Object.prototype", async () => {
    const res = await net.fetchAs('helpers', '/key-material');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), {
      leaked: 0,
      made: true,
    });
  });
  it('a promise behind a Proxy is taken as a thenable, not as a promise', async () => {
    const res = await net.fetchAs('helpers', '/proxied-promise');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { traps: true });
  });
  it('a replaced Map.prototype.get does not swap the streams module', async () => {
    const res = await net.fetchAs('swap', '/map-swap');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { escaped: false });
  });
});
