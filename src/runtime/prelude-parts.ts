/**
 * Parts of the prelude: the in-isolate code of bindings most workers do not have (Durable
 * Objects, R2, D1, Workflows, Analytics Engine, a Queues producer). Each is built apart from the prelude and
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
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'acorn';
import * as esbuild from 'esbuild';
import type { BindingKind } from './bindings/protocol.ts';

/** The parts (each an entry in src/runtime/isolate/parts/). */
export const PART_NAMES = ['durable', 'r2', 'd1', 'analytics', 'workflow', 'queue'] as const;
export type PartName = (typeof PART_NAMES)[number];

/** The part each binding type needs (the isolate's side: isolate/bindings/index.ts). */
export const PART_OF_BINDING: Partial<Record<BindingKind, PartName>> = {
  do: 'durable',
  r2: 'r2',
  d1: 'd1',
  analytics_engine: 'analytics',
  workflow: 'workflow',
  queue: 'queue',
};

/** The key a prelude file is known by in `__outpostModules`: its path from the isolate folder. */
export function moduleKey(isolateDir: string, file: string): string {
  return relative(isolateDir, file).replace(/\\/g, '/');
}

type Node = { type: string; [key: string]: any };

/** The names a declaration's pattern binds. */
function patternNames(p: Node | null, out: string[] = []): string[] {
  if (!p) return out;
  if (p.type === 'Identifier') out.push(p.name);
  else if (p.type === 'ObjectPattern')
    for (const prop of p.properties)
      patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out);
  else if (p.type === 'ArrayPattern') for (const e of p.elements) patternNames(e, out);
  else if (p.type === 'RestElement') patternNames(p.argument, out);
  else if (p.type === 'AssignmentPattern') patternNames(p.left, out);
  return out;
}

/** Call `fn` on every node of an acorn tree, parents first. */
function walk(node: unknown, fn: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, fn);
    return;
  }
  if (!node || typeof node !== 'object' || typeof (node as Node).type !== 'string') return;
  const n = node as Node;
  fn(n);
  for (const k of Object.keys(n)) if (k !== 'type') walk(n[k], fn);
}

/** Every name assigned anywhere in the module (whatever its scope: an overestimate is safe). */
function assignedNames(node: unknown): Set<string> {
  const out = new Set<string>();
  walk(node, (n) => {
    if (n.type === 'AssignmentExpression') for (const name of patternNames(n.left)) out.add(name);
    if (n.type === 'UpdateExpression' && n.argument.type === 'Identifier') out.add(n.argument.name);
  });
  return out;
}

/**
 * Names a module (ESM, as JavaScript) exports that may change after it loaded: `let` and `var`
 * bindings, and functions or classes it assigns. A part copies what it reads once, so it cannot
 * take those. `reexports(source)` answers the same for a module it re-exports from (null:
 * unknown, then all it re-exports count as changing).
 */
export function mutableExports(code: string, reexports: (source: string) => Set<string> | null): Set<string> {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as { body: Node[] };
  const assigned = assignedNames(ast.body);
  const mutableLocal = new Set<string>();
  for (const s of ast.body) {
    const decl =
      s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration' ? s.declaration : s;
    if (decl?.type === 'VariableDeclaration') {
      for (const d of decl.declarations)
        for (const name of patternNames(d.id))
          if (decl.kind !== 'const' || assigned.has(name)) mutableLocal.add(name);
    } else if ((decl?.type === 'FunctionDeclaration' || decl?.type === 'ClassDeclaration') && decl.id)
      if (assigned.has(decl.id.name)) mutableLocal.add(decl.id.name);
  }
  const mutable = new Set<string>();
  for (const s of ast.body) {
    if (s.type === 'ExportAllDeclaration') {
      const from = reexports(s.source.value);
      if (from === null) throw new Error(`export * from ${s.source.value}: cannot tell what it exports`);
      if (s.exported) {
        if (from.size > 0) mutable.add(s.exported.name ?? s.exported.value);
      } else for (const name of from) mutable.add(name);
      continue;
    }
    if (s.type !== 'ExportNamedDeclaration') continue;
    if (s.declaration) {
      const d = s.declaration;
      const names =
        d.type === 'VariableDeclaration'
          ? d.declarations.flatMap((x: Node) => patternNames(x.id))
          : [d.id?.name];
      for (const name of names) if (mutableLocal.has(name)) mutable.add(name);
      continue;
    }
    const from = s.source ? reexports(s.source.value) : null;
    for (const sp of s.specifiers) {
      const local = sp.local.name ?? sp.local.value;
      const exported = sp.exported.name ?? sp.exported.value;
      if (s.source ? from === null || from.has(local) : mutableLocal.has(local)) mutable.add(exported);
    }
  }
  return mutable;
}

