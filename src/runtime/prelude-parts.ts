/**
 * Parts of the prelude: the in-isolate code of bindings most workers do not have (Durable
 * Objects, R2, D1, Workflows, Analytics Engine). Each is built apart from the prelude and
 * evaluated in an isolate only when its worker has such a binding (or the isolate holds a Durable
 * Object), while the worker loads and before any of its code runs (isolate/parts.ts). Every
 * pooled isolate holds the prelude whatever its tenant turns out to be, and in the prelude this
 * code cost ~250 KB of RSS per idle tenant (memory bench: 2.26 → 2.01 MB without it).
 *
 * A part shares the prelude's modules rather than bundling copies of them: a Durable Object's
 * stub must be a `Response` the worker can return, and calls must go through the one bridge.
 * So a part's import of a file the prelude holds is replaced by a module reading that file's
 * exports from the prelude's own module namespaces, which the prelude hands the part's factory
 * (`__outpostModules`, never reachable by tenant code). The exports are read once, when the part
 * loads: a part that imports a variable the prelude reassigns (`export let`) fails the build,
 * as a copy of it would go stale.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'acorn';
import * as esbuild from 'esbuild';

/** The parts and the binding types that need each (src/runtime/bindings/protocol.ts). */
export const PART_NAMES = ['durable', 'r2', 'd1', 'analytics', 'workflow'] as const;
export type PartName = (typeof PART_NAMES)[number];

/** The key a prelude file is known by in `__outpostModules`: its path from the isolate folder. */
export function moduleKey(isolateDir: string, file: string): string {
  return relative(isolateDir, file).replace(/\\/g, '/');
}

/** Names a module exports that it may reassign later (`let`/`var`): a part cannot copy them. */
export function mutableExports(code: string): Set<string> {
  type Node = { type: string; [key: string]: any };
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as { body: Node[] };
  const mutable = new Set<string>();
  const declared = new Map<string, string>();
  for (const s of ast.body) {
    const decl = s.type === 'ExportNamedDeclaration' ? s.declaration : s;
    if (decl?.type === 'VariableDeclaration')
      for (const d of decl.declarations) if (d.id.type === 'Identifier') declared.set(d.id.name, decl.kind);
  }
  for (const s of ast.body) {
    if (s.type !== 'ExportNamedDeclaration') continue;
    if (s.declaration?.type === 'VariableDeclaration' && s.declaration.kind !== 'const')
      for (const d of s.declaration.declarations) if (d.id.type === 'Identifier') mutable.add(d.id.name);
    for (const sp of s.specifiers ?? [])
      if (declared.get(sp.local.name) && declared.get(sp.local.name) !== 'const')
        mutable.add(sp.exported.name);
  }
  return mutable;
}

/**
 * The module a part imports in place of a prelude file: its exports, read from the prelude's,
 * and the names it reads (those the file exports, less the ones it may reassign).
 */
async function preludeStub(isolateDir: string, file: string): Promise<{ code: string; names: string[] }> {
  const r = await esbuild.build({
    entryPoints: [file],
    bundle: false,
    write: false,
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  const exports = Object.values(r.metafile.outputs)[0].exports;
  const mutable = mutableExports(r.outputFiles[0].text);
  const key = JSON.stringify(moduleKey(isolateDir, file));
  const names = exports.filter((n) => !mutable.has(n));
  const plain = names.filter((n) => n !== 'default');
  const lines = [`const m = __outpostModules[${key}];`];
  if (plain.length) lines.push(`export const { ${plain.join(', ')} } = m;`);
  if (names.includes('default')) lines.push('export default m.default;');
  return { code: lines.join('\n'), names };
}

export interface BuiltParts {
  /** Each part's source: a function expression taking `__outpostModules`. */
  sources: Record<string, string>;
  /** Prelude files the parts import, each with the names they read (partModulesSource). */
  shared: Map<string, string[]>;
  /** Files the parts are built from (the build cache's inputs). */
  inputs: string[];
}

/**
 * Build every part. `preludeFiles` are the files the prelude bundles (without the parts): a
 * part's import of one of them reads the prelude's; what the prelude does not have, the part
 * bundles. `options` are the prelude's own build options (target, injects, plugins).
 */
export async function buildParts(
  isolateDir: string,
  preludeFiles: Set<string>,
  options: esbuild.BuildOptions,
  finish: (code: string) => string,
): Promise<BuiltParts> {
  const inputs = new Set<string>();
  const sources: Record<string, string> = {};
  const stubs = new Map<string, Promise<{ code: string; names: string[] }>>();
  const fromPrelude: esbuild.Plugin = {
    name: 'outpost-part-prelude',
    setup(build) {
      build.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, async (args) => {
        if (!preludeFiles.has(args.path)) return undefined;
        let stub = stubs.get(args.path);
        if (!stub) stubs.set(args.path, (stub = preludeStub(isolateDir, args.path)));
        return { contents: (await stub).code, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  for (const name of PART_NAMES) {
    const r = await esbuild.build({
      ...options,
      entryPoints: [join(isolateDir, 'parts', `${name}.ts`)],
      format: 'iife',
      write: false,
      metafile: true,
      plugins: [fromPrelude, ...(options.plugins ?? [])],
    });
    const files = Object.keys(r.metafile.inputs)
      .filter((rel) => !rel.includes(':'))
      .map((rel) => resolve(rel));
    for (const f of files) inputs.add(f);
    // A part whose code the prelude still imports somewhere would be a second copy of it.
    if (!files.some((f) => !preludeFiles.has(f) && f !== join(isolateDir, 'parts', `${name}.ts`)))
      throw new Error(`the prelude part "${name}": the prelude itself still bundles its code`);
    // Strict from the factory's first statement (its parameter must not be reachable as
    // `arguments`); its sourceURL names it in stack traces.
    sources[name] =
      `(function(__outpostModules){"use strict";${finish(r.outputFiles[0].text)}\n})\n//# sourceURL=outpost:part/${name}.js`;
  }
  const shared = new Map<string, string[]>();
  for (const file of [...stubs.keys()].sort()) shared.set(file, (await stubs.get(file)!).names);
  return { sources, shared, inputs: [...inputs] };
}

/**
 * The prelude's module `outpost:part-modules`: a function making, when the first part loads, the
 * record of what the parts read from the prelude's files. A function, not a record made when the
 * prelude runs: an isolate that loads no part (most) never makes it.
 */
export function partModulesSource(isolateDir: string, shared: Map<string, string[]>): string {
  const imports: string[] = [];
  const entries: string[] = [];
  let i = 0;
  for (const [file, names] of shared) {
    const local = (n: string) => `m${i}_${n}`;
    imports.push(
      `import { ${names.map((n) => `${n} as ${local(n)}`).join(', ')} } from ${JSON.stringify(file)};`,
    );
    entries.push(
      `${JSON.stringify(moduleKey(isolateDir, file))}: { __proto__: null, ${names.map((n) => `${n}: ${local(n)}`).join(', ')} }`,
    );
    i++;
  }
  return `${imports.join('\n')}\nexport function partModules() {\n  return { __proto__: null, ${entries.join(', ')} };\n}\n`;
}
