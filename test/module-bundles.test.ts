// Module workers are bundled as ES modules and loaded as modules in the isolate
// (src/runtime/bundle-modules.ts, src/runtime/load.ts). Runtime modules reach every kind of
// import.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';

describe('runtime modules in a module bundle', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('module-interop', { limits: { cpuMs: 1000 } });
  });
  after(() => dev.close());

  it('reach import, require() from CommonJS and import(); strict mode', async () => {
    assert.deepEqual(await (await fetch(`${dev.url}/`)).json(), {
      namedImport: true,
      fromCommonJs: true,
      dynamicImport: 'b2s=',
      missing:
        'No such module "node:fs". Outpost\'s nodejs_compat provides node:async_hooks, node:buffer, node:crypto, node:events, node:process, node:stream, node:string_decoder, node:util.',
      strict: true,
    });
  });
});
