import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { parse } from 'acorn';
import * as esbuild from 'esbuild';
import { carryFramesThroughAwaits, TENANT_SUPPORTED } from './bundle-awaits.ts';

/**
 * Runs rewritten code with a stand-in for the isolate's `__outpostFrames` that keeps a frame
 * number the way await-frames.ts keeps frames, so tests can see which frame each line ran in.
 */
function frames() {
  const state = { current: 0 as number, log: [] as string[] };
  class Token {
    own = 0;
    job = 0;
    resumed = false;
    running = true;
    s(v: unknown) {
      this.own = state.current;
      if (this.resumed) state.current = this.job;
      this.running = false;
      return v;
    }
    r(v: unknown) {
      this.job = state.current;
      this.resumed = true;
      this.running = true;
      state.current = this.own;
      return v;
    }
    c() {
      if (!this.running) this.r(undefined);
    }
    x() {
      if (this.running && this.resumed) state.current = this.job;
    }
    t(v: unknown) {
      return v;
    }
  }
  return { state, factory: () => new Token() };
}

async function run(source: string, entry: string) {
  const { code } = carryFramesThroughAwaits(source, null, 'script');
  parse(code, { ecmaVersion: 'latest', sourceType: 'script' });
  const { state, factory } = frames();
  const at = (label: string) => state.log.push(`${label}@${state.current}`);
  const fn = new Function('__outpostFrames', 'at', `${code}\nreturn ${entry};`)(factory, at);
  return { state, fn, at };
}

