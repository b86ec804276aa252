// The young generation of tenants' isolates: larger semi-spaces, the point where a heap is
// stopped where it was, and Node's other isolates left alone.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import ivm from 'isolated-vm';
import { noopObserver } from '../observability/index.ts';
import { createIsolate } from './pool.ts';
import { ownSemiSpaceMb, youngGeneration } from './young-generation.ts';

const MB = 1024 * 1024;

it("gives a semi-space MB per 32 MB of limit, up to 4, and lowers isolated-vm's limit by the reserve", () => {
  assert.deepEqual(youngGeneration(8), { semiSpaceMb: 1, memoryLimit: 8, own: 1 });
  assert.deepEqual(youngGeneration(63), { semiSpaceMb: 1, memoryLimit: 63, own: 1 });
  assert.deepEqual(youngGeneration(64), { semiSpaceMb: 2, memoryLimit: 61, own: 1 });
  assert.deepEqual(youngGeneration(127), { semiSpaceMb: 2, memoryLimit: 124, own: 1 });
  assert.deepEqual(youngGeneration(128), { semiSpaceMb: 4, memoryLimit: 119, own: 1 });
  assert.deepEqual(youngGeneration(300), { semiSpaceMb: 4, memoryLimit: 294, own: 2 });
  // Where isolated-vm gives more, its size is kept.
  assert.deepEqual(youngGeneration(4096), { semiSpaceMb: 8, memoryLimit: 4096, own: 8 });
});

it('knows the semi-space isolated-vm gives', async () => {
  for (const memoryMb of [8, 63, 128, 254, 255, 383, 384, 511, 512, 4096]) {
    const plain = new ivm.Isolate({ memoryLimit: memoryMb });
    try {
      const reserve = (await plain.getHeapStatistics()).heap_size_limit / MB - memoryMb;
      assert.equal(reserve, 3 * ownSemiSpaceMb(memoryMb), `${memoryMb} MB`);
    } finally {
      plain.dispose();
    }
  }
});

it("makes isolates whose heap is stopped at the same size as with isolated-vm's own young generation", async () => {
  for (const memoryMb of [8, 64, 100, 128, 256, 400, 1024]) {
    const plain = new ivm.Isolate({ memoryLimit: memoryMb });
    const pooled = await createIsolate(memoryMb, noopObserver);
    try {
      const own = (await plain.getHeapStatistics()).heap_size_limit;
      const ours = (await pooled.isolate.getHeapStatistics()).heap_size_limit;
      // isolated-vm stops a heap past memoryLimit + (V8's heap limit - memoryLimit): V8's limit.
      assert.equal(ours, own, `${memoryMb} MB: heap limit ${ours / MB} MB, isolated-vm's own ${own / MB} MB`);
    } finally {
      plain.dispose();
      pooled.isolate.dispose();
    }
  }
});

it("puts V8's semi-space flag back: isolates made after are as isolated-vm makes them", async () => {
  const before = new ivm.Isolate({ memoryLimit: 128 });
  const pooled = await createIsolate(128, noopObserver);
  const after = new ivm.Isolate({ memoryLimit: 128 });
  try {
    const limit = async (i: ivm.Isolate) => (await i.getHeapStatistics()).heap_size_limit;
    assert.equal(await limit(after), await limit(before));
    // isolated-vm's own: 128 MB and three 1 MB semi-spaces.
    assert.equal(await limit(after), 131 * MB);
  } finally {
    before.dispose();
    pooled.isolate.dispose();
    after.dispose();
  }
});
