// Storage quotas per tenant: one tenant filling a shared store must not evict a neighbour's
// entries (the Cache API, the fetch() subrequest cache), fill a KV namespace past its quota, or
// grow a Durable Object past its object's quota. The quotas are the operator's (Runtime and
// store options, `outpost dev` flags), set tiny here; a worker's config has no say.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { CacheRequest, OriginResponse } from '../../src/cache/index.ts';
import { loadConfig, resolveQuotas } from '../../src/config/index.ts';
import { KvPop, SqliteKvStore } from '../../src/kv/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import { copyFixture, startFixture } from '../helpers.ts';

const copies: ReturnType<typeof copyFixture>[] = [];
function project(name: string): string {
  const p = copyFixture('storage-quotas');
  copies.push(p);
  const toml = join(p.dir, 'wrangler.toml');
  // The tenant's own [limits] is read, and cannot raise a quota: quotas are not wrangler config.
  const rest = readFileSync(toml, 'utf8').replace(/^name = .*\n/, '');
  writeFileSync(toml, `name = "${name}"\n${rest}\n[limits]\ncpu_ms = 1000\n`);
  return p.dir;
}

const KiB = 1024;
let store: SqliteKvStore;
let rt: Runtime;

async function call(tenant: string, path: string): Promise<Record<string, unknown>> {
  const r = await rt.handle(tenant, {
    method: 'GET',
    url: `http://t.example${path}`,
    headers: [],
    cf: {},
    body: null,
  });
  const text = new TextDecoder().decode(r.body as Uint8Array);
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${tenant} ${path}: ${r.status} ${text.slice(0, 300)}`);
  }
}

before(async () => {
  store = new SqliteKvStore({ file: ':memory:', namespaceQuotaBytes: 64 * KiB });
  rt = new Runtime({
    poolSize: 1,
    kv: new KvPop('DEV', store),
    limits: { cpuMs: 1000 },
    quotas: { cacheApiTenantBytes: 64 * KiB, fetchCacheTenantBytes: 64 * KiB, durableObjectBytes: 256 * KiB },
  });
  for (const name of ['victim', 'attacker']) {
    const config = loadConfig(project(name), { warn: () => {} });
    rt.deploy(name, await bundleWorker(config), config);
  }
});
after(async () => {
  await rt.close();
  await store.close();
  for (const c of copies) c.cleanup();
});

describe('Cache API: each tenant has a budget of its own in the PoP store', () => {
  it("a tenant filling the Cache API evicts only its own entries, never a neighbour's", async () => {
    assert.deepEqual(await call('victim', '/cache/put?key=session&size=1000'), { ok: true });
    // 200 × 8 KiB = 1.6 MB into a store whose per-tenant budget is 64 KiB, through several caches.
    for (let i = 0; i < 200; i++)
      assert.deepEqual(
        await call('attacker', `/cache/put?key=flood-${i}&size=${8 * KiB}&cache=${i % 2 ? 'a' : ''}`),
        { ok: true },
      );
    assert.deepEqual(await call('victim', '/cache/get?key=session'), { hit: true });
    assert.ok(
      rt.cacheStore.bytesOf('attacker') <= 64 * KiB,
      `attacker holds ${rt.cacheStore.bytesOf('attacker')}`,
    );
    // The attacker's newest entry is there; its oldest went to make room.
    assert.deepEqual(await call('attacker', '/cache/get?key=flood-198'), { hit: true });
    assert.deepEqual(await call('attacker', '/cache/get?key=flood-0'), { hit: false });
  });

  it("the fetch() subrequest cache keeps each tenant's entries within its own budget too", async () => {
    const origin = async (req: CacheRequest): Promise<OriginResponse> => ({
      status: 200,
      statusText: 'OK',
      headers: ['cache-control', 'max-age=3600', 'content-type', 'text/plain'],
      body: (async function* () {
        yield new TextEncoder().encode(req.url.includes('flood') ? 'y'.repeat(8 * KiB) : 'victim');
      })(),
    });
    const get = (url: string, namespace: string) =>
      rt.httpCache.handle({ method: 'GET', url, headers: [] }, origin, {
        namespace,
        defaultCacheLevel: true,
        cacheEverything: true,
      });
    const drain = async (a: Awaited<ReturnType<typeof get>>) => {
      if (a.body) for await (const _ of a.body);
      return a.cacheStatus;
    };
    assert.equal(await drain(await get('https://api.example/me', 'victim')), 'MISS');
    for (let i = 0; i < 100; i++) await drain(await get(`https://api.example/flood-${i}`, 'attacker'));
    assert.equal(await drain(await get('https://api.example/me', 'victim')), 'HIT');
  });
});

