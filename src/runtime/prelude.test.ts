// The prelude's lowering of async functions: every file imports one helper (isolate/async.ts,
// which reads no replaceable global) instead of esbuild's; and the names the bundle keeps.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as esbuild from 'esbuild';
import { ISOLATE_SUPPORTED, preludeSource, sharedAsyncHelper } from './prelude.ts';
import { keptNamesOnlyWhereRenamed } from './prelude-names.ts';

const lowered = (src: string) =>
  esbuild.transformSync(src, { loader: 'ts', target: 'es2022', supported: ISOLATE_SUPPORTED }).code;

it("a lowered file imports the shared helper instead of defining esbuild's", () => {
  const code = sharedAsyncHelper(
    lowered('export async function f(a: number) { return (await a) + 1; }'),
    'x.ts',
    'ts',
  );
  assert.match(code, /^import \{ __async \} from 'outpost:async-helper';/);
  assert.doesNotMatch(code, /var __async =|new Promise|\.then\(/);
  assert.match(code, /return __async\(this, null, function\* \(\) \{/);
  assert.equal(sharedAsyncHelper('const x = 1;', 'x.ts', 'ts'), 'const x = 1;');
});

it('refuses a helper it does not know, async generators, and a JavaScript file that lowers one', () => {
  assert.throws(
    () => sharedAsyncHelper('var __async = (a, b, g) => g;', 'x.ts', 'ts'),
    /esbuild's __async helper changed \(in x\.js\)|esbuild's __async helper changed \(in x\.ts\)/,
  );
  assert.throws(
    () =>
      sharedAsyncHelper(lowered('export async function f(s) { for await (const x of s); }'), 'x.ts', 'ts'),
    /x\.ts: an async generator or `for await` in the prelude/,
  );
  assert.throws(
    () => sharedAsyncHelper(lowered('export async function f() {}'), 'x.js', 'js'),
    /x\.js: a JavaScript file in the prelude lowers async functions/,
  );
});

it('the built prelude holds only the shared helper, which names no closure per call and reads no global Promise', async () => {
  const src = await preludeSource();
  // (Checked with booleans: a failed match would print the whole prelude.)
  const at = src.indexOf('function __async(');
  assert.ok(at >= 0 && src.indexOf('function __async(', at + 1) < 0, 'one shared helper');
  assert.ok(!/var __async\d*=/.test(src), "no copy of esbuild's helper");
  const helper = src.slice(at, src.indexOf('}var ', at));
  assert.ok(!helper.includes('__name('), `no closure named per call: ${helper}`);
  // Free uses of `Promise` are bound to the intrinsic when the prelude loads (intrinsic-globals.ts);
  // what is left is text in messages.
  const code = src.replace(/"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
  const free = code.match(/.{0,40}(?<![\w$.])Promise(?![\w$]).{0,40}/);
  assert.equal(free, null, `a free use of Promise: ${free?.[0]}`);
  assert.ok(src.includes('IntrinsicPromise=globalThis.Promise'));
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
  // A renamed class's name is deleted, then defined (prelude-names.ts says why): it reads the
  // same to tenant code, a plain data property as the redefinition made it.
  assert.deepEqual(Object.getOwnPropertyDescriptor(n.Headers, 'name'), {
    value: 'Headers',
    writable: false,
    enumerable: false,
    configurable: true,
  });
  assert.ok(code.includes('__nameDesc(target,"prototype")?.writable===!1&&delete target.name'));
  // Captured when the prelude loads: a later call (setInterval's) reads no global tenant code
  // can replace.
  assert.ok(code.includes('var __nameDesc=Object.getOwnPropertyDescriptor,__name='));
});

it('refuses a keepNames helper it does not know (an esbuild upgrade must be looked at)', () => {
  assert.throws(() => keptNamesOnlyWhereRenamed('var __name=(t,v)=>t;'), /esbuild's __name helper changed/);
});

it('the built prelude keeps no call naming a function the name it has', async () => {
  const src = await preludeSource();
  assert.doesNotMatch(src, /(?<=[;{}])__name\(([A-Za-z_$][\w$]*),"\1"\)/);
});
