// Module workers and V8's code cache (src/runtime/module-script.ts): isolated-vm 5.0.4 compiles
// an ES module without the cache it is given, so a module bundle runs as a script. A third
// isolate on the same code is a cache hit (the second made it); the worker sees a module's
// semantics (strict, no top-level `this`); stack traces keep their lines; a bundle that cannot
// be a script (it uses `import.meta`) still loads, as a module.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../src/config/index.ts';
import { memoryObserver, noopObserver } from '../src/observability/index.ts';
import { bundleWorker, Runtime } from '../src/runtime/index.ts';
import { waitFor } from './helpers.ts';

const request = (path = '/') => ({
  method: 'GET',
  url: `http://test.example${path}`,
  headers: [],
  cf: {},
  body: null,
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function bundleOf(code: string, toml = '') {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-code-cache-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "cc"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n${toml}`,
  );
  writeFileSync(join(dir, 'index.js'), code);
  const config = loadConfig(dir, { warn: () => {} });
  return { config, bundle: await bundleWorker(config) };
}

const WORKER = `const topThis = this;
export default {
  fetch(request) {
    if (new URL(request.url).pathname === '/throw') {
      throw new Error('thrown on line 5');
    }
    let sloppy;
    try { undeclared = 1; sloppy = true; } catch { sloppy = false; }
    return Response.json({ topThis: typeof topThis, sloppy });
  },
};
`;

describe('module workers and the code cache', () => {
  it('a third isolate on the same module code is a code cache hit (the second made it), with the module semantics', async () => {
    const { config, bundle } = await bundleOf(WORKER);
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      for (const t of ['a', 'b', 'c']) rt.deploy(t, bundle, config);
      const hits = rt.stats().codeCacheHits;
      // The first compile makes no cache (code loaded once, as most tenants' code, would never
      // use it); the second makes it, after its first request; the third uses it.
      const first = await rt.handle('a', request() as any);
      assert.equal(rt.stats().codeCaches, 0);
      const second = await rt.handle('b', request() as any);
      assert.equal(rt.stats().codeCacheHits, hits);
      await waitFor(() => rt.stats().codeCaches === 1, 5000, 'the cache made after the second load ran');
      const third = await rt.handle('c', request() as any);
      assert.equal(rt.stats().codeCacheHits, hits + 1, 'the third load used the cache the second made');
      for (const r of [first, second, third]) {
        assert.equal(r.status, 200);
        // Strict, as a module is: no top-level `this`, no implicit globals.
        assert.deepEqual(JSON.parse(Buffer.from(r.body as Uint8Array).toString()), {
          topThis: 'undefined',
          sloppy: false,
        });
      }
    } finally {
      await rt.close();
    }
  });

  it('a deploy that loads its version first (stage, warm) makes the cache then, and again after the first request', async () => {
    const { config, bundle } = await bundleOf(WORKER);
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      await rt.stage('a', bundle, config);
      await waitFor(() => rt.stats().codeCaches === 1, 5000, 'the cache made when the deploy loaded');
      const topLevel = rt.stats().codeCacheBytes;
      // A first load elsewhere (another isolate of the version, an object, the tenant back
      // after eviction) uses it.
      rt.deploy('b', bundle, config);
      const hits = rt.stats().codeCacheHits;
      assert.equal((await rt.handle('b', request() as any)).status, 200);
      assert.equal(rt.stats().codeCacheHits, hits + 1, 'the first load after the deploy used its cache');
      // The deployed isolate's first request ran the handler: the cache is made again with it.
      assert.equal((await rt.handle('a', request() as any)).status, 200);
      await waitFor(
        () => rt.stats().codeCacheBytes > topLevel,
        5000,
        `the cache made again after a request (top level alone: ${topLevel} B)`,
      );
      rt.deploy('c', bundle, config);
      assert.equal((await rt.handle('c', request() as any)).status, 200);
      assert.equal(rt.stats().codeCacheHits, hits + 2);
    } finally {
      await rt.close();
    }
  });

  it('stack traces keep the bundle’s lines (the source map still maps them)', async () => {
    const { config, bundle } = await bundleOf(WORKER);
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      rt.deploy('a', bundle, config);
      const err = (await rt.handle('a', request('/throw') as any).catch((e) => e)) as {
        mappedStack?: string;
      };
      assert.match(String(err.mappedStack), /thrown on line 5\n\s+at .*index\.js:5:13/);
    } finally {
      await rt.close();
    }
  });

  it('a minified bundle keeps its columns: stack traces still map (imports blanked in place)', async () => {
    const { config, bundle } = await bundleOf(
      "import { Buffer } from 'node:buffer';\nexport default {\n  fetch() {\n    throw new Error('at 4:11 ' + Buffer.byteLength('x'));\n  },\n};\n",
      'minify = true\ncompatibility_flags = ["nodejs_compat"]\n',
    );
    assert.equal(bundle.code.trim().split('\n').length, 1, 'minified onto one line');
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      rt.deploy('a', bundle, config);
      const err = (await rt.handle('a', request() as any).catch((e) => e)) as { mappedStack?: string };
      assert.match(String(err.mappedStack), /at 4:11 1\n\s+at .*index\.js:4:11/);
    } finally {
      await rt.close();
    }
  });

  it('a string of the worker’s own that reads like a runtime import is left as written', async () => {
    const { config, bundle } = await bundleOf(
      'const s = \'import { require as q } from "outpost:runtime";\';\nexport default { fetch() { return Response.json([s, typeof q]); } };\n',
    );
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      rt.deploy('a', bundle, config);
      const r = await rt.handle('a', request() as any);
      assert.deepEqual(JSON.parse(Buffer.from(r.body as Uint8Array).toString()), [
        'import { require as q } from "outpost:runtime";',
        'undefined',
      ]);
    } finally {
      await rt.close();
    }
  });

  it('making the cache never costs a tenant its isolate (a large bundle whose top level ran much)', async () => {
    // 40,000 functions, all called by the top level (under the startup limit, not the CPU
    // limit): serializing them all takes longer than the CPU limit allows idle work (a review
    // saw the isolate recycled for it).
    let code = 'const fns = [];\n';
    for (let i = 0; i < 40_000; i++)
      code += `fns.push(function f${i}(x) { const o = { a: x, b: [x, ${i}] }; for (let k = 0; k < 3; k++) { if (o.a > k) o.b.push(k * ${i}); else o.b.pop(); } return o.b.length; });\n`;
    code +=
      'let t = 0;\nfor (const f of fns) t += f(3);\nexport default { fetch() { return new Response(String(t)); } };\n';
    const { config, bundle } = await bundleOf(code);
    const observer = memoryObserver();
    const rt = new Runtime({ observer, poolSize: 1, limits: { startupMs: 10_000 } });
    try {
      for (const t of ['a', 'b']) {
        rt.deploy(t, bundle, config);
        assert.equal((await rt.handle(t, request() as any)).status, 200);
      }
      // Past a few of the idle sweeps (every 100 ms).
      await new Promise((r) => setTimeout(r, 400));
      const breaches = observer.entries.filter((e) => /exceeded CPU/.test(e.message));
      assert.deepEqual(
        breaches.map((e) => e.message),
        [],
      );
      assert.equal(rt.stats().isolates, 2, 'both isolates still there');
    } finally {
      await rt.close();
    }
  });

  it('a bundle that cannot run as a script (import.meta) loads as a module', async () => {
    const { config, bundle } = await bundleOf(
      'const meta = typeof import.meta;\nexport default { fetch() { return new Response(meta); } };\n',
    );
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      rt.deploy('a', bundle, config);
      const r = await rt.handle('a', request() as any);
      assert.equal(r.status, 200);
      assert.equal(Buffer.from(r.body as Uint8Array).toString(), 'object');
    } finally {
      await rt.close();
    }
  });
});

describe('the prelude’s parts and the code cache', () => {
  it('a worker’s binding part (R2 here) is compiled from the code cache once two loads made it; a worker without one loads none', async () => {
    const { config, bundle } = await bundleOf(
      `export default {
  async fetch(request, env) {
    if (!env.B) return new Response('no bucket');
    await env.B.put('k', 'v');
    const keys = Array.from({ length: 1001 }, (_, i) => String(i));
    const stack = await env.B.delete(keys).then(() => 'no error', (e) => String(e.stack));
    return Response.json({ kind: env.B.constructor.name, value: await (await env.B.get('k')).text(), stack });
  },
};
`,
      '[[r2_buckets]]\nbinding = "B"\nbucket_name = "b"\n',
    );
    const { config: plainConfig, bundle: plain } = await bundleOf(
      "export default { fetch() { return new Response('plain'); } };",
    );
    const rt = new Runtime({ observer: noopObserver, poolSize: 1 });
    try {
      for (const t of ['a', 'b', 'c']) rt.deploy(t, bundle, config);
      rt.deploy('p', plain, plainConfig);
      assert.equal(await (await rt.handle('p', request() as any)).status, 200);
      assert.equal(rt.stats().codeCaches, 0, 'a worker without bindings compiles no part');
      const read = async (t: string) =>
        JSON.parse(Buffer.from((await rt.handle(t, request() as any)).body as Uint8Array).toString());
      const first = await read('a');
      assert.equal(first.kind, 'R2Bucket');
      assert.equal(first.value, 'v');
      assert.match(first.stack, /outpost:part\/r2\.js/, `the bucket’s code is the part’s: ${first.stack}`);
      await read('b');
      // The bundle's cache and the part's, both made by the second load once it ran.
      await waitFor(() => rt.stats().codeCaches === 2, 5000, 'the bundle’s and the part’s caches');
      const hits = rt.stats().codeCacheHits;
      assert.equal((await read('c')).value, 'v');
      assert.equal(rt.stats().codeCacheHits, hits + 2, 'the third load used both');
    } finally {
      await rt.close();
    }
  });
});
