/**
 * Data modules, as wrangler bundles them (https://developers.cloudflare.com/workers/wrangler/bundling/):
 * `x.wasm` and `x.wasm?module` become a compiled `WebAssembly.Module`, `x.bin` an
 * `ArrayBuffer` (`.txt`/`.html` are esbuild's text loader, in bundle.ts).
 *
 * The file is found by esbuild's own resolution (relative paths, packages), then checked like
 * every file a build reads (bundle-confine.ts). Its bytes come from a module Outpost generates
 * in a namespace of its own: the generated module imports them with a specifier that only an
 * importer in that namespace can resolve, and the bytes module's path is the importer's own, so
 * tenant source has no import form that reaches it (the former `/abs/path?outpost-bytes` form
 * read any host file).
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type * as esbuild from 'esbuild';
import picomatch from 'picomatch';
import type { ModuleRule } from '../config/index.ts';
import { isPlainResolve, resolvePlain } from './bundle-confine.ts';

const WASM = 'outpost-wasm';
const DATA = 'outpost-data';
const BYTES = 'outpost-bytes';
const TEXT = 'outpost-text';

export const dataModulesPlugin: esbuild.Plugin = {
  name: 'outpost-data-modules',
  setup(build) {
    // Called for the import itself and for confinePlugin's check of it (which must see the
    // file it will read), not for the plain resolution below.
    const claim = (namespace: string, suffix?: RegExp) => async (args: esbuild.OnResolveArgs) => {
      if (isPlainResolve(args)) return undefined;
      const found = await resolvePlain(build, suffix ? args.path.replace(suffix, '') : args.path, args);
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: found.path, namespace };
    };
    build.onResolve({ filter: /\.wasm(\?module)?$/ }, claim(WASM, /\?module$/));
    build.onResolve({ filter: /\.bin$/ }, claim(DATA));
    build.onLoad({ filter: /.*/, namespace: WASM }, (args) => ({
      contents: 'import bytes from "bytes";\nexport default new WebAssembly.Module(bytes);\n',
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    build.onLoad({ filter: /.*/, namespace: DATA }, (args) => ({
      // `.bin` data modules are ArrayBuffers in Workers, not Uint8Arrays.
      contents:
        'import b from "bytes";\nexport default b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);\n',
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    build.onLoad({ filter: /.*/, namespace: TEXT }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
    }));
    // The one import of the generated modules: their own file, as bytes.
    for (const namespace of [WASM, DATA])
      build.onResolve({ filter: /.*/, namespace }, (args) => ({ path: args.importer, namespace: BYTES }));
    build.onLoad({ filter: /.*/, namespace: BYTES }, async (args) => ({
      contents: await readFile(args.path),
      loader: 'binary',
    }));
  },
};

/**
 * wrangler's `[[rules]]` (src/config/build.ts): files matching a rule's globs (relative to the
 * config's folder) are imported as Text, Data (an ArrayBuffer) or CompiledWasm (a
 * WebAssembly.Module); ESModule and CommonJS rules name what esbuild already does with
 * JavaScript. The first matching rule wins, as in wrangler; `fallthrough` lets a later rule of
 * the same type add globs. Must come after dataModulesPlugin, whose namespaces it uses.
 */
export function rulesPlugin(rootDir: string, rules: ModuleRule[]): esbuild.Plugin {
  const data = rules
    .filter((r) => r.type === 'Text' || r.type === 'Data' || r.type === 'CompiledWasm')
    .map((r) => ({ type: r.type, match: picomatch(r.globs, { dot: true }) }));
  const ns = { Text: TEXT, Data: DATA, CompiledWasm: WASM } as const;
  return {
    name: 'outpost-module-rules',
    setup(build) {
      if (data.length === 0) return;
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (isPlainResolve(args) || args.namespace !== 'file' || args.path.startsWith('outpost:'))
          return undefined;
        if (!/^[./]/.test(args.path)) return undefined; // packages keep their own loaders
        const found = await resolvePlain(build, args.path, args);
        if (found.errors.length > 0 || found.external) return undefined;
        const rel = relative(rootDir, found.path).split(sep).join('/');
        const rule = data.find((r) => r.match(rel));
        if (!rule) return undefined;
        return { path: found.path, namespace: ns[rule.type as keyof typeof ns] };
      });
    },
  };
}
