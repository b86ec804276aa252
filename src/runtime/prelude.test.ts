// The prelude's lowering of async functions: esbuild's helper replaced by one whose closures are
// not named on every call (keepNames), with the same behaviour; and the names it keeps.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as esbuild from 'esbuild';
import { ISOLATE_SUPPORTED, preludeSource, unnamedAsyncHelper } from './prelude.ts';
import { keptNamesOnlyWhereRenamed } from './prelude-names.ts';

const lowered = (src: string) =>
  esbuild.transformSync(src, { loader: 'js', target: 'es2022', supported: ISOLATE_SUPPORTED }).code;

it('replaces the helper, and lowered functions still resolve, reject and await in order', async () => {
  const code = unnamedAsyncHelper(
    lowered(`
      globalThis.__t = {
        async ok(a) { const b = await a; const c = await Promise.resolve(b + 1); return c * 2; },
        async fails() { await null; throw new TypeError('nope'); },
        async caught() { try { await Promise.reject(new Error('inner')); } catch (e) { return 'caught ' + e.message; } },
      };`),
    'test.js',
  );
  assert.match(code, /var step = \[null, null, null\]/);
  assert.doesNotMatch(code, /var fulfilled =/);
  new Function(code)();
  const t = (globalThis as any).__t;
  assert.equal(await t.ok(Promise.resolve(1)), 4);
  await assert.rejects(t.fails(), { name: 'TypeError', message: 'nope' });
  assert.equal(await t.caught(), 'caught inner');
  delete (globalThis as any).__t;
});

it('refuses a helper it does not know (an esbuild upgrade must be looked at)', () => {
  assert.throws(
    () => unnamedAsyncHelper('var __async = (a, b, g) => g;', 'x.js'),
    /esbuild's __async helper changed \(in x\.js\)/,
  );
  assert.equal(unnamedAsyncHelper('const x = 1;', 'x.js'), 'const x = 1;');
});

it('the built prelude holds one copy of the helper, which names no closure per call', async () => {
  const src = await preludeSource();
  const helpers = (src.match(/var __async\d*=/g) ?? []).length;
  assert.equal(helpers, 1, 'the prelude files share one helper');
  assert.equal((src.match(/var [\w$]+=\[null,null,null\];/g) ?? []).length, helpers, 'every helper replaced');
  assert.doesNotMatch(src, /"step"\)/);
});

it('keepNames: the calls for names esbuild kept go, renamed functions are still named', async () => {
  // Two files: one declares setTimeout, the other calls the global one, so esbuild renames the
  // declaration in the bundle.
  const files: Record<string, string> = {
    main: `
      import { fetch, setTimeout, toText, Headers, handlers, Box, makeClass } from 'api';
      import { later } from 'clock';
      globalThis.__n = { fetch, setTimeout, toText, Headers, handlers, Box, makeClass, later };`,
    api: `
      export function fetch() {}
      export function setTimeout() {}
      export const toText = (v) => String(v);
      export class Headers { static make() { return new Headers(); } }
      export const handlers = { onEvent: () => 1, 'on-close': function () {} };
      export const Box = class { #run = () => 2; field = () => 3; names() { return [this.#run.name, this.field.name]; } };
      export function makeClass() { return class { static tag = 1; }; }`,
    clock: 'export const later = (f) => setTimeout(f, 1);',
  };
  const built = (
    await esbuild.build({
      entryPoints: ['main'],
      plugins: [
        {
          name: 'files',
          setup(b) {
            b.onResolve({ filter: /.*/ }, (a) => ({ path: a.path, namespace: 'files' }));
            b.onLoad({ filter: /.*/, namespace: 'files' }, (a) => ({
              contents: files[a.path],
              loader: 'js',
            }));
          },
        },
      ],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2022',
      minifySyntax: true,
      minifyWhitespace: true,
      keepNames: true,
    })
  ).outputFiles[0].text;
  // esbuild renamed the declaration that shadows a global the code reads.
  assert.match(built, /function setTimeout2\(/);
  const code = keptNamesOnlyWhereRenamed(built);
  // Kept only where the function would not have the name otherwise.
  const calls = (code.match(/__name\([^,]+,"[^"]+"\)/g) ?? []).map((c) => c.replace(/\(.*,/, '(…,'));
  assert.deepEqual(calls.sort(), ['__name(…,"Headers")', '__name(…,"setTimeout")']);
  new Function(code)();
  const n = (globalThis as any).__n;
  delete (globalThis as any).__n;
  assert.deepEqual(
    [
      n.fetch.name,
      n.setTimeout.name,
      n.toText.name,
      n.Headers.name,
      n.Headers.make().constructor.name,
      n.handlers.onEvent.name,
      n.handlers['on-close'].name,
      n.Box.name,
      ...new n.Box().names(),
      n.makeClass().name,
    ],
    [
      'fetch',
      'setTimeout',
      'toText',
      'Headers',
      'Headers',
      'onEvent',
      'on-close',
      'Box',
      '#run',
      'field',
      '',
    ],
  );
});

it('refuses a keepNames helper it does not know (an esbuild upgrade must be looked at)', () => {
  assert.throws(() => keptNamesOnlyWhereRenamed('var __name=(t,v)=>t;'), /esbuild's __name helper changed/);
});

it('the built prelude keeps no call naming a function the name it has', async () => {
  const src = await preludeSource();
  assert.doesNotMatch(src, /(?<=[;{}])__name\(([A-Za-z_$][\w$]*),"\1"\)/);
});
