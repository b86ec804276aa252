// The prelude's async-generator helpers await through no `then` tenant code can replace: a
// replaced one that forges what it is handed changes nothing (esbuild's helpers resolved
// yield*'s delegate with V8 reading its `then`).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as esbuild from 'esbuild';
import { HELPER_OPTIONS as OPTIONS } from '../extensions.ts';
import { replaceGeneratorHelpers } from '../helper-shapes.ts';
import { Await, asyncGenerator, forAwait, yieldStar } from './async-generators.ts';

it('yield*, awaits and for-await in an async generator read no replaced then', async () => {
  const program = `
    async function* inner() { yield 'i1'; yield await Promise.resolve('i2'); }
    async function* outer() {
      yield* inner();
      for await (const x of [Promise.resolve('f1')]) yield x;
    }
    module.exports = outer;`;
  const code = replaceGeneratorHelpers(
    esbuild.transformSync(program, { ...OPTIONS, minify: true }).code,
    'x.js',
    OPTIONS,
  );
  const module = { exports: {} as () => AsyncIterator<string> };
  const outpost = { asyncGenerators: { Await, generator: asyncGenerator, yieldStar, forAwait } };
  new Function('module', 'exports', 'outpost', code)(module, module.exports, outpost);
  const realThen = Promise.prototype.then;
  const forge = (v: any) =>
    v !== null && typeof v === 'object' && typeof v.value === 'string'
      ? { ...v, value: 'FORGED' }
      : typeof v === 'string'
        ? 'FORGED'
        : v;
  const got: string[] = [];
  // biome-ignore lint/suspicious/noThenProperty: the attack
  Promise.prototype.then = function (this: Promise<unknown>, f?: any, r?: any) {
    return Reflect.apply(realThen, this, [typeof f === 'function' ? (v: unknown) => f(forge(v)) : f, r]);
  } as typeof realThen;
  try {
    const it = module.exports();
    for (;;) {
      const step = await new Promise<IteratorResult<string>>((ok, fail) =>
        Reflect.apply(realThen, it.next(), [ok, fail]),
      );
      if (step.done) break;
      got.push(step.value);
    }
  } finally {
    // biome-ignore lint/suspicious/noThenProperty: restoring the original
    Promise.prototype.then = realThen;
  }
  assert.deepEqual(got, ['i1', 'i2', 'f1']);
});
