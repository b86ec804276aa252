// The warm pool's isolates: the prelude's code cache is made once the first one is set up.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import ivm from 'isolated-vm';
import { noopObserver } from '../observability/index.ts';
import { createIsolate, IsolatePool, preludeCacheBytes } from './pool.ts';
import { PRELUDE_FILENAME, preludeSource } from './prelude.ts';

it('the prelude cache holds the functions setting an isolate up compiled, not only its top level', async () => {
  assert.equal(preludeCacheBytes(), 0);
  const first = await createIsolate(64, noopObserver);
  const afterSetup = preludeCacheBytes();
  // What a cache made when the script is compiled holds, for comparison.
  const fresh = new ivm.Isolate({ memoryLimit: 64 });
  const atCompile = await fresh.compileScript(await preludeSource(), {
    filename: PRELUDE_FILENAME,
    produceCachedData: true,
  });
  const compileBytes = (
    atCompile as unknown as { cachedData: ivm.ExternalCopy<ArrayBuffer> }
  ).cachedData.copy().byteLength;
  fresh.dispose();
  assert.ok(
    afterSetup > compileBytes * 1.1,
    `cache after setup ${afterSetup} bytes, at compile ${compileBytes} bytes`,
  );
  // The next isolate uses it and works.
  const second = await createIsolate(64, noopObserver);
  assert.equal(preludeCacheBytes(), afterSetup, 'made once');
  assert.equal(await second.context.eval('typeof Response + typeof fetch'), 'functionfunction');
  first.isolate.dispose();
  second.isolate.dispose();
});

it('grows after a burst of cold starts, up to its max, and gives the isolates back as the burst ages', async () => {
  const holdMs = 2000;
  const pool = new IsolatePool({ size: 1, max: 4, holdMs, observer: noopObserver });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let most = 0;
  const until = async (what: string, ok: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!ok()) {
      most = Math.max(most, pool.readyCount);
      if (Date.now() > end) assert.fail(`${what}: ${pool.readyCount} ready after ${ms} ms`);
      await sleep(10);
    }
    most = Math.max(most, pool.readyCount);
  };
  try {
    await pool.prefill(32);
    assert.equal(pool.readyCount, 1);
    // Loads ahead of requests (a deploy's) are no demand.
    for (const t of await Promise.all(Array.from({ length: 6 }, () => pool.take(32, false))))
      t.isolate.dispose();
    assert.equal(pool.target(32), 1, 'loads ahead of requests do not grow it');
    // Six new tenants at once: one from the pool, five made on the spot.
    for (const t of await Promise.all(Array.from({ length: 6 }, () => pool.take(32)))) t.isolate.dispose();
    assert.equal(pool.target(32), 4, 'six within a second, held to the max');
    // Cold starts paused: the pool refills to what the burst asked for, not past it.
    await until('refilled to 4', () => pool.readyCount === 4, holdMs);
    await sleep(100);
    assert.equal(most, 4);
    // The burst ages: halved after holdMs, the base size after twice that.
    await until('back to the base size', () => pool.readyCount === 1, 4 * holdMs);
    assert.equal(most, 4, 'never more than the max');
    assert.equal(pool.target(32), 1);
  } finally {
    pool.close();
  }
});

it('holds the most it keeps after bursts across all memory sizes together', async () => {
  const pool = new IsolatePool({ size: 1, max: 4, holdMs: 60_000, observer: noopObserver });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const burst = (mb: number) => Promise.all(Array.from({ length: 6 }, () => pool.take(mb)));
    for (const t of [...(await burst(32)), ...(await burst(48))]) t.isolate.dispose();
    assert.equal(pool.target(32), 4);
    assert.equal(pool.target(48), 4);
    let most = 0;
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      most = Math.max(most, pool.readyCount);
      await sleep(10);
    }
    // Each size's base (1) is kept whatever the rest hold; growth stops at 4 in all.
    assert.ok(most >= 4, `${most} ready`);
    assert.ok(most <= 5, `${most} ready: past the max`);
  } finally {
    pool.close();
  }
});
