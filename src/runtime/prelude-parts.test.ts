// The prelude's parts (prelude-parts.ts): what every isolate holds leaves them out, each part
// holds its binding's code and reads the rest from the prelude, and a variable the prelude may
// reassign is never copied into a part.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { preludePartSource, preludeSource } from './prelude.ts';
import { mutableExports, namesRead, PART_NAMES, partModulesSource } from './prelude-parts.ts';

const CLASSES: Record<string, string[]> = {
  durable: ['DurableObjectNamespace', 'DurableObjectId', 'DurableObjectStorage', 'StorageCache'],
  r2: ['R2Bucket', 'R2Object', 'R2MultipartUpload'],
  d1: ['D1Database', 'D1PreparedStatement'],
  analytics: ['AnalyticsEngineDataset'],
  workflow: ['Workflow', 'WorkflowInstance'],
  queue: ['Queue'],
};

it('the prelude every isolate holds has none of the parts’ classes; each part has its own', async () => {
  const prelude = await preludeSource();
  for (const name of PART_NAMES) {
    const source = preludePartSource(`part:${name}`);
    assert.ok(source, `part ${name} is built`);
    assert.ok(source.startsWith('(function(__outpostModules){"use strict";'), `part ${name}: its factory`);
    assert.ok(source.includes(`registerPart("${name}",`), `part ${name} registers`);
    assert.ok(source.endsWith(`//# sourceURL=outpost:part/${name}.js`), `part ${name}: its name`);
    for (const cls of CLASSES[name]) {
      const defined = new RegExp(`[ ,]${cls}=class[ {]`);
      assert.ok(defined.test(source), `${cls} in part ${name}`);
      assert.ok(!defined.test(prelude), `${cls} not in the prelude`);
    }
    // What it shares (the bridge, the request context) comes from the prelude, not a copy.
    assert.ok(!/function callSync\(|function currentFrame\(/.test(source), `part ${name} copies the bridge`);
  }
  assert.equal(preludePartSource('part:nope'), undefined);
  assert.equal(preludePartSource('durable'), undefined, 'only part: names');
  // The record of shared modules is made on demand, not when the prelude runs.
  assert.ok(/function partModules\(\)\{return\{__proto__:null,"/.test(prelude), 'partModules is a function');
});

it('exports a module may reassign are found (a part cannot take a copy of them)', () => {
  const code = [
    'export let a = 1;',
    'let b = 2;',
    'const c = 3;',
    'var d = 4;',
    'export { b, c, d as e };',
    'export const f = 5;',
    'export function g() {}',
    'export class H {}',
    'export let { i, j: [k] } = { i: 1, j: [2] };',
    'export function l() {}',
    'function setL() { l = () => 1; }',
    'export const m = 1, n = 2;',
    "export { o, p as q } from './other.ts';",
    "export * from './star.ts';",
  ].join('\n');
  const other = new Set(['o']);
  const star = new Set(['s']);
  const from = (source: string) => (source === './other.ts' ? other : source === './star.ts' ? star : null);
  assert.deepEqual([...mutableExports(code, from)].sort(), ['a', 'b', 'e', 'i', 'k', 'l', 'o', 's']);
  // A re-export from a module it cannot read counts as changing; `export *` from one fails.
  assert.deepEqual([...mutableExports("export { x } from 'pkg';", () => null)], ['x']);
  assert.throws(() => mutableExports("export * from 'pkg';", () => null), /cannot tell what it exports/);
});

it('a part’s record of prelude names holds only those its code uses', () => {
  const code =
    'var m=__outpostModules["bridge.ts"],{callSync,host,installBridge}=m;' +
    'var m2=__outpostModules["intrinsic-globals.ts"],{Promise:Promise2}=m2;' +
    'function f(){return callSync("x")}var o={host};';
  const read = namesRead(code);
  assert.deepEqual([...(read.get('bridge.ts') ?? [])].sort(), ['callSync', 'host']);
  assert.deepEqual([...(read.get('intrinsic-globals.ts') ?? ['missing'])], [], 'present, empty');
});

it('the shared modules’ record names each export once, under its file', () => {
  const src = partModulesSource('/x/isolate', new Map([['/x/isolate/bridge.ts', ['callSync', 'host']]]));
  assert.match(src, /import \{ callSync as m0_callSync, host as m0_host \} from "\/x\/isolate\/bridge\.ts";/);
  assert.match(src, /export function partModules\(\) \{/);
  assert.match(src, /"bridge\.ts": \{ __proto__: null, callSync: m0_callSync, host: m0_host \}/);
});
