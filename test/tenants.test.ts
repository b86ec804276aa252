// Many tenants in one process: 1,000 isolates side by side, LRU eviction, code cache reuse.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { FIXTURES, waitFor } from './helpers.ts';

const request = (path = '/') => ({
  method: 'GET',
  url: `http://t.example${path}`,
  headers: [],
  cf: {},
  body: null,
});
const text = (r: { body: unknown }) => new TextDecoder().decode(r.body as Uint8Array);

async function tenantBundle() {
  const config = loadConfig(join(FIXTURES, 'service-worker'), { warn: () => {} });
  return { config, bundle: await bundleWorker(config) };
}

/** Deploy `n` tenants `<prefix><i>` of one bundle, each with its own GREETING, and serve each once. */
async function loadTenants(
  rt: Runtime,
  prefix: string,
  n: number,
  bundle: Awaited<ReturnType<typeof tenantBundle>>['bundle'],
  config: Awaited<ReturnType<typeof tenantBundle>>['config'],
) {
  for (let i = 0; i < n; i++) {
    rt.deploy(`${prefix}${i}`, bundle, { ...config, vars: { GREETING: `${prefix}${i}` } });
    assert.equal(text(await rt.handle(`${prefix}${i}`, request())), `${prefix}${i} GET /`);
  }
}

describe('many tenants', () => {
  it('serves 1,000 tenants, each in its own isolate with its own env', async () => {
    const { config, bundle } = await tenantBundle();
    // Counts and isolation, not CPU limits: with 1,000 isolates' GC on two cores, a first request
    // was once measured at 62 ms of isolated-vm cpuTime (it runs on while descheduled).
    const rt = new Runtime({ poolSize: 8, poolMax: 0, limits: { cpuMs: 1000 } });
    try {
      const N = 1000;
      for (let i = 0; i < N; i++)
        rt.deploy(`t${i}`, bundle, { ...config, vars: { GREETING: `tenant ${i}` } });
      for (let i = 0; i < N; i++) {
        const res = await rt.handle(`t${i}`, request(`/r${i}`));
        assert.equal(text(res), `tenant ${i} GET /r${i}`);
      }
      const s = rt.stats();
      assert.equal(s.tenants, N);
      assert.equal(s.isolates, N);
      // One bundle: compiled without a cache until the second load has served its first
      // request and made it (a few loads meanwhile), then from V8's code cache (code-cache.ts).
      assert.ok(s.codeCacheHits >= N - 10, `code cache hits ${s.codeCacheHits}`);
      // Every tenant still answers after all were loaded (no cross-talk).
      for (const i of [0, 499, 999])
        assert.equal(text(await rt.handle(`t${i}`, request('/again'))), `tenant ${i} GET /again`);
    } finally {
      await rt.close();
    }
  });

  it('evicts least-recently-used idle isolates past the cap, and reloads them on demand', async () => {
    const { config, bundle } = await tenantBundle();
    const rt = new Runtime({ poolSize: 2, poolMax: 0, maxIsolates: 10, limits: { cpuMs: 1000 } });
    try {
      await loadTenants(rt, 'e', 30, bundle, config);
      // Eviction runs as heap samples land (asynchronously, after each load).
      const s = await waitFor(
        () => (rt.stats().isolates <= 10 ? rt.stats() : undefined),
        5000,
        'eviction down to the cap',
      );
      assert.ok(s.evictions >= 20, `evictions ${s.evictions}`);
      // The oldest tenant was evicted and comes back with a cold start.
      assert.equal(text(await rt.handle('e0', request('/back'))), 'e0 GET /back');
    } finally {
      await rt.close();
    }
  });

  it('evicts under a memory budget', async () => {
    const { config, bundle } = await tenantBundle();
    const rt = new Runtime({ poolSize: 1, poolMax: 0, memoryBudgetMb: 16, limits: { cpuMs: 1000 } });
    try {
      await loadTenants(rt, 'm', 30, bundle, config);
      const s = await waitFor(
        () => (rt.stats().heapBytes <= 16 * 1024 * 1024 ? rt.stats() : undefined),
        5000,
        'eviction under the budget',
      );
      assert.ok(s.evictions > 0);
    } finally {
      await rt.close();
    }
  });
});
