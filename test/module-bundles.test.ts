// Module workers are bundled as ES modules and loaded as modules in the isolate
// (src/runtime/bundle-modules.ts, src/runtime/load.ts). Runtime modules reach every kind of
// import; top-level await works: values computed after awaits reach the handlers, exports
// (Durable Object classes) are found, and a top level that rejects, never settles or loops fails
// the load with a clear error under the startup limit.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';

const sha = createHash('sha256').update('outpost').digest('hex');

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
        'No such module "node:dgram". Outpost\'s nodejs_compat provides node:assert, node:async_hooks, node:buffer, node:crypto, node:events, node:fs, node:http, node:https, node:net, node:path, node:process, node:querystring, node:stream, node:string_decoder, node:tls, node:url, node:util, node:zlib.',
      strict: true,
    });
  });
});

describe('top-level await', () => {
  let dev: TestDev;
  before(async () => {
    // Behaviour, not limits: a loaded CI machine must not fail the load.
    dev = await startFixture('top-level-await', { limits: { startupMs: 10_000, cpuMs: 1000 } });
  });
  after(() => dev.close());

  it('runs the handler with values the top level awaited, in every module of the graph', async () => {
    const first = (await (await fetch(`${dev.url}/`)).json()) as any;
    assert.deepEqual(first.settings, { greeting: 'hello', loadedBy: 'settings.js' });
    assert.equal(first.sha, sha, 'awaited crypto.subtle (a host call) and a timer at the top level');
    assert.match(first.instanceId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const second = (await (await fetch(`${dev.url}/`)).json()) as any;
    assert.equal(second.instanceId, first.instanceId, 'the top level ran once');
  });

  it('finds a Durable Object class exported by a module with top-level await', async () => {
    const a = (await (await fetch(`${dev.url}/tally`)).json()) as any;
    const b = (await (await fetch(`${dev.url}/tally`)).json()) as any;
    assert.deepEqual([a.n + 1, a.sha], [b.n, sha]);
  });
});

describe('top-level await that fails', () => {
  async function loadError(fixture: string, startupMs = 1000): Promise<{ status: number; body: string }> {
    const dev = await startFixture(fixture, { limits: { startupMs } });
    try {
      const res = await fetch(`${dev.url}/`);
      const body = await res.text();
      // The load is not retried per request: the next one answers the same error.
      const again = await fetch(`${dev.url}/`);
      assert.equal(again.status, 500);
      assert.equal(await again.text(), body);
      return { status: res.status, body };
    } finally {
      await dev.close();
    }
  }

  it('a rejection after a timer fails the load, naming the worker, with the mapped stack', async () => {
    const { status, body } = await loadError('tla-rejects');
    assert.equal(status, 500);
    assert.match(body, /Worker "tla-rejects" failed to load: settings unavailable at startup/);
    // (The frame has no function name: async functions are lowered to generators.)
    assert.match(body, /\n\s+at .*index\.js:3:9/);
  });

  it('a top-level await that never settles fails the load at the startup limit', async () => {
    const started = performance.now();
    const { status, body } = await loadError('tla-never', 300);
    assert.equal(status, 500);
    assert.match(
      body,
      /Worker "tla-never" failed to load: the script's top level did not finish within 300 ms/,
    );
    assert.ok(performance.now() - started < 5000);
  });

  it('a loop after a timer (out of isolated-vm timeout) is stopped at the startup limit', async () => {
    const { status, body } = await loadError('tla-loop', 300);
    assert.equal(status, 500);
    assert.match(body, /Worker "tla-loop" failed to load: the script's top level ran longer than 300 ms/);
  });

  it('a loop after `await 0` is stopped by the evaluation timeout', async () => {
    const { status, body } = await loadError('tla-spin', 300);
    assert.equal(status, 500);
    assert.match(body, /Worker "tla-spin" failed to load: the script's top level ran longer than 300 ms/);
  });
});
