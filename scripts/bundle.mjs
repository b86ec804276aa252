#!/usr/bin/env node
// The second half of `npm run build` (after tsc): the CLI as one CommonJS file with its npm
// dependencies, dist/cli/outpost.bundle.cjs, the loader that runs it with V8's code cache
// (src/cli/bundle-loader.cjs → dist/cli/outpost.cjs), and the SQL host process's and the tracing
// export thread's entries as one file each where the bundle looks for them (dist/cli/sql-host.js,
// dist/cli/export-thread.cjs). bin/outpost.mjs runs the loader when
// it exists. Why: a node starts in ~0.3 s this way against ~0.6 s from the ~190 compiled files
// (docs/deploying.md, "Start time").
//
// The bundle sits two folders below the package root, as the compiled files do, so what the code
// finds relative to itself (package.json, the isolate sources it builds the prelude from,
// node_modules/.cache) is where it is for them. Kept out of it: native addons (isolated-vm,
// better-sqlite3), esbuild (it finds its binary relative to its own package), and what the code
// loads lazily by `createRequire`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const root = join(import.meta.dirname, '..');

/** Bundles into `<out>/dist/cli/` (default: this package); returns the loader's path. */
export async function bundle(out = root) {
  const dir = join(out, 'dist', 'cli');
  mkdirSync(dir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    // Packages that ship both: their ES modules (jsonc-parser's CommonJS build requires files by
    // relative names that a bundle does not have).
    mainFields: ['module', 'main'],
    external: ['isolated-vm', 'better-sqlite3', 'esbuild'],
    // Smaller to read and parse; names kept (errors and logs show them).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
  };
  await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outfile: join(dir, 'outpost.bundle.cjs'),
    format: 'cjs',
    // The sources are ES modules: import.meta.url is the bundle's own URL.
    define: { 'import.meta.url': '__outpost_bundle_url' },
    banner: { js: "var __outpost_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src', 'durable-objects', 'sql-host.ts')],
    outfile: join(dir, 'sql-host.js'),
    format: 'esm',
  });
  // The tracing export thread (src/observability/span-export.ts starts it), with the
  // OpenTelemetry exporter inside: CommonJS, as those packages' own builds are.
  await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src', 'observability', 'export-thread.ts')],
    outfile: join(dir, 'export-thread.cjs'),
    format: 'cjs',
  });
  // The loader names the bundle's code cache after its content (src/cli/bundle-loader.cjs).
  const hash = createHash('sha256')
    .update(readFileSync(join(dir, 'outpost.bundle.cjs')))
    .digest('hex')
    .slice(0, 16);
  const loader = join(dir, 'outpost.cjs');
  const source = readFileSync(join(root, 'src', 'cli', 'bundle-loader.cjs'), 'utf8');
  if (!source.includes("'__OUTPOST_BUNDLE_HASH__'"))
    throw new Error('bundle-loader.cjs has no hash placeholder');
  writeFileSync(loader, source.replace("'__OUTPOST_BUNDLE_HASH__'", `'${hash}'`));
  return loader;
}

if (process.argv[1] === import.meta.filename) {
  const t0 = performance.now();
  const loader = await bundle();
  console.log(`bundled ${loader} in ${Math.round(performance.now() - t0)} ms`);
}
