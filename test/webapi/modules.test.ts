// Runtime-provided modules: nodejs_compat's node:* modules and cloudflare:workers with
// service bindings (fetch and RPC) between two workers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTenants, type TestNetwork } from '../helpers.ts';

let net: TestNetwork;
before(async () => {
  // Behaviour, not limits: generous CPU so a loaded machine does not fail first requests.
  const limits = { cpuMs: 1000 };
  net = await startTenants({
    node: { fixture: 'node-compat', limits },
    'svc-target': { fixture: 'svc-target', limits },
    'svc-caller': { fixture: 'svc-caller', limits },
  });
});
after(() => net.close());

const json = async (tenant: string, path: string) => {
  const res = await net.fetchAs(tenant, path);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return res.json() as Promise<any>;
};

describe('nodejs_compat', () => {
  it('node:buffer (and bare "buffer")', async () => {
    assert.deepEqual(await json('node', '/buffer'), {
      hex: Buffer.from('héllo').toString('hex'),
      b64: 'aGk=',
      concat: 0x0102,
      isBuffer: true,
      same: true,
    });
  });
  it('node:crypto hashes and HMACs like Node', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    assert.deepEqual(await json('node', '/crypto'), {
      sha256: createHash('sha256').update('abc').digest('hex'),
      md5: createHash('md5').update('abc').digest('base64'),
      hmac: createHmac('sha1', 'key').update('abc').digest('hex'),
      random: 16,
      equal: true,
    });
  });
  it('node:events', async () => {
    assert.deepEqual(await json('node', '/events'), { seen: [1], v: 'go', count: 1 });
  });
  it('node:util', async () => {
    assert.deepEqual(await json('node', '/util'), {
      promisified: 'done',
      format: 'a=1',
      deep: true,
      inherits: true,
      isPromise: true,
    });
  });
  it('node:stream pipeline through a Transform', async () => {
    assert.deepEqual(await json('node', '/stream'), { out: 'ABC' });
  });
  it('node:string_decoder and node:process', async () => {
    assert.deepEqual(await json('node', '/decoder'), { text: '€' });
    assert.deepEqual(await json('node', '/process'), { env: 'object', tick: 'function' });
  });
  it('AsyncLocalStorage keeps each run’s store across awaits and timers', async () => {
    assert.deepEqual(await json('node', '/als'), { a: 'first', b: 'second', outside: null });
  });
  it('without the flag, importing node:buffer fails at load with a clear error', async () => {
    const { startFixture } = await import('../helpers.ts');
    const dev = await startFixture('no-node-compat');
    try {
      const res = await fetch(dev.url);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /nodejs_compat/);
    } finally {
      await dev.close();
    }
  });
});

describe('cloudflare:workers and service bindings', () => {
  it('fetch through a service binding reaches a class-based entrypoint with env', async () => {
    const out = await json('svc-caller', '/fetch');
    assert.equal(out.greeting, 'hello from the target');
    assert.equal(out.importedEnv, 'hello from the target');
    assert.equal(out.path, '/some/path');
    assert.equal(out.method, 'POST');
    assert.equal(out.body, 'payload');
    assert.equal(out.header, 'caller');
  });
  it('waitUntil imported from cloudflare:workers runs', async () => {
    await json('svc-caller', '/fetch');
    const out = await json('svc-caller', '/fetch');
    assert.ok(out.background >= 1, `background ran ${out.background} times`);
  });
  it('RPC calls methods with structured-cloned arguments and rethrows errors by class', async () => {
    const out = await json('svc-caller', '/rpc');
    assert.deepEqual(out.add, { ok: 5 });
    assert.deepEqual(out.describe, { ok: { sum: 6, year: 2024, greeting: 'hello from the target' } });
    assert.deepEqual(out.fail, { error: 'RangeError', message: 'out of range on purpose' });
    assert.equal(out.nope.error, 'TypeError');
    assert.match(out.nope.message, /does not implement the method "nope"/);
    assert.equal(out.wrong.error, 'TypeError');
    assert.match(out.wrong.message, /not a class extending WorkerEntrypoint/);
    assert.match(out.missing.message, /"no-such-worker", which is not running/);
    assert.match(out.badArg.message, /could not be cloned|clone/i);
  });
});

describe('outpost dev with several workers', () => {
  it('serves the first project and reaches the others through service bindings', async () => {
    const { startFixture, FIXTURES } = await import('../helpers.ts');
    const { join } = await import('node:path');
    const dev = await startFixture('svc-caller', {
      services: [join(FIXTURES, 'svc-target')],
      limits: { cpuMs: 1000 },
    });
    try {
      const out = (await (await fetch(`${dev.url}/rpc`)).json()) as { add: unknown };
      assert.deepEqual(out.add, { ok: 5 });
      const res = await fetch(`${dev.url}/fetch`);
      assert.equal(((await res.json()) as { greeting: string }).greeting, 'hello from the target');
    } finally {
      await dev.close();
    }
  });
  it('refuses two workers with the same name', async () => {
    const { startFixture, FIXTURES } = await import('../helpers.ts');
    const { join } = await import('node:path');
    await assert.rejects(
      startFixture('svc-target', { services: [join(FIXTURES, 'svc-target')] }),
      /a name no other worker in this dev session uses/,
    );
  });
});