/** A file as ESM JavaScript, with its exports (esbuild, not bundled). */
async function moduleOf(file: string): Promise<{ code: string; exports: string[] }> {
  const r = await esbuild.build({
    entryPoints: [file],
    bundle: false,
    write: false,
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  return { code: r.outputFiles[0].text, exports: Object.values(r.metafile.outputs)[0].exports };
}

/** mutableExports of a file, following its relative re-exports. */
async function mutableExportsOf(file: string, seen = new Set<string>()): Promise<Set<string>> {
  const { code } = await moduleOf(file);
  const sources = new Map<string, Set<string> | null>();
  for (const m of code.matchAll(
    /\bexport\s*(?:\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*["']([^"']+)["']/g,
  )) {
    const source = m[1];
    if (sources.has(source)) continue;
    const target = source.startsWith('.')
      ? [join(dirname(file), source), join(dirname(file), `${source}.ts`)].find(
          (f) => existsSync(f) && f.endsWith('.ts'),
        )
      : undefined;
    sources.set(
      source,
      target && !seen.has(target) ? await mutableExportsOf(target, new Set([...seen, file])) : null,
    );
  }
  return mutableExports(code, (source) => sources.get(source) ?? null);
}

/**
 * The module a part imports in place of a prelude file: its exports, read from the prelude's,
 * and the names it reads (those the file exports, less the ones it may reassign).
 */
async function preludeStub(isolateDir: string, file: string): Promise<{ code: string; names: string[] }> {
  const { exports } = await moduleOf(file);
  const mutable = await mutableExportsOf(file);
  const key = JSON.stringify(moduleKey(isolateDir, file));
  const names = exports.filter((n) => !mutable.has(n));
  const plain = names.filter((n) => n !== 'default');
  const lines = [`const m = __outpostModules[${key}];`];
  if (plain.length) lines.push(`export const { ${plain.join(', ')} } = m;`);
  if (names.includes('default')) lines.push('export default m.default;');
  return { code: lines.join('\n'), names };
}

/**
 * What a built part reads from each prelude module: the names of its stubs' bindings that are
 * referred to anywhere else in it (by name, whatever the scope: an overestimate is safe). The
 * record the prelude hands parts holds those alone.
 */
export function namesRead(code: string): Map<string, Set<string>> {
  const ast = parse(code, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  const stubOf = new Map<string, string>(); // local record name -> module key
  const locals: [key: string, exported: string, local: Node][] = [];
  const patternKeys = new Set<Node>();
  walk(ast, (n) => {
    if (n.type !== 'VariableDeclarator') return;
    const init = n.init;
    if (
      n.id.type === 'Identifier' &&
      init?.type === 'MemberExpression' &&
      init.object.type === 'Identifier' &&
      init.object.name === '__outpostModules'
    )
      stubOf.set(n.id.name, init.property.value);
    else if (n.id.type === 'ObjectPattern' && init?.type === 'Identifier' && stubOf.has(init.name))
      for (const prop of n.id.properties) {
        locals.push([stubOf.get(init.name)!, prop.key.name ?? prop.key.value, prop.value]);
        patternKeys.add(prop.key);
      }
  });
  const declared = new Set(locals.map(([, , local]) => local));
  const counts = new Map<string, number>();
  walk(ast, (n) => {
    if (n.type === 'Identifier' && !declared.has(n) && !patternKeys.has(n))
      counts.set(n.name, (counts.get(n.name) ?? 0) + 1);
  });
  const read = new Map<string, Set<string>>();
  for (const [key, exported, local] of locals) {
    // Every stub's record is there (its pattern reads from it), with the names it uses.
    let names = read.get(key);
    if (!names) read.set(key, (names = new Set()));
    if (local.type === 'Identifier' && counts.get(local.name)) names.add(exported);
  }
  return read;
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
  const read = new Map<string, Set<string>>();
  const ownedBy = new Map<string, string>();
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
    const code = finish(r.outputFiles[0].text);
    for (const [key, names] of namesRead(code)) {
      let all = read.get(key);
      if (!all) read.set(key, (all = new Set()));
      for (const n of names) all.add(n);
    }
    // What a part bundles beside its prelude stubs is its own: a module in two parts would be
    // two copies, each with its own state.
    for (const f of files) {
      if (preludeFiles.has(f)) continue;
      const other = ownedBy.get(f);
      if (other && other !== name)
        throw new Error(
          `the prelude parts "${other}" and "${name}" both bundle ${f}: put it in the prelude or in one part`,
        );
      ownedBy.set(f, name);
    }
    sources[name] =
      `(function(__outpostModules){"use strict";${code}\n})\n//# sourceURL=outpost:part/${name}.js`;
  }
  const shared = new Map<string, string[]>();
  for (const file of [...stubs.keys()].sort()) {
    const names = read.get(moduleKey(isolateDir, file)) ?? new Set();
    shared.set(
      file,
      (await stubs.get(file)!).names.filter((n) => names.has(n)),
    );
  }
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
    if (names.length)
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
