import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { cachedBuild } from './build-cache.ts';
import { keptNamesOnlyWhereRenamed } from './prelude-names.ts';
import { buildParts, partModulesSource } from './prelude-parts.ts';

/**
 * Builds the in-isolate prelude (src/runtime/isolate/) into one script with esbuild, once per
 * process. Whitespace and syntax are minified (the source string lives in every isolate), names
 * are not: see prelude-names.ts.
 */
const here = dirname(fileURLToPath(import.meta.url));
// From src/ the isolate sources sit beside this file; from dist/ they are read from src/.
const isolateDir = existsSync(join(here, 'isolate', 'index.ts'))
  ? join(here, 'isolate')
  : join(here, '..', '..', 'src', 'runtime', 'isolate');
let cached: Promise<Built> | null = null;

/**
 * esbuild's `supported` for the prelude and its extensions: async functions lowered to
 * generators, so every await goes through the frame-carrying `then` and carries the request
 * context (src/runtime/isolate/context.ts). Tenant bundles keep theirs native and are rewritten
 * instead (bundle-awaits.ts, TENANT_SUPPORTED).
 */
export const ISOLATE_SUPPORTED: Record<string, boolean> = {
  'async-await': false,
  'async-generator': false,
  'for-await': false,
};

/**
 * Prelude files whose async functions stay native, each resuming its invocation's frame by hand
 * after an await (see the file). Measured (bench, in-process, one core): lowering dispatch.ts,
 * the entry points every request passes through, cost ~7 µs per hello-world request (8.3 → 15.0
 * µs); lowering the rest of the prelude costs nothing measurable on the request path.
 */
const NATIVE_ASYNC = new Set(['dispatch.ts']);

/**
 * esbuild's `__async` helper as `esbuild.transform` writes it (version pinned), its local names
 * captured: esbuild renames them where a file's own names collide (`rejected2`).
 */
const I = '([A-Za-z_$][\\w$]*)';
const ESBUILD_ASYNC = new RegExp(
  [
    `var __async = \\(${I}, ${I}, ${I}\\) => \\{`,
    `  return new Promise\\(\\(${I}, ${I}\\) => \\{`,
    `    var ${I} = \\(${I}\\) => \\{`,
    `      try \\{`,
    `        ${I}\\(\\3\\.next\\(\\7\\)\\);`,
    `      \\} catch \\(${I}\\) \\{`,
    `        \\5\\(\\9\\);`,
    `      \\}`,
    `    \\};`,
    `    var ${I} = \\(\\7\\) => \\{`,
    `      try \\{`,
    `        \\8\\(\\3\\.throw\\(\\7\\)\\);`,
    `      \\} catch \\(\\9\\) \\{`,
    `        \\5\\(\\9\\);`,
    `      \\}`,
    `    \\};`,
    `    var \\8 = \\(${I}\\) => \\11\\.done \\? \\4\\(\\11\\.value\\) : Promise\\.resolve\\(\\11\\.value\\)\\.then\\(\\6, \\10\\);`,
    `    \\8\\(\\(\\3 = \\3\\.apply\\(\\1, \\2\\)\\)\\.next\\(\\)\\);`,
    `  \\}\\);`,
    `\\};`,
  ].join('\\n'),
);

/**
 * The module every lowered prelude file imports its async helper from: isolate/async.ts, which
 * uses intrinsics captured before tenant code instead of the globals esbuild's helper reads
 * (see there). One copy for the whole prelude, too (esbuild writes one into each file it lowers).
 */
const ASYNC_HELPER_MODULE = 'outpost:async-helper';

/** A prelude file's lowered code importing the shared helper instead of defining esbuild's. */
export function sharedAsyncHelper(code: string, file: string, loader: 'ts' | 'js'): string {
  // esbuild's async-generator helpers read replaceable globals as they run (helper-shapes.ts
  // replaces them in extensions); the prelude has none: keep it so.
  if (/var __(asyncGenerator|forAwait|yieldStar) = /.test(code))
    throw new Error(
      `${file}: an async generator or \`for await\` in the prelude (esbuild's helpers for them read replaceable globals): use a loop over a reader`,
    );
  if (!code.includes('var __async = ')) return code;
  if (!ESBUILD_ASYNC.test(code))
    throw new Error(`esbuild's __async helper changed (in ${file}): update src/runtime/prelude.ts`);
  // An import makes a CommonJS file an ES module: the prelude has none that lowers an async function.
  if (loader !== 'ts')
    throw new Error(
      `${file}: a JavaScript file in the prelude lowers async functions; make it TypeScript (ESM)`,
    );
  return code.replace(ESBUILD_ASYNC, `import { __async } from '${ASYNC_HELPER_MODULE}';`);
}

