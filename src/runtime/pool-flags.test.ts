// A semi-space flag given to Node must not reach tenants' isolates: V8 would size their young
// generation from it, and isolated-vm counts that reserve into where it stops a heap.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';

it("keeps Node's semi-space flag from loosening a tenant's memory limit", () => {
  const script = [
    "import ivm from 'isolated-vm';",
    'const limit = async (i) => (await i.getHeapStatistics()).heap_size_limit / 1048576;',
    'const before = new ivm.Isolate({ memoryLimit: 128 });',
    "const { createIsolate } = await import('./src/runtime/pool.ts');",
    "const { noopObserver } = await import('./src/observability/index.ts');",
    'const pooled = await createIsolate(128, noopObserver);',
    'console.log(JSON.stringify([await limit(before), await limit(pooled.isolate)]));',
    'process.exit(0);',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    ['--no-node-snapshot', '--import', 'tsx', '--input-type=module', '--eval', script],
    {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=64' },
      encoding: 'utf8',
    },
  );
  const [before, pooled] = JSON.parse(out.trim().split('\n').pop() as string) as number[];
  // Made before pool.ts loaded: 128 MB + 3 × 64 MB of semi-spaces.
  assert.equal(before, 320);
  // A tenant's isolate: 128 MB + isolated-vm's own three 1 MB semi-spaces.
  assert.equal(pooled, 131);
});
