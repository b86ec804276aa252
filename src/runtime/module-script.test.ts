import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ivm from 'isolated-vm';
import { loadConfig } from '../config/index.ts';
import { bundleWorker } from './bundle.ts';
import { moduleAsScript } from './module-script.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');

/** Run `script` in a fresh isolate with a stand-in runtime namespace; what `loaded` was given. */
function runAsScript(script: string): unknown {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const context = isolate.createContextSync();
    context.evalSync(
      'globalThis.seen = []; globalThis.ns = { loaded: (x) => seen.push(Object.keys(x).sort().join()), loading: (p) => seen.push("loading"), require: (id) => ({ id }) };',
    );
    context.evalSync(`(${script.slice(0, -1)}))(ns)`, { filename: 'bundle.js' });
    return context.evalSync('seen.join("|")');
  } finally {
    isolate.dispose();
  }
}

describe('a module bundle as a script', () => {
  it('hoists the runtime imports, as esbuild prints them, into constants; every other character keeps its place', () => {
    const code = [
      'var a = provide("node:buffer");',
      'import { require as provide } from "outpost:runtime";',
      'var b = 1;import{loaded as l,loading}from"outpost:runtime";l({ b: 1, a: 2 });',
    ].join('\n');
    const script = moduleAsScript(code, 2);
    assert.ok(script);
    assert.match(
      script,
      /^\(function \(\) \{ "use strict"; const \{ require: provide, loaded: l, loading \} = arguments\[0\];\n/,
    );
    // Each import blanked in place: lines and columns as esbuild wrote them (the source map).
    const body = script.slice(script.indexOf('\n') + 1, script.lastIndexOf('\n'));
    assert.equal(body.length, code.length);
    const lines = body.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2].indexOf('l({'), code.split('\n')[2].indexOf('l({'));
    assert.equal(runAsScript(script), 'a,b');
  });

  it('declines a bundle whose import statements are not the ones the bundler counted', () => {
    // A string of the worker's own that reads like one: converted, it would be emptied.
    const code =
      'import { loaded } from "outpost:runtime";\nconst s = \'import { require as q } from "outpost:runtime";\';\nloaded({});';
    assert.equal(moduleAsScript(code, 1), null);
    assert.ok(moduleAsScript(code, 2), 'had the bundler written two, it would be converted');
    assert.equal(
      moduleAsScript('import { loaded } from "outpost:runtime";', undefined),
      null,
      'an older bundle',
    );
    assert.equal(moduleAsScript('export default 1;', 0), null, 'no runtime import: not one of ours');
    assert.equal(moduleAsScript('import { a as b as c } from "outpost:runtime";', 1), null);
  });

  for (const fixture of ['module-interop', 'top-level-await', 'tla-rejects', 'do-network']) {
    it(`converts the ${fixture} fixture's bundle, which then compiles as a script with a code cache`, async () => {
      const config = loadConfig(join(FIXTURES, fixture), { warn: () => {} });
      const bundle = await bundleWorker(config);
      assert.equal(bundle.format, 'modules');
      assert.ok((bundle.runtimeImports ?? 0) >= 1, 'the bundler counted its imports');
      const script = moduleAsScript(bundle.code, bundle.runtimeImports);
      assert.ok(script, 'converted');
      const isolate = new ivm.Isolate({ memoryLimit: 32 });
      try {
        type Compiled = { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean };
        const first = isolate.compileScriptSync(script, {
          filename: 'b.js',
          produceCachedData: true,
        }) as Compiled;
        assert.ok(first.cachedData);
        const again = isolate.compileScriptSync(script, {
          filename: 'b.js',
          cachedData: first.cachedData,
        }) as Compiled;
        assert.equal(again.cachedDataRejected, false);
      } finally {
        isolate.dispose();
      }
    });
  }
});
