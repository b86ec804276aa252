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
import { dirname } from 'node:path';
import type * as esbuild from 'esbuild';
import { isPlainResolve, resolvePlain } from './bundle-confine.ts';

const WASM = 'outpost-wasm';
const DATA = 'outpost-data';
const BYTES = 'outpost-bytes';

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
    // The one import of the generated modules: their own file, as bytes.
    for (const namespace of [WASM, DATA])
      build.onResolve({ filter: /.*/, namespace }, (args) => ({ path: args.importer, namespace: BYTES }));
    build.onLoad({ filter: /.*/, namespace: BYTES }, async (args) => ({
      contents: await readFile(args.path),
      loader: 'binary',
    }));
  },
};
