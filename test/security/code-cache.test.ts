// The V8 code cache is shared between tenants that load the same code (src/runtime/code-cache.ts).
// V8 checks a cache against the length of the source alone, so the key must come from what is
// compiled: a deploy that gives its bundle another bundle's hash (deploy artifacts carry one)
// must not get its bytecode run in the other tenant's isolate. Found by a review: the cache was
// keyed by the bundle's own `hash`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { noopObserver } from '../../src/observability/index.ts';
import { bundleWorker, Runtime } from '../../src/runtime/index.ts';
import { waitFor } from '../helpers.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function bundleOf(code: string) {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-cache-forge-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'wrangler.toml'),
    'name = "shop"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
  );
  writeFileSync(join(dir, 'index.js'), code);
  const config = loadConfig(dir, { warn: () => {} });
  return { config, bundle: await bundleWorker(config) };
}

const request = () => ({ method: 'GET', url: 'http://test.example/', headers: [], cf: {}, body: null });
const text = (r: { body: unknown }) => Buffer.from(r.body as Uint8Array).toString();

it("a bundle deployed under another bundle's hash never runs in the other's isolate", async () => {
  const victim = await bundleOf("export default { fetch() { return new Response('the victim'); } };\n");
  const evil = await bundleOf("export default { fetch() { return new Response('the forger'); } };\n");
  assert.equal(evil.bundle.code.length, victim.bundle.code.length, 'the same length: all V8 checks');
  const forged = { ...evil.bundle, hash: victim.bundle.hash };
  const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
  try {
    // The forger loads twice: the second load makes a code cache from its code.
    rt.deploy('forger-1', forged, evil.config);
    rt.deploy('forger-2', forged, evil.config);
    assert.equal(text(await rt.handle('forger-1', request() as any)), 'the forger');
    assert.equal(text(await rt.handle('forger-2', request() as any)), 'the forger');
    await waitFor(() => rt.stats().codeCaches === 1, 5000, 'the forger’s cache');
    // Every load of the victim runs the victim's code.
    for (const t of ['victim-1', 'victim-2', 'victim-3']) {
      rt.deploy(t, victim.bundle, victim.config);
      assert.equal(text(await rt.handle(t, request() as any)), 'the victim', t);
    }
  } finally {
    await rt.close();
  }
});
