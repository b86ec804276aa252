// The young generation of tenants' isolates: larger semi-spaces, every point where isolated-vm
// stops a heap where it was, and V8's flags put back for whatever is made after.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import ivm from 'isolated-vm';
import { noopObserver } from '../observability/index.ts';
import { createIsolate } from './pool.ts';
import { flagValue, ownSemiSpaceMb, youngGeneration } from './young-generation.ts';

const MB = 1024 * 1024;
const heapLimit = async (i: ivm.Isolate) => (await i.getHeapStatistics()).heap_size_limit;

it('gives a semi-space MB per 32 MB of limit (a power of two, up to 4) and the old generation less', () => {
  assert.deepEqual(youngGeneration(8), { semiSpaceMb: 1, oldSpaceMb: 8 });
  assert.deepEqual(youngGeneration(63), { semiSpaceMb: 1, oldSpaceMb: 63 });
  assert.deepEqual(youngGeneration(64), { semiSpaceMb: 2, oldSpaceMb: 61 });
  assert.deepEqual(youngGeneration(96), { semiSpaceMb: 2, oldSpaceMb: 93 });
  assert.deepEqual(youngGeneration(128), { semiSpaceMb: 4, oldSpaceMb: 119 });
  // A fractional limit is whole MB in isolated-vm (C++ truncates it).
  assert.deepEqual(youngGeneration(202.9), { semiSpaceMb: 4, oldSpaceMb: 193 });
  // isolated-vm gives 2 MB here already.
  assert.deepEqual(youngGeneration(300), { semiSpaceMb: 4, oldSpaceMb: 294 });
  // Where isolated-vm gives more, its size is kept.
  assert.deepEqual(youngGeneration(4096), { semiSpaceMb: 8, oldSpaceMb: 4096 });
});

it('knows the semi-space isolated-vm gives', async () => {
  for (const memoryMb of [8, 63, 128, 202.9, 254, 255, 383, 384, 511, 512, 4096]) {
    const plain = new ivm.Isolate({ memoryLimit: memoryMb });
    try {
      const reserve = (await heapLimit(plain)) / MB - Math.floor(memoryMb);
      assert.equal(reserve, 3 * ownSemiSpaceMb(memoryMb), `${memoryMb} MB`);
    } finally {
      plain.dispose();
    }
  }
});

it("makes isolates whose heap limit, and so where isolated-vm stops them, is isolated-vm's own", async () => {
  for (const memoryMb of [8, 64, 100, 128, 202.9, 256, 400, 1024]) {
    const plain = new ivm.Isolate({ memoryLimit: memoryMb });
    const pooled = await createIsolate(memoryMb, noopObserver);
    try {
      const own = await heapLimit(plain);
      const ours = await heapLimit(pooled.isolate);
      assert.equal(ours, own, `${memoryMb} MB: heap limit ${ours / MB} MB, isolated-vm's own ${own / MB} MB`);
    } finally {
      plain.dispose();
      pooled.isolate.dispose();
    }
  }
});

it("puts V8's flags back: isolates made after are as isolated-vm makes them", async () => {
  const before = new ivm.Isolate({ memoryLimit: 128 });
  const pooled = await createIsolate(128, noopObserver);
  const after = new ivm.Isolate({ memoryLimit: 128 });
  try {
    assert.equal(await heapLimit(after), await heapLimit(before));
    // 128 MB and three 1 MB semi-spaces.
    assert.equal(await heapLimit(after), 131 * MB);
  } finally {
    before.dispose();
    pooled.isolate.dispose();
    after.dispose();
  }
});

it("keeps a semi-space flag given to Node from loosening a tenant's limit", async () => {
  // As `node --max-semi-space-size=64` would leave it for isolates made later.
  setFlagsFromString('--max-semi-space-size=64');
  try {
    const plain = new ivm.Isolate({ memoryLimit: 128 });
    const pooled = await createIsolate(128, noopObserver);
    try {
      // isolated-vm alone: stopped only past 128 + 3 × 64 MB.
      assert.equal(await heapLimit(plain), 320 * MB);
      assert.equal(await heapLimit(pooled.isolate), 131 * MB);
    } finally {
      plain.dispose();
      pooled.isolate.dispose();
    }
  } finally {
    setFlagsFromString('--max-semi-space-size=0');
  }
});

it('reads what Node was given for a size flag, as Node applies it', () => {
  assert.equal(flagValue([], 'max-semi-space-size'), 0);
  assert.equal(flagValue(['--max-semi-space-size=64'], 'max-semi-space-size'), 64);
  assert.equal(flagValue(['--max_semi_space_size', '32'], 'max-semi-space-size'), 32);
  // The last counts (the command line comes after NODE_OPTIONS).
  assert.equal(
    flagValue(['--max-old-space-size=512', '--max-old-space-size=4096'], 'max-old-space-size'),
    4096,
  );
  assert.equal(flagValue(['--max-semi-space-size=64'], 'max-old-space-size'), 0);
  assert.equal(flagValue(['--max-semi-space-size', '--inspect'], 'max-semi-space-size'), 0);
});