/** Lowers async functions file by file (esbuild's `supported` applies to a whole build). */
const lowerAsync: esbuild.Plugin = {
  name: 'outpost-lower-async',
  setup(build) {
    build.onResolve({ filter: /^outpost:async-helper$/ }, () => ({ path: join(isolateDir, 'async.ts') }));
    build.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
      if (NATIVE_ASYNC.has(basename(args.path))) return { contents: source, loader };
      // No `format`: each file keeps its module syntax (ESM or CommonJS) for the bundler.
      const out = await esbuild.transform(source, {
        loader,
        target: 'es2022',
        supported: ISOLATE_SUPPORTED,
        sourcefile: args.path,
      });
      return { contents: sharedAsyncHelper(out.code, args.path, loader), loader: 'js' };
    });
  },
};

/** The prelude's build options (its parts are built with the same: prelude-parts.ts). */
const BUILD_OPTIONS: esbuild.BuildOptions = {
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'neutral',
  target: 'es2022',
  minifySyntax: true,
  minifyWhitespace: true,
  inject: [join(isolateDir, 'intrinsic-globals.ts'), join(isolateDir, 'prelude-timers.ts')],
  plugins: [lowerAsync],
  keepNames: true,
  mainFields: ['main'],
  logLevel: 'silent',
  metafile: true,
};

/** The prelude with `outpost:part-modules` (isolate/parts.ts) made of `partModules`. */
function buildPrelude(partModules: string) {
  const modules: esbuild.Plugin = {
    name: 'outpost-part-modules',
    setup(build) {
      build.onResolve({ filter: /^outpost:part-modules$/ }, () => ({
        path: 'part-modules',
        namespace: 'outpost',
      }));
      build.onLoad({ filter: /^part-modules$/, namespace: 'outpost' }, () => ({
        contents: partModules,
        loader: 'js',
        resolveDir: isolateDir,
      }));
    },
  };
  return esbuild.build({
    ...BUILD_OPTIONS,
    entryPoints: [join(isolateDir, 'index.ts')],
    plugins: [modules, lowerAsync],
  }) as Promise<esbuild.BuildResult & { metafile: esbuild.Metafile; outputFiles: esbuild.OutputFile[] }>;
}

const filesOf = (m: esbuild.Metafile) =>
  Object.keys(m.inputs)
    .filter((rel) => !rel.includes(':'))
    .map((rel) => resolve(rel));

interface Built {
  prelude: string;
  parts: Record<string, string>;
}
let built: Built | null = null;

/**
 * The prelude and its parts (prelude-parts.ts), built once per machine (build-cache.ts), then
 * once per process at most. First the prelude alone, for the files it holds; then the parts,
 * which read those from it; then the prelude again with the namespaces the parts read.
 */
function buildAll(): Promise<Built> {
  cached ??= cachedBuild('prelude-2', async () => {
    const alone = await buildPrelude('export function partModules() {\n  return { __proto__: null };\n}\n');
    const parts = await buildParts(isolateDir, new Set(filesOf(alone.metafile)), BUILD_OPTIONS, (code) =>
      code.includes('var __name=') ? keptNamesOnlyWhereRenamed(code) : code,
    );
    const r = await buildPrelude(partModulesSource(isolateDir, parts.shared));
    return {
      value: { prelude: keptNamesOnlyWhereRenamed(r.outputFiles[0].text), parts: parts.sources },
      inputs: [
        ...filesOf(r.metafile),
        ...parts.inputs,
        fileURLToPath(import.meta.url),
        join(here, 'prelude-parts.ts'),
        // It rewrites the bundle (its name helper): a change to it is a change to the prelude.
        join(here, 'prelude-names.ts'),
      ],
    };
  }).then((b) => {
    built = b;
    return b;
  });
  return cached;
}

export async function preludeSource(): Promise<string> {
  return (await buildAll()).prelude;
}

/**
 * A part's source for the `ext` syscall (`part:durable`), once the prelude is built (the pool
 * builds it before any isolate exists); undefined for any other name.
 */
export function preludePartSource(name: string): string | undefined {
  if (!built || !name.startsWith('part:')) return undefined;
  const key = name.slice(5);
  return Object.hasOwn(built.parts, key) ? built.parts[key] : undefined;
}

export const PRELUDE_FILENAME = 'outpost:prelude.js';