describe('KV: a storage quota per namespace', () => {
  it("a put past the quota is refused, naming the namespace and the quota; nothing is written; the neighbour's namespace works", async () => {
    let refused: string | undefined;
    let i = 0;
    for (; i < 20 && !refused; i++) {
      const r = await call('attacker', `/kv/put?key=fill-${i}&size=${16 * KiB}`);
      if (r.error) refused = String(r.error);
    }
    assert.ok(refused, 'the attacker hit its quota');
    assert.match(
      refused,
      /^Error: KV PUT failed: 413 KV namespace "attacker:STORE" is over its storage quota of 65536 bytes: this write adds 16390 bytes to the \d+ stored; the write was not made/,
    );
    assert.deepEqual(await call('attacker', `/kv/get?key=fill-${i - 1}`), { length: null });
    assert.deepEqual(await call('attacker', '/kv/get?key=fill-0'), { length: 16 * KiB });
    assert.ok(store.usedBytes('attacker:STORE') <= 64 * KiB);
    // The neighbour's namespace has its own quota.
    assert.deepEqual(await call('victim', `/kv/put?key=mine&size=${32 * KiB}`), { ok: true });
    assert.deepEqual(await call('victim', '/kv/get?key=mine'), { length: 32 * KiB });
    // Deleting makes room again.
    assert.deepEqual(await call('attacker', '/kv/delete?key=fill-0'), { ok: true });
    assert.deepEqual(await call('attacker', `/kv/put?key=again&size=${16 * KiB}`), { ok: true });
  });
});

/** Puts 60 KiB values into the attacker's object `name` until its quota refuses one. */
async function fillToQuota(name: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const r = await call('attacker', `/do/put?name=${name}&key=k${i}&size=${60 * KiB}`);
    if (r.error) return;
  }
  assert.fail(`object ${name} never reached its quota`);
}

