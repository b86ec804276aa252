// Isolation: escape attempts from tenant code, each contained; the host process and another
// tenant see nothing of what the attacker did.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, startUpstream, type TestNetwork, type Upstream, waitFor } from '../helpers.ts';

let net: TestNetwork;
let upstream: Upstream;
let names: string[];

before(async () => {
  upstream = await startUpstream();
  // Generous CPU: these tests are about the boundary, not the CPU limit (a deep recursion can take >50 ms on a busy machine).
  net = await startTenants({
    attacker: { fixture: 'escape', limits: { cpuMs: 2000 } },
    victim: { fixture: 'escape', limits: { cpuMs: 2000 } },
  });
  names = (await (await net.fetchAs('attacker', '/list')).json()) as string[];
});
after(async () => {
  await net.close();
  await upstream.close();
});

const run = (tenant: string, name: string) =>
  net.fetchAs(tenant, `/${name}?upstream=${encodeURIComponent(upstream.url)}`);

// Attempts whose verdict comes from the isolate: { escaped: false } expected.
const verdicts = [
  'global-this-constructor',
  'request-chain',
  'cf-chain',
  'env-chain',
  'ctx-chain',
  'fetch-response-chain',
  'syscall-error-chain',
  'url-syscall-chain',
  'random-syscall-chain',
  'prepare-stack-trace',
  'eval-and-function',
  'dynamic-import',
  'require-shim',
  'hidden-bridge-globals',
  'proxy-fetch-init',
  'getter-body',
  'toctou-url',
  'shared-array-buffer-atomics',
  'sab-as-fetch-body',
  'wasm-original-constructor',
  'stack-overflow',
  'console-hostile-object',
];

describe('escape attempts are contained', () => {
  it('the fixture lists at least 25 attempts and every one is covered here', () => {
    assert.ok(names.length >= 25, `only ${names.length} attempts`);
    const covered = new Set([
      ...verdicts,
      'prototype-pollution',
      'set-global-secret',
      'read-other-tenant-global',
      'see-pollution',
      'forged-body-ids',
      'tampered-response-headers',
      'throwing-error-getters',
      'timer-flood',
    ]);
    assert.deepEqual(
      names.filter((n) => !covered.has(n)),
      [],
    );
  });

  for (const name of verdicts) {
    it(name, async () => {
      const res = await run('attacker', name);
      const text = await res.text();
      assert.equal(res.status, 200, `${name}: ${res.status} ${text}`);
      assert.deepEqual(JSON.parse(text), { escaped: false });
    });
  }

  it('prototype pollution stays in the attacker isolate', async () => {
    assert.equal((await run('attacker', 'prototype-pollution')).status, 200);
    // The attacker itself sees it...
    assert.deepEqual(await (await run('attacker', 'see-pollution')).json(), { escaped: true });
    // ...the host does not, and another tenant does not.
    assert.equal(({} as any).polluted, undefined);
    assert.equal(([] as any).polluted, undefined);
    assert.deepEqual(await (await run('victim', 'see-pollution')).json(), { escaped: false });
    // The polluted `then` on Object.prototype did not confuse the host's handling of results.
    assert.equal((await run('attacker', 'request-chain')).status, 200);
  });

  it("a tenant cannot read another tenant's globals", async () => {
    await run('attacker', 'set-global-secret');
    assert.deepEqual(await (await run('victim', 'read-other-tenant-global')).json(), { escaped: false });
    assert.equal((globalThis as any).tenantSecret, undefined);
  });

  it('forged body ids reach nothing outside the tenant', async () => {
    const victimBody = net.fetchAs('victim', '/body');
    const res = await run('attacker', 'forged-body-ids');
    assert.deepEqual(await res.json(), { escaped: false });
    await victimBody;
  });

  it('a response with tampered header internals is refused safely', async () => {
    const res = await run('attacker', 'tampered-response-headers');
    assert.equal(res.status, 500);
    assert.equal((await run('attacker', 'request-chain')).status, 200);
  });

  it('an error whose getters throw still becomes a 500', async () => {
    const res = await run('attacker', 'throwing-error-getters');
    assert.equal(res.status, 500);
  });

  it('a timer flood is capped by the host', async () => {
    const res = await run('attacker', 'timer-flood');
    assert.equal(res.status, 200);
    const refusals = await waitFor(
      () => {
        const l = net.logs.filter((e) => e.message.includes('too many timers (limit 10000)'));
        return l.length > 0 ? l : undefined;
      },
      3000,
      'timer refusal log',
    );
    assert.equal(refusals.length, 1, 'logged once, not once per refused timer');
    assert.equal((await run('victim', 'request-chain')).status, 200);
  });
});
