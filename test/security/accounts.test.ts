// Bindings across accounts (issue 14 item 11): service bindings and `script_name` Durable Object
// bindings reached any worker by name, and a KV namespace with an explicit id was shared by
// every worker naming it. Now each reaches only its own account's workers and data
// (src/runtime/accounts.ts); within an account they work as before.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { KvPop, SqliteKvStore } from '../../src/kv/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import { copyFixture } from '../helpers.ts';

const copies: ReturnType<typeof copyFixture>[] = [];
/** The fixture as worker `name` in `account` (none: the default account). */
function project(name: string, account: string | undefined, bindings: string) {
  const p = copyFixture('accounts');
  copies.push(p);
  writeFileSync(
    join(p.dir, 'wrangler.toml'),
    `name = "${name}"\nmain = "worker.js"\ncompatibility_date = "2025-06-01"\n${account ? `account_id = "${account}"\n` : ''}${bindings}`,
  );
  return loadConfig(p.dir, { warn: () => {} });
}

const BANK = `
kv_namespaces = [{ binding = "SHARED", id = "ledger" }]
[[durable_objects.bindings]]
name = "VAULT"
class_name = "Vault"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Vault"]
`;
const CALLER = `
services = [{ binding = "BANK", service = "bank" }]
kv_namespaces = [{ binding = "SHARED", id = "ledger" }]
[[durable_objects.bindings]]
name = "VAULT"
class_name = "Vault"
script_name = "bank"
`;

let store: SqliteKvStore;
let rt: Runtime;
const call = async (tenant: string, path: string) => {
  const res = await rt.handle(tenant, {
    method: 'GET',
    url: `http://t.example${path}`,
    headers: [],
    cf: {},
    body: null,
  });
  return new TextDecoder().decode(res.body as Uint8Array);
};
const json = async (tenant: string, path: string) => JSON.parse(await call(tenant, path));

before(async () => {
  store = new SqliteKvStore({ file: ':memory:' });
  rt = new Runtime({ poolSize: 1, kv: new KvPop('DEV', store), limits: { cpuMs: 1000 } });
  const deploy = async (tenant: string, account: string | undefined, bindings: string) => {
    const config = project(tenant, account, bindings);
    rt.deploy(tenant, await bundleWorker(config), config);
  };
  await deploy('bank', 'acme', BANK);
  await deploy('teller', 'acme', CALLER); // the bank's own account
  await deploy('thief', 'evil', CALLER); // another account, naming the bank's worker and ids
  await deploy('stranger', undefined, CALLER); // the default account
});
after(async () => {
  await rt.close();
  await store.close();
  for (const c of copies) c.cleanup();
});

describe('bindings across accounts', () => {
  it('within the account, service, script_name and KV id bindings reach the bank', async () => {
    assert.equal(await call('bank', '/kv-put?v=1000'), 'ok');
    assert.deepEqual(await json('bank', '/vault-write?v=gold'), { ok: true, value: 'ok' });
    assert.deepEqual(await json('teller', '/service'), { ok: true, value: 'bank' });
    assert.deepEqual(await json('teller', '/vault-read'), { ok: true, value: 'gold' });
    assert.deepEqual(await json('teller', '/kv-get'), { value: '1000' });
  });

  for (const tenant of ['thief', 'stranger']) {
    it(`${tenant}: a service binding to the bank fails as if it were not running`, async () => {
      const r = await json(tenant, '/service');
      assert.equal(r.ok, false);
      assert.match(r.error, /points to the worker "bank", which is not running in this account/);
    });
    it(`${tenant}: a script_name binding cannot reach the bank's objects`, async () => {
      for (const path of ['/vault-read', '/vault-write?v=lead']) {
        const r = await json(tenant, path);
        assert.equal(r.ok, false, path);
        assert.match(r.error, /not running in this account/);
      }
    });
    it(`${tenant}: the same KV id is a namespace of its own account`, async () => {
      assert.deepEqual(await json(tenant, '/kv-get'), { value: null });
      assert.equal(await call(tenant, '/kv-put?v=0'), 'ok');
      assert.deepEqual(await json(tenant, '/kv-get'), { value: '0' });
    });
  }

  it('the bank is unaffected', async () => {
    assert.deepEqual(await json('bank', '/kv-get'), { value: '1000' });
    assert.deepEqual(await json('bank', '/vault-read'), { ok: true, value: 'gold' });
  });

  it('a KV id cannot name another account\'s namespace ("/"); a bad account_id names the key', () => {
    assert.throws(
      () => project('x', undefined, 'kv_namespaces = [{ binding = "S", id = "acme/ledger" }]\n'),
      /kv_namespaces\[0\]\.id/,
    );
    assert.throws(() => project('x', 'a/b', ''), /account_id/);
  });
});