describe('Durable Objects: a storage quota per object', () => {
  it('key-value writes past the quota fail with SQLITE_FULL; reads and deletes keep working; nothing partial is kept', async () => {
    let refused: string | undefined;
    let i = 0;
    for (; i < 30 && !refused; i++) {
      const r = await call('attacker', `/do/put?key=k${i}&size=${60 * KiB}`);
      if (r.error) refused = String(r.error);
    }
    assert.ok(refused, 'the object hit its quota');
    assert.match(refused, /database or disk is full: SQLITE_FULL/);
    assert.deepEqual(await call('attacker', `/do/get?key=k${i - 1}`), { length: null });
    assert.deepEqual(await call('attacker', '/do/get?key=k0'), { length: 60 * KiB });
    assert.deepEqual(await call('attacker', '/do/delete?key=k0'), { ok: true });
    assert.deepEqual(await call('attacker', '/do/delete?key=k1'), { ok: true });
    assert.deepEqual(await call('attacker', `/do/put?key=again&size=${60 * KiB}`), { ok: true });
    assert.deepEqual(await call('attacker', '/do/get?key=again'), { length: 60 * KiB });
    // Another object (same tenant, another id) and the neighbour's objects have quotas of their own.
    assert.deepEqual(await call('attacker', `/do/put?name=other&key=x&size=${60 * KiB}`), { ok: true });
    assert.deepEqual(await call('victim', `/do/put?key=x&size=${60 * KiB}`), { ok: true });
  });

  it('a write whose commit failed (made by list(), which commits first) is not read back from the storage cache', async () => {
    await fillToQuota('listed');
    const r = await call('attacker', `/do/put-list?name=listed&key=phantom&size=${60 * KiB}`);
    assert.match(String(r.listed), /database or disk is full: SQLITE_FULL/);
    assert.equal(r.length, null, 'the refused write is not read back');
    assert.deepEqual(await call('attacker', '/do/get?name=listed&key=phantom'), { length: null });
  });

  it('a write staged before ctx.abort() whose commit failed is not read back by an event still in flight', async () => {
    await fillToQuota('aborted');
    // The reader waits (its timer does not hold the input gate), the reset happens meanwhile. The
    // runtime's timers keep no process alive: this test's interval keeps it while they run.
    const keepAlive = setInterval(() => {}, 100);
    try {
      const reader = call('attacker', '/do/wait-get?name=aborted&key=phantom&ms=400');
      await new Promise((r) => setTimeout(r, 100));
      const reset = await call('attacker', `/do/put-abort?name=aborted&key=phantom&size=${60 * KiB}`);
      assert.match(String(reset.error), /Durable Object reset: reset by the test/);
      const read = await reader;
      assert.notEqual(
        read.length,
        60 * KiB,
        `the reader saw a write that was never stored: ${JSON.stringify(read)}`,
      );
    } finally {
      clearInterval(keepAlive);
    }
    assert.deepEqual(await call('attacker', '/do/get?name=aborted&key=phantom'), { length: null });
  });

  it('SQL writes past the quota fail with SQLITE_FULL; the rows before stay readable and deletable', async () => {
    let refused: string | undefined;
    let i = 0;
    for (; i < 30 && !refused; i++) {
      const r = await call('attacker', `/do/sql?name=sql&key=r${i}&size=${60 * KiB}`);
      if (r.error) refused = String(r.error);
    }
    assert.ok(refused, 'the object hit its quota');
    assert.match(refused, /Error: database or disk is full: SQLITE_FULL/);
    const rows = (await call('attacker', '/do/sql-count?name=sql')).rows as number;
    assert.equal(rows, i - 1, 'the refused insert left no row');
    assert.deepEqual(await call('attacker', '/do/sql-delete?name=sql&key=r0'), { ok: true });
    assert.deepEqual(await call('attacker', '/do/sql-delete?name=sql&key=r1'), { ok: true });
    assert.equal((await call('attacker', `/do/sql?name=sql&key=after&size=${60 * KiB}`)).ok, true);
  });
});

describe('Durable Objects: a commit that fails before a WebSocket message leaves', () => {
  for (const [what, path] of [
    ['a WebSocket the object accepted', 'ws'],
    ['a hibernatable WebSocket (webSocketMessage)', 'ws-hibernating'],
  ] as const)
    it(`throws from send(), and the refused write is not read back from the storage cache: ${what}`, async () => {
      const dev = await startFixture(project(`owner-${path}`), { quotas: { durableObjectBytes: 256 * KiB } });
      let ws: WebSocket | undefined;
      try {
        let i = 0;
        for (; i < 30; i++) {
          const r = (await (
            await fetch(`${dev.url}/do/put?name=${path}&key=k${i}&size=${60 * KiB}`)
          ).json()) as { error?: string };
          if (r.error) break;
        }
        assert.ok(i < 30, 'the object reached its quota');
        const socket = new WebSocket(`${dev.url.replace('http', 'ws')}/do/${path}?name=${path}`);
        ws = socket;
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
        });
        const answer = new Promise<string>((resolve) =>
          socket.on('message', (m) => {
            if (String(m).startsWith('{')) resolve(String(m));
          }),
        );
        socket.send(`phantom ${60 * KiB}`);
        const r = JSON.parse(await answer) as { sent: string; length: number | null };
        assert.match(r.sent, /database or disk is full: SQLITE_FULL/);
        assert.equal(r.length, null, 'the refused write is not read back');
      } finally {
        ws?.close();
        await dev.close();
      }
    });
});

describe('quotas are the operator’s', () => {
  it('are validated, naming the key, and set by the runtime, not a worker config', () => {
    assert.throws(
      () => resolveQuotas({ kvNamespaceBytes: -1 }),
      /quotas: "kvNamespaceBytes" must be a positive integer number of bytes, received number -1/,
    );
    // Every tenant here was deployed from a config with its own [limits]: the runtime's quotas stand.
    assert.equal(rt.quotas.cacheApiTenantBytes, 64 * KiB);
    assert.equal(rt.quotas.durableObjectBytes, 256 * KiB);
  });
});