describe('bundle-awaits: native awaits carry the frame', () => {
  it('resumes in the frame it awaited in, and gives the job its frame back when it suspends or ends', async () => {
    const { state, fn, at } = await run(
      `async function f() {
        at('start');
        await null;
        at('after one');
        await null;
        at('after two');
        return 1;
      }`,
      'f',
    );
    state.current = 7;
    const p = fn();
    at('caller'); // the synchronous part ran in the caller's frame, and left it
    state.current = 0; // the caller's job ends; later jobs run in none
    assert.equal(await p, 1);
    at('job after');
    assert.deepEqual(state.log, ['start@7', 'caller@7', 'after one@7', 'after two@7', 'job after@0']);
  });

  it('an await that rejects resumes its frame in catch and finally, and at the end gives it back', async () => {
    const { state, fn, at } = await run(
      `async function f() {
        try { await Promise.reject(new Error('x')); at('not here'); }
        catch (e) { at('catch'); }
        finally { at('finally'); }
        try { try { await Promise.reject(1); } finally { at('inner finally'); } } catch { at('outer catch'); }
        await Promise.reject(new Error('out'));
      }`,
      'f',
    );
    state.current = 3;
    const p = fn();
    state.current = 0;
    await assert.rejects(p, /out/);
    at('after');
    assert.deepEqual(state.log, ['catch@3', 'finally@3', 'inner finally@3', 'outer catch@3', 'after@0']);
  });

  it('rewrites arrows, methods, nested functions and the lowered `for await`, not async generators', async () => {
    const src = `async function outer(items) {
        const inner = async (v) => (await v) * 2;
        const o = { async m(v) { "use strict"; return await inner(v); } };
        function plain() { return 5; }
        let sum = plain();
        for await (const v of items) sum += await o.m(v);
        at('sum ' + sum);
        return sum;
      }
      async function* gen() { yield 1; }`;
    const lowered = esbuild.transformSync(src, { target: 'es2022', supported: TENANT_SUPPORTED }).code;
    const { code } = carryFramesThroughAwaits(lowered, null, 'script');
    assert.equal(code.match(/__outpostFrames\(\)/g)?.length, 3, 'outer, inner and m');
    assert.ok(!/function\* \(\) \{\s*const __outpostF/.test(code), 'the generator is left alone');
    assert.ok(code.includes('"use strict";;const __outpostF'), 'the directive stays first');
    const { state, fn } = await run(lowered, 'outer');
    state.current = 9;
    const p = fn([1, Promise.resolve(2)]);
    state.current = 0;
    assert.equal(await p, 11);
    assert.deepEqual(state.log, ['sum 11@9']);
  });

  it('keeps parentheses whole and sequences one value: `await (a, b)`, `() => ({})`, `await(x)`, `return a, b`', async () => {
    const { fn } = await run(
      `async function f(x) { const a = await (x, 2); const g = async () => ({ v: await(a) }); return (0, (await g()).v); }
       async function h(x) { return x++, x; }`,
      '[f, h]',
    );
    assert.equal(await fn[0](1), 2);
    assert.equal(await fn[1](1), 2);
  });

  it('moves the source map with the inserted text', async () => {
    const src = `export async function handler(request) {\n  const a = await request.text();\n  return await thing(a);\n}\nfunction thing(x) { return x; }\n`;
    const built = esbuild.buildSync({
      stdin: { contents: src, sourcefile: 'worker.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      write: false,
      sourcemap: 'external',
      outfile: 'out.js',
      supported: TENANT_SUPPORTED,
    });
    const js = built.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
    const map = built.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
    const out = carryFramesThroughAwaits(js, map, 'module');
    // A module imports what its rewritten functions call, on its first line: no line moves.
    assert.ok(out.imported);
    assert.ok(out.code.startsWith('import { __outpostFrames } from "outpost:runtime";'));
    assert.equal(out.code.split('\n').length, js.split('\n').length);
    const traced = new TraceMap(out.map);
    // Each name still maps to where it is in the source.
    for (const name of ['request.text', 'thing(a)', 'return x']) {
      const at = out.code.indexOf(name);
      const line = out.code.slice(0, at).split('\n').length;
      const column = at - (out.code.lastIndexOf('\n', at - 1) + 1);
      const pos = originalPositionFor(traced, { line, column });
      const srcLines = src.split('\n');
      assert.ok(pos.line !== null, `${name} is mapped`);
      assert.equal(srcLines[pos.line - 1].slice(pos.column, pos.column + name.length), name, name);
    }
  });

  it('parses what it writes: empty and directive-only bodies, clashing declarations, a script that returns', async () => {
    // Minified: `{}` and `{"use strict"}` bodies (open and close at one offset).
    const min = esbuild.transformSync(
      'export const noop = async () => {}; export async function i() { "use strict" }; export const one = async () => { return 1 };',
      { minify: true, target: 'es2022', format: 'esm', supported: TENANT_SUPPORTED },
    ).code;
    const out = carryFramesThroughAwaits(min, null, 'module').code;
    parse(out, { ecmaVersion: 'latest', sourceType: 'module' });
    // A body-level function sharing its name with a `var` (legal in a body, not in a block), and
    // two body-level functions of one name: not wrapped in `try`, still run, still resume in frame.
    const { state, fn, at } = await run(
      `async function clash() { var k = 1; function k() {} await null; at('clash'); return k; }
       async function twice() { function g() { return 1; } function g() { return 2; } await null; at('twice'); return g(); }`,
      '[clash, twice]',
    );
    state.current = 4;
    const p = [fn[0](), fn[1]()];
    state.current = 0;
    assert.deepEqual(await Promise.all(p), [1, 2]);
    assert.deepEqual(state.log, ['clash@4', 'twice@4']);
    // CommonJS may `return` at its top level (the loader's function).
    const script = 'if (globalThis.x) return; async function f() { await 1; }';
    parse(carryFramesThroughAwaits(script, null, 'script').code, {
      ecmaVersion: 'latest',
      allowReturnOutsideFunction: true,
    });
  });

  it('refuses a bundle that already uses its name, and leaves code without async alone', () => {
    assert.throws(
      () => carryFramesThroughAwaits('async function f() { const __outpostF = 1; }', null, 'script'),
      /__outpostF is Outpost's/,
    );
    assert.throws(
      () => carryFramesThroughAwaits('var __outpostFrames; async function f() {}', null, 'module'),
      /__outpostFrames is Outpost's/,
    );
    // With no async function too: the loader binds the name in every bundle.
    assert.throws(() => carryFramesThroughAwaits('__outpostFrames()', null, 'script'), /Outpost's/);
    const plain = 'function f() { return 1; }';
    assert.equal(carryFramesThroughAwaits(plain, '{"mappings":""}', 'script').code, plain);
  });
});
