import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * Builds the in-isolate prelude (src/runtime/isolate/) into one script with esbuild, once per
 * process. Minified to keep the per-isolate cost small (the source string lives in every heap).
 */
const here = dirname(fileURLToPath(import.meta.url));
// From src/ the isolate sources sit beside this file; from dist/ they are read from src/.
const isolateDir = existsSync(join(here, 'isolate', 'index.ts'))
  ? join(here, 'isolate')
  : join(here, '..', '..', 'src', 'runtime', 'isolate');
let cached: Promise<string> | null = null;

/**
 * esbuild's `supported` for all code that runs in an isolate (prelude, extensions, tenant
 * bundles): async functions lowered to generators, so every await goes through
 * `Promise.prototype.then` and carries the request context (src/runtime/isolate/context.ts).
 */
export const ISOLATE_SUPPORTED: Record<string, boolean> = {
  'async-await': false,
  'async-generator': false,
  'for-await': false,
};

export function preludeSource(): Promise<string> {
  cached ??= esbuild
    .build({
      entryPoints: [join(isolateDir, 'index.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'neutral',
      target: 'es2022',
      supported: ISOLATE_SUPPORTED,
      minify: true,
      keepNames: true,
      mainFields: ['main'],
      logLevel: 'silent',
    })
    .then((r) => r.outputFiles[0].text);
  return cached;
}

export const PRELUDE_FILENAME = 'outpost:prelude.js';
