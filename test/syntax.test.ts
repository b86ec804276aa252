// Both worker syntaxes, npm dependencies, non-JS module imports and source maps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixture, type TestDev } from './helpers.ts';

describe('service-worker syntax (wrangler.json with comments)', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('service-worker');
  });
  after(() => dev.close());
  it('dispatches FetchEvents to addEventListener("fetch") and exposes vars as globals', async () => {
    const res = await fetch(`${dev.url}/hello`, { method: 'PUT', body: 'x' });
    assert.equal(res.headers.get('x-syntax'), 'service-worker');
    assert.equal(await res.text(), 'from a service worker PUT /hello');
    const w = await fetch(`${dev.url}/wait`);
    assert.equal(w.status, 200);
  });
});

describe('module imports', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('modules-imports');
  });
  after(() => dev.close());
  it('imports .wasm as WebAssembly.Module, .txt/.html as text and .bin as ArrayBuffer', async () => {
    const r = (await (await fetch(`${dev.url}/`)).json()) as any;
    assert.deepEqual(r, {
      wasmIsModule: true,
      sum: 42,
      message: 'text module contents\n',
      page: '<p>html module</p>\n',
      dataIsArrayBuffer: true,
      data: [0, 1, 2, 255],
    });
  });
  it('maps a stack frame in another file of the project to its line', async () => {
    const res = await fetch(`${dev.url}/throw-deep`);
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.match(body, /thrown from helper\.js/);
    assert.match(body, /src\/helper\.js:3:11/);
    assert.match(body, /src\/index\.js:\d+:\d+/);
  });
});

describe('npm dependencies', () => {
  let dev: TestDev;
  before(async () => {
    dev = await startFixture('npm-deps');
  });
  after(() => dev.close());
  it("resolves packages from the project's node_modules with the workerd export condition", async () => {
    assert.equal(
      await (await fetch(`${dev.url}/`)).text(),
      'workerd-build resolved from the project node_modules',
    );
  });
});
