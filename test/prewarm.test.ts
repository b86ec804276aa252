/**
 * Runtime.stage: a new version is loaded and its top level run while the current one keeps
 * serving; it takes traffic only once ready, and one that fails to load never does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { devCf, type PopServer, startPopServer } from '../src/pop/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';

/**
 * A top level busy for about `ms` of CPU (Date.now() stands still inside a worker, as on Workers,
 * so the loop counts: ~1e6 additions per ms on this machine, give or take).
 */
const SPIN = (ms: number) =>
  `let x = 0; for (let i = 0; i < ${ms * 1_000_000}; i++) x += i; globalThis.__x = x;`;

function project(code: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-prewarm-'));
  writeFileSync(
    join(dir, 'wrangler.toml'),
    'name = "pw"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
  );
  writeFileSync(join(dir, 'index.js'), code);
  return dir;
}

describe('pre-warm, then switch (Runtime.stage)', () => {
  const dirs: string[] = [];
  let rt: Runtime;
  let server: PopServer;
  const build = async (code: string) => {
    const dir = project(code);
    dirs.push(dir);
    const config = loadConfig(dir, { warn: () => {} });
    return { bundle: await bundleWorker(config), config };
  };

  before(async () => {
    rt = new Runtime({ observer: memoryObserver(), poolSize: 1 });
    server = await startPopServer({
      runtime: rt,
      route: () => 'pw',
      port: 0,
      dev: true,
      cf: devCf,
      observer: memoryObserver(),
      trustedProxyHeader: 'x-client',
    });
    const v1 = await build('export default { fetch: () => new Response("v1") };\n');
    await rt.stage('pw', v1.bundle, v1.config);
  });
  after(async () => {
    await server.close();
    await rt.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keeps serving the old version while the new one starts, then serves the new one warm', async () => {
    // A top level that takes ~300 ms (a big app's module graph): requests meanwhile get v1, fast.
    const v2 = await build(`${SPIN(250)}\nexport default { fetch: () => new Response("v2") };\n`);
    let staged = false;
    // The startup limit raised: on a loaded machine 250 M additions can pass the default 1 s.
    const staging = rt.stage('pw', v2.bundle, v2.config, { startupMs: 10_000 }).then(() => {
      staged = true;
    });
    const during: { body: string; ms: number }[] = [];
    while (!staged) {
      const t = performance.now();
      const body = await (await fetch(server.url)).text();
      during.push({ body, ms: performance.now() - t });
      await new Promise((r) => setTimeout(r, 20));
    }
    await staging;
    assert.ok(during.length >= 3, `requests were made while staging (${during.length})`);
    const old = during.filter((d) => d.body === 'v1');
    assert.ok(
      old.length >= during.length - 1,
      `served by v1 while v2 loaded: ${during.map((d) => d.body).join(',')}`,
    );
    assert.ok(
      old.every((d) => d.ms < 250),
      `none waited for v2's start: ${old.map((d) => d.ms.toFixed(0)).join(',')} ms`,
    );
    // The first request after the switch finds v2 loaded: no 300 ms start on the clock.
    const t = performance.now();
    assert.equal(await (await fetch(server.url)).text(), 'v2');
    assert.ok(
      performance.now() - t < 250,
      `first request after the switch was warm (${(performance.now() - t).toFixed(0)} ms)`,
    );
  });

  it('a version that fails to load never takes traffic', async () => {
    const bad = await build(
      'throw new Error("boom at load");\nexport default { fetch: () => new Response("bad") };\n',
    );
    await assert.rejects(rt.stage('pw', bad.bundle, bad.config), /boom at load/);
    assert.equal(await (await fetch(server.url)).text(), 'v2');
  });

  it('a deploy made while a stage loads wins over it', async () => {
    const slow = await build(`${SPIN(150)}\nexport default { fetch: () => new Response("slow") };\n`);
    const fast = await build('export default { fetch: () => new Response("fast") };\n');
    const staging = rt.stage('pw', slow.bundle, slow.config, { startupMs: 10_000 });
    rt.deploy('pw', fast.bundle, fast.config);
    await staging;
    assert.equal(await (await fetch(server.url)).text(), 'fast');
  });

  it('a gradual split: a share of requests to a second version, sticky by client address', async () => {
    const a = await build('export default { fetch: () => new Response("A") };\n');
    const b = await build('export default { fetch: () => new Response("B") };\n');
    await rt.stage('pw', a.bundle, a.config);
    await rt.stageSplit('pw', b.bundle, b.config, { percentage: 20, sticky: false });
    let onB = 0;
    for (let i = 0; i < 1000; i++) if ((await (await fetch(server.url)).text()) === 'B') onB++;
    assert.ok(onB > 150 && onB < 250, `${onB} of 1000 took the 20% version`);
    await rt.stageSplit('pw', b.bundle, b.config, { percentage: 20, sticky: true });
    let clientsOnB = 0;
    for (let c = 0; c < 200; c++) {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const res = await fetch(server.url, { headers: { 'x-client': `10.0.${c >> 8}.${c & 255}` } });
        seen.add(await res.text());
      }
      assert.equal(seen.size, 1, `client ${c} kept one version`);
      if (seen.has('B')) clientsOnB++;
    }
    assert.ok(clientsOnB > 20 && clientsOnB < 60, `${clientsOnB} of 200 clients on the 20% version`);
    rt.clearSplit('pw');
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(server.url)).text(), 'A');
  });

  it('keep: false checks that a version loads, switches to it and lets its isolate go', async () => {
    const k = await build('export default { fetch: () => new Response("kept cold") };\n');
    await rt.stage('pw', k.bundle, k.config, {}, { keep: false });
    await new Promise((r) => setImmediate(r)); // a retired isolate is disposed on the next turn
    const isolates = rt.stats().isolates;
    assert.equal(await (await fetch(server.url)).text(), 'kept cold');
    assert.equal(rt.stats().isolates, isolates + 1, 'its first request started it again');
    const bad = await build('throw new Error("boom unkept");\n');
    await assert.rejects(rt.stage('pw', bad.bundle, bad.config, {}, { keep: false }), /boom unkept/);
    assert.equal(await (await fetch(server.url)).text(), 'kept cold');
  });
});
