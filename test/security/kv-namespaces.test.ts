// Attacks on KV namespaces: a binding without an `id` stood for the namespace named like the
// binding, so every worker with `{ binding = "STORE" }` read, listed and overwrote the same data.
// Now such a binding is its worker's own namespace (`<worker name>:<binding>`, named after the
// tenant the runtime deploys), and an explicit id cannot name one of those.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bindingsOf, loadConfig } from '../../src/config/index.ts';
import { KvPop, SqliteKvStore } from '../../src/kv/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import { copyFixture } from '../helpers.ts';

const copies: ReturnType<typeof copyFixture>[] = [];
/** The fixture as a project called `name`, with `kv` as its kv_namespaces. */
function project(name: string, kv = '[{ binding = "STORE" }]') {
  const p = copyFixture('kv-namespaces');
  copies.push(p);
  writeFileSync(
    join(p.dir, 'wrangler.toml'),
    `name = "${name}"\nmain = "worker.js"\ncompatibility_date = "2025-06-01"\nkv_namespaces = ${kv}\n`,
  );
  return p.dir;
}

let store: SqliteKvStore;
let rt: Runtime;
const text = (r: { body: unknown }) => new TextDecoder().decode(r.body as Uint8Array);
const call = async (tenant: string, path: string) =>
  text(
    await rt.handle(tenant, {
      method: 'GET',
      url: `http://t.example${path}`,
      headers: [],
      cf: {},
      body: null,
    }),
  );

before(async () => {
  store = new SqliteKvStore({ file: ':memory:' });
  rt = new Runtime({ poolSize: 1, kv: new KvPop('DEV', store), limits: { cpuMs: 1000 } });
  const bank = loadConfig(project('bank'), { warn: () => {} });
  const shop = loadConfig(project('shop'), { warn: () => {} });
  rt.deploy('bank', await bundleWorker(bank), bank);
  const shopBundle = await bundleWorker(shop);
  rt.deploy('shop', shopBundle, shop);
  // The same project deployed as a second tenant: the same name, so the same config id.
  rt.deploy('shop-copy', shopBundle, shop);
});
after(async () => {
  await rt.close();
  await store.close();
  for (const c of copies) c.cleanup();
});

describe('KV bindings without an id', () => {
  it("are each worker's own namespace, named so the CLI and admin view can find it", () => {
    const bank = loadConfig(project('bank'), { warn: () => {} });
    assert.deepEqual(bindingsOf(bank.bindings, 'kv'), [
      { binding: 'STORE', id: 'bank:STORE', own: true, type: 'kv', key: 'kv_namespaces[0]' },
    ]);
  });

  it("another worker's STORE neither reads, lists nor overwrites the victim's", async () => {
    assert.equal(await call('bank', '/put?key=balance&value=1000'), 'ok');
    assert.deepEqual(JSON.parse(await call('shop', '/get?key=balance')), { value: null });
    assert.deepEqual(JSON.parse(await call('shop', '/list')), []);
    assert.equal(await call('shop', '/put?key=balance&value=0'), 'ok');
    assert.deepEqual(JSON.parse(await call('shop', '/get?key=balance')), { value: '0' });
    // The victim is unaffected.
    assert.deepEqual(JSON.parse(await call('bank', '/get?key=balance')), { value: '1000' });
    assert.deepEqual(JSON.parse(await call('bank', '/list')), ['balance']);
  });

  it('two tenants deployed from one project (one name) do not share either', async () => {
    assert.equal(await call('shop', '/put?key=cart&value=shop'), 'ok');
    assert.deepEqual(JSON.parse(await call('shop-copy', '/get?key=cart')), { value: null });
    assert.deepEqual(JSON.parse(await call('shop', '/get?key=cart')), { value: 'shop' });
  });

  it("an explicit id cannot name another worker's namespace; the error names the key", () => {
    assert.throws(
      () => loadConfig(project('thief', '[{ binding = "STORE", id = "bank:STORE" }]'), { warn: () => {} }),
      /wrangler\.toml: "kv_namespaces\[0\]\.id" must be a namespace id without ":" .*received "bank:STORE"/,
    );
  });
});
