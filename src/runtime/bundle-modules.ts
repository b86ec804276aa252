/**
 * How a module worker's bundle meets the isolate: esbuild plugins for the entry Outpost puts in
 * front of the project's `main`, and for the modules the runtime provides (`cloudflare:*`,
 * `node:*`, and the bare Node names under `nodejs_compat`).
 *
 * The bundle is an ES module whose only import is `outpost:runtime`, a module each pooled
 * isolate holds (src/runtime/pool.ts); src/runtime/load.ts runs it as a function of that
 * module's namespace (module-script.ts), or compiles it with `compileModule` when it cannot:
 *
 *  - `require(id)`: the prelude's module loader (src/runtime/isolate/modules.ts). Every import
 *    of a runtime module becomes a small CommonJS module `module.exports = require(id)`, so
 *    `import`, `require()` from CommonJS dependencies and `import()` all see what the CommonJS
 *    bundles of earlier versions saw (esbuild's `__toESM` interop), and a module that cannot be
 *    provided fails where it is first used, not when the worker links.
 *  - `loaded(namespace)`: the entry's last statement hands the prelude the project's exports
 *    (Durable Object classes, WorkerEntrypoints, the default handler). With top-level await it
 *    calls `loading(promise)` instead, and the prelude finishes loading when that settles.
 */
import type * as esbuild from 'esbuild';
import { NODE_MODULES } from './node-modules.ts';

/** The one import a module bundle keeps; resolved by the host to the isolate's runtime module. */
export const RUNTIME_SPECIFIER = 'outpost:runtime';

/** Source of the runtime module: exports forward to what the prelude links in (`__init`). */
export const RUNTIME_MODULE_SOURCE = [
  'let r, l, p;',
  'export function require(id) { return r(id); }',
  'export function loaded(exports) { return l(exports); }',
  'export function loading(promise) { return p(promise); }',
  // What async functions rewritten by bundle-awaits.ts call first (isolate/await-frames.ts).
  'export let __outpostFrames;',
  // Called once by the prelude (isolate/index.ts, linkRuntime). Only Outpost's generated code
  // imports this module, and it imports require, loaded, loading and __outpostFrames.
  'export function __init(a, b, c, d) { if (r) throw new TypeError("outpost:runtime is linked"); r = a; l = b; p = c; __outpostFrames = d; }',
].join('\n');

/** The bundle's entry point, resolved by entryPlugin. */
export const ENTRY_POINT = 'outpost:entry';

/**
 * The bundle's entry: imports `main` and hands its namespace to the runtime. `topLevelAwait`:
 * `main` is imported with `import()`, which esbuild turns into a lazily initialised module whose
 * top level is an async function, whose awaits the bundle's rewrite then carries the request
 * context through (bundle-awaits.ts; an await at a module's top level belongs to no function),
 * and gives the prelude a promise that settles, or rejects with the error, when the top level
 * finishes.
 */
export function entryPlugin(main: string, topLevelAwait: boolean): esbuild.Plugin {
  const spec = JSON.stringify(main);
  const runtime = JSON.stringify(RUNTIME_SPECIFIER);
  const contents = topLevelAwait
    ? `import { loading } from ${runtime};\nloading(import(${spec}));\n`
    : `import * as main from ${spec};\nimport { loaded } from ${runtime};\nloaded(main);\n`;
  return {
    name: 'outpost-entry',
    setup(build) {
      build.onResolve({ filter: /^outpost:entry$/ }, () => ({ path: 'entry', namespace: 'outpost-entry' }));
      build.onLoad({ filter: /.*/, namespace: 'outpost-entry' }, () => ({
        contents,
        loader: 'js',
        resolveDir: build.initialOptions.absWorkingDir,
      }));
    },
  };
}

/** Runtime-provided modules become `module.exports = require(id)` over `outpost:runtime`. */
export function runtimeModulesPlugin(nodeCompat: boolean): esbuild.Plugin {
  const bare = nodeCompat ? `|(?:${NODE_MODULES.join('|')})(?:/.*)?` : '';
  const filter = new RegExp(`^(?:node:.*|cloudflare:.*${bare})$`);
  const runtime = JSON.stringify(RUNTIME_SPECIFIER);
  return {
    name: 'outpost-runtime-modules',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'outpost-runtime' }));
      build.onLoad({ filter: /.*/, namespace: 'outpost-runtime' }, (args) => ({
        // Not named `require`: esbuild would bundle a require() call in a CommonJS module.
        contents: `import { require as provide } from ${runtime};\nmodule.exports = provide(${JSON.stringify(args.path)});\n`,
        loader: 'js',
      }));
      // Only Outpost's own generated modules may import the runtime module.
      build.onResolve({ filter: /^outpost:runtime$/ }, (args) =>
        args.namespace === 'outpost-runtime' || args.namespace === 'outpost-entry'
          ? { path: RUNTIME_SPECIFIER, external: true }
          : undefined,
      );
    },
  };
}
