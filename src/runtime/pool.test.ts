// The warm pool's isolates: the prelude's code cache is made once the first one is set up.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import ivm from 'isolated-vm';
import { noopObserver } from '../observability/index.ts';
import { createIsolate, preludeCacheBytes } from './pool.ts';
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
