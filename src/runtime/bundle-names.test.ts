import assert from 'node:assert/strict';
import { it } from 'node:test';
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import * as esbuild from 'esbuild';
import { cheaperKeptNames } from './bundle-names.ts';

const SOURCE = `export const proto = { __proto__: function () {} };
export const page = ${JSON.stringify('<script>var __name = (target, value) => __defProp(target, "name", { value, configurable: true });</script>')};
export class Context { json = (o) => JSON.stringify(o); static make() { return new Context(); } }
export const inner = function inner() {};
function helper() {}
export const helped = helper;
export function check() { return [new Context().json.name, inner.name, helped.name, Object.getOwnPropertyDescriptor(new Context().json, 'name')]; }
`;

for (const minify of [false, true]) {
  it(`keepNames' helper leaves a right name alone and still names the rest (${minify ? 'minified' : 'unminified'})`, async () => {
    const built = esbuild.buildSync({
      stdin: { contents: SOURCE, sourcefile: 'app.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      keepNames: true,
      minify,
      write: false,
      sourcemap: 'external',
      outfile: 'out.js',
    });
    const js = built.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
    const map = built.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
    const out = cheaperKeptNames(js, map, 'module');
    assert.equal(out.code.split('\n').length, js.split('\n').length, 'no line moved');
    // The field's arrow is named by the field: no call left for it.
    assert.ok(js.includes('"json")') && !out.code.includes('"json")'), 'the redundant call is gone');
    assert.notEqual(out.code, js, 'the helper was found');
    const mod = await import(`data:text/javascript,${encodeURIComponent(out.code)}`);
    const [json, inner, helper, descriptor] = mod.check();
    // `{ __proto__: f }` is named by esbuild's call, not by the language: the call stays.
    assert.equal(Object.getPrototypeOf(mod.proto).name, '__proto__');
    // A helper's text inside a string is left alone, and is not taken for the bundle's own.
    const plain = esbuild.buildSync({
      stdin: { contents: SOURCE, sourcefile: 'app.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      minify,
      write: false,
    }).outputFiles[0].text;
    assert.equal(cheaperKeptNames(plain, null, 'module').code, plain);
    assert.ok(mod.page.includes('=> __defProp(target'));
    assert.equal(json, 'json');
    assert.equal(inner, 'inner');
    // Minified, \`helper\` is renamed: its name is redefined.
    assert.equal(helper, 'helper');
    assert.deepEqual(descriptor, { value: 'json', writable: false, enumerable: false, configurable: true });
    // The same class as esbuild's own output would make it, and the map still points home.
    const traced = new TraceMap(out.map);
    const at = out.code.indexOf('JSON.stringify');
    const line = out.code.slice(0, at).split('\n').length;
    const column = at - (out.code.lastIndexOf('\n', at - 1) + 1);
    const pos = originalPositionFor(traced, { line, column });
    assert.equal(
      SOURCE.split('\n')[(pos.line ?? 0) - 1].slice(pos.column ?? 0, (pos.column ?? 0) + 14),
      'JSON.stringify',
    );
  });
}
