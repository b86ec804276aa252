import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ivm from 'isolated-vm';
import { CodeCache } from './code-cache.ts';

/** A script whose 200 functions run only when `go()` is called. */
const SOURCE = (() => {
  let src = '(function () { var fns = [];\n';
  for (let i = 0; i < 200; i++)
    src += `fns.push(function f${i}(x) { let s = 0; for (let k = 0; k < 3; k++) s += (x * ${i} + k) % 7; return s + ${i}; });\n`;
  return `${src}globalThis.go = function () { let t = 0; for (const f of fns) t += f(3); return t; }; })()`;
})();

/** Load SOURCE in a fresh isolate through `cache`; run go() when `run`; then its turn, if any. */
async function load(cache: CodeCache, run: boolean): Promise<boolean> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const context = isolate.createContextSync();
    const { script, afterRun } = cache.compile(isolate, SOURCE, 'h', { filename: 's.js' });
    script.runSync(context);
    if (run) context.evalSync('go()');
    if (!afterRun) return false;
    afterRun();
    // Made on the isolate's thread: wait until it is there (or given up).
    for (let i = 0; i < 200 && cache.size === 0; i++) await new Promise((r) => setTimeout(r, 5));
    return true;
  } finally {
    isolate.dispose();
  }
}

describe('the code cache of a bundle', () => {
  it('is not made by the first compile, is made by the second once it ran, and used after', async () => {
    const cache = new CodeCache();
    assert.equal(await load(cache, true), false, 'the first compile has no turn');
    assert.equal(cache.size, 0);
    assert.equal(await load(cache, true), true, 'the second has');
    assert.equal(cache.size, 1);
    assert.equal(await load(cache, true), false, 'made: no more turns');
    assert.equal(cache.hits, 1);
  });

  it('holds the functions the first run compiled (made after the run, not at compile)', async () => {
    const ran = new CodeCache();
    await load(ran, true);
    await load(ran, true);
    const idle = new CodeCache();
    await load(idle, false);
    await load(idle, false);
    assert.equal(ran.size, 1);
    assert.equal(idle.size, 1);
    // 200 compiled functions' bytecode against the top level's alone.
    assert.ok(ran.bytes > idle.bytes * 2, `made after a run ${ran.bytes} B, without ${idle.bytes} B`);
  });

  it('an isolate that goes before its turn gives the turn back', async () => {
    const cache = new CodeCache();
    await load(cache, false);
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    const { afterRun } = cache.compile(isolate, SOURCE, 'h', { filename: 's.js' });
    assert.ok(afterRun);
    isolate.dispose();
    afterRun();
    assert.equal(await load(cache, true), true, 'the next compile takes the turn');
    assert.equal(cache.size, 1);
  });
});
