// esbuild's async-generator helpers in a minified bundle are found by shape and replaced by the
// prelude's (isolate/async-generators.ts), which behave the same; a changed helper fails.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as esbuild from 'esbuild';
import { HELPER_OPTIONS as OPTIONS } from './extensions.ts';
import { replaceGeneratorHelpers, shapeOf } from './helper-shapes.ts';
import { Await, asyncGenerator, forAwait, yieldStar } from './isolate/async-generators.ts';

// Async generators, yield*, for await, return() and throw() through them.
const PROGRAM = `
  async function* inner() { yield 'i1'; await null; yield 'i2'; }
  async function* outer(n) {
    yield 'o1';
    yield* inner();
    yield* ['s1', 's2'];
    for await (const x of [Promise.resolve('f1'), 'f2']) yield x;
    try { yield 'o2'; } finally { log.push('cleanup'); }
    return n;
  }
  async function* failing() { yield 1; throw new TypeError('boom'); }
  const log = [];
  async function run() {
    const seen = [];
    for await (const v of outer(7)) seen.push(v);
    const it = outer(0);
    const first = await it.next();
    const early = await it.return('early');
    const rest = [];
    try { for await (const v of failing()) rest.push(v); } catch (e) { rest.push(e.name + ': ' + e.message); }
    return { seen, first, early, rest, log };
  }
  module.exports = run;
`;

function load(code: string, outpost: unknown): () => Promise<unknown> {
  const module = { exports: {} as unknown };
  new Function('module', 'exports', 'outpost', code)(module, module.exports, outpost);
  return module.exports as () => Promise<unknown>;
}

it('replaces every async-generator helper of a minified bundle, and behaves as esbuild did', async () => {
  const minified = esbuild.transformSync(PROGRAM, { ...OPTIONS, minify: true }).code;
  const replaced = replaceGeneratorHelpers(minified, 'sample.js', OPTIONS);
  for (const name of ['Await', 'generator', 'yieldStar', 'forAwait'])
    assert.ok(replaced.includes(`outpost.asyncGenerators.${name}`), name);
  // (Booleans: a failed match would print the bundle.) The program's own Promise.resolve stays.
  assert.ok(!/\("asyncIterator"\)\]/.test(replaced), 'no helper reads Symbol.asyncIterator');
  assert.ok(!/this\[0\]=/.test(replaced), "no esbuild's __await");
  const asyncGenerators = { Await, generator: asyncGenerator, yieldStar, forAwait };
  const ours = await load(replaced, { asyncGenerators })();
  const theirs = await load(minified, {})();
  assert.deepEqual(ours, theirs);
  assert.deepEqual((ours as { seen: string[] }).seen, ['o1', 'i1', 'i2', 's1', 's2', 'f1', 'f2', 'o2']);
});

it('refuses a helper whose shape it does not know, and leaves a bundle without one alone', () => {
  const minified = esbuild.transformSync(PROGRAM, { ...OPTIONS, minify: true }).code;
  // A changed __forAwait: one more operation in it.
  const changed = minified.replace(/\.then\(([\w$]+)=>([\w$]+)\(\{value:/, '.then($1=>$2({extra:1,value:');
  assert.notEqual(changed, minified);
  assert.throws(
    () => replaceGeneratorHelpers(changed, 'x.js', OPTIONS),
    /async-generator helpers changed \(in x\.js\)/,
  );
  // A changed __yieldStar (it has no Promise.resolve to look for).
  const star = minified.replace(/if\(([\w$]+)\)\{if\(\1=!1,/, 'if($1){if($1=!1,0,');
  assert.notEqual(star, minified);
  assert.throws(
    () => replaceGeneratorHelpers(star, 'x.js', OPTIONS),
    /async-generator helpers changed \(in x\.js\)/,
  );
  // Helpers not at the bundle's top level.
  assert.throws(
    () => replaceGeneratorHelpers(`(function(){${minified}})();`, 'x.js', OPTIONS),
    /async-generator helpers changed \(in x\.js\)/,
  );
  assert.equal(replaceGeneratorHelpers('var a=1;', 'x.js', OPTIONS), 'var a=1;');
});

it('a shape renames local names by first use and keeps properties, keys, strings and globals', () => {
  assert.equal(
    shapeOf('(a,b)=>Promise.resolve(a).then(c=>b({value:c}))'),
    shapeOf('(x,y)=>Promise.resolve(x).then(z=>y({value:z}))'),
  );
  assert.notEqual(shapeOf('(a,b)=>a(b)'), shapeOf('(a,b)=>b(a)'));
  assert.notEqual(shapeOf('a=>a.then'), shapeOf('a=>a.next'));
});
