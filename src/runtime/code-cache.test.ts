import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ivm from 'isolated-vm';
import { CodeCache, cacheKey, type Turn } from './code-cache.ts';

/** A script whose 200 functions run only when `go()` is called. */
const SOURCE = (() => {
  let src = '(function () { var fns = [];\n';
  for (let i = 0; i < 200; i++)
    src += `fns.push(function f${i}(x) { let s = 0; for (let k = 0; k < 3; k++) s += (x * ${i} + k) % 7; return s + ${i}; });\n`;
  return `${src}globalThis.go = function () { let t = 0; for (const f of fns) t += f(3); return t; }; })()`;
})();

/** CPU handed back by makes (ns). */
const credited: bigint[] = [];

/**
 * Load SOURCE in a fresh isolate through `cache` (`eager`: as a deploy does); run go() when
 * `run`; then its turn, if any.
 */
async function load(cache: CodeCache, run: boolean, eager = false): Promise<boolean> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  let turn: Turn | null = null;
  try {
    const context = isolate.createContextSync();
    const compiled = cache.compile(isolate, SOURCE, 'h', { filename: 's.js' }, eager);
    const { script } = compiled;
    turn = compiled.turn;
    script.runSync(context);
    if (run) context.evalSync('go()');
    if (!turn) return false;
    const before = cache.bytes;
    turn.make((ns) => credited.push(ns), run);
    // Made on the isolate's thread: wait until it is there (or given up).
    for (let i = 0; i < 200 && cache.bytes === before; i++) await new Promise((r) => setTimeout(r, 5));
    return true;
  } finally {
    isolate.dispose();
    turn?.giveBack(); // as a disposed instance does
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
    assert.ok(credited.length > 0 && credited.every((ns) => ns > 0n), 'the make’s CPU is handed back');
  });

  it('an eager compile (a deploy) makes it at once; the next, from a run, makes it again, once', async () => {
    const cache = new CodeCache();
    assert.equal(await load(cache, false, true), true, 'the first compile has the turn when eager');
    assert.equal(cache.size, 1);
    const topLevel = cache.bytes;
    assert.equal(await load(cache, true), true, 'the next uses it and makes it again after its run');
    assert.equal(cache.hits, 1);
    assert.ok(cache.bytes > topLevel * 2, `after a run ${cache.bytes} B, the top level's ${topLevel} B`);
    assert.equal(await load(cache, true), false, 'made from a run: no more turns');
    assert.equal(await load(cache, true, true), false, 'not even for an eager compile');
    assert.equal(cache.hits, 3);
    assert.equal(cache.size, 1);
  });

  it('the isolate that made it from the top level makes it again after its first run', async () => {
    const cache = new CodeCache();
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const context = isolate.createContextSync();
      const { script, turn } = cache.compile(isolate, SOURCE, 'h', { filename: 's.js' }, true);
      assert.ok(turn);
      script.runSync(context);
      const settled = async (before: number) => {
        for (let i = 0; i < 200 && cache.bytes === before; i++) await new Promise((r) => setTimeout(r, 5));
      };
      turn.make(() => {}, false);
      await settled(0);
      const topLevel = cache.bytes;
      assert.ok(topLevel > 0);
      turn.make(() => {}, false); // a second top-level make is nothing
      const other = new ivm.Isolate({ memoryLimit: 32 });
      assert.equal(
        cache.compile(other, SOURCE, 'h', { filename: 's.js' }).turn,
        null,
        'still this isolate’s turn',
      );
      other.dispose();
      context.evalSync('go()');
      turn.make(() => {}, true);
      await settled(topLevel);
      assert.ok(cache.bytes > topLevel * 2, `after the run ${cache.bytes} B, the top level's ${topLevel} B`);
      turn.giveBack(); // done already: changes nothing
      assert.equal(await load(cache, true), false, 'made from a run: no more turns');
    } finally {
      isolate.dispose();
    }
  });

  it('keys a cache by what is compiled, never by a name a deploy gives it', () => {
    const a = cacheKey('one', { filename: 'a.js' });
    assert.notEqual(a, cacheKey('two', { filename: 'a.js' }), 'another source');
    assert.notEqual(a, cacheKey('one', { filename: 'b.js' }), 'another file name (V8 keeps it in the cache)');
    assert.notEqual(a, cacheKey('one', { filename: 'a.js', lineOffset: -1 }));
    assert.equal(a, cacheKey('one', { filename: 'a.js' }));
  });

  it('drops the least recently used caches past its byte budget', async () => {
    const cache = new CodeCache(1); // a budget every cache is over
    for (let i = 0; i < 2; i++) await load(cache, true);
    assert.equal(cache.size, 0, 'a cache larger than the budget is not kept');
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

  it('an isolate that goes before its turn, or gives it back, lets the next compile take it', async () => {
    const cache = new CodeCache();
    await load(cache, false);
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    const { turn } = cache.compile(isolate, SOURCE, 'h', { filename: 's.js' });
    assert.ok(turn);
    assert.equal(cache.compile(isolate, SOURCE, 'h', { filename: 's.js' }).turn, null, 'one turn at a time');
    isolate.dispose();
    turn.make(() => {}, false);
    const other = new ivm.Isolate({ memoryLimit: 32 });
    const again = cache.compile(other, SOURCE, 'h', { filename: 's.js' }).turn;
    assert.ok(again, 'given back by the isolate that went');
    again.giveBack();
    other.dispose();
    assert.equal(await load(cache, true), true, 'the next compile takes the turn');
    assert.equal(cache.size, 1);
  });
});
