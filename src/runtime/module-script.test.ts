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
  it('hoists the runtime imports, as esbuild prints them, into constants of the function', () => {
    const script = moduleAsScript(
      [
        'var a = provide("node:buffer");',
        'import { require as provide } from "outpost:runtime";',
        'import{loaded as l,loading}from"outpost:runtime";l({ b: 1, a: 2 });',
      ].join('\n'),
    );
    assert.ok(script);
    assert.match(
      script,
      /^\(function \(\w+\) \{ "use strict"; const \{ require: provide, loaded: l, loading \} = \w+;\n/,
    );
    // The bundle keeps its lines: each import left an empty place, nothing moved.
    assert.equal(script.split('\n').length, 3 + 2);
    assert.equal(runAsScript(script), 'a,b');
  });

  it('declines a bundle that mentions the runtime module other than in its imports', () => {
    const code = 'import { loaded } from "outpost:runtime";\nconst s = \'"outpost:runtime"\';\nloaded({});';
    assert.equal(moduleAsScript(code), null);
    assert.equal(moduleAsScript('export default 1;'), null, 'no runtime import: not one of ours');
    assert.equal(moduleAsScript('import { a as b as c } from "outpost:runtime";'), null);
  });

  for (const fixture of ['module-interop', 'top-level-await', 'tla-rejects', 'do-network']) {
    it(`converts the ${fixture} fixture's bundle, which then compiles as a script with a code cache`, async () => {
      const config = loadConfig(join(FIXTURES, fixture), { warn: () => {} });
      const bundle = await bundleWorker(config);
      assert.equal(bundle.format, 'modules');
      const script = moduleAsScript(bundle.code);
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
