import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * Extensions: parts of the in-isolate API that most workers never use (node:* modules,
 * URLPattern, CompressionStream's codec, HTMLRewriter). Keeping them out of the prelude keeps
 * every isolate small (prelude size is per-isolate memory, DESIGN.md); an isolate evaluates an
 * extension the first time its worker needs it, asking the host for the source through the
 * `ext` syscall.
 *
 * Each file in src/runtime/isolate/ext/ is bundled to one function expression
 * `(function (outpost, require) { ...; return module.exports })`: `outpost` is the prelude's
 * private capability object (never reachable by tenant code) and `require` resolves other
 * extensions, so node:stream and node:buffer share one Buffer class.
 */
const here = dirname(fileURLToPath(import.meta.url));
const extDir = existsSync(join(here, 'isolate', 'ext'))
  ? join(here, 'isolate', 'ext')
  : join(here, '..', '..', 'src', 'runtime', 'isolate', 'ext');

/** Bare module names extensions provide; imports of them between extensions stay external. */
const PROVIDED = /^(node:)?(buffer|events|util|stream|string_decoder|crypto|async_hooks|process)$/;

/** Extension name (what `ext` is asked for) from its file: `node-buffer.ts` → `node:buffer`. */
export function extensionName(file: string): string {
  const base = file.replace(/\.ts$/, '');
  return base.startsWith('node-') ? `node:${base.slice(5).replace(/-/g, '_')}` : base;
}

let cached: Promise<Map<string, string>> | null = null;
let ready: Map<string, string> | null = null;

async function buildOne(file: string): Promise<string> {
  const entry = join(extDir, file);
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'cjs',
    // 'browser' applies packages' browser field maps (readable-stream swaps Node's stream out).
    platform: 'browser',
    target: 'es2022',
    minify: true,
    keepNames: true,
    mainFields: ['browser', 'module', 'main'],
    conditions: ['worker', 'browser'],
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    plugins: [
      {
        name: 'outpost-ext-externals',
        setup(build) {
          build.onResolve({ filter: PROVIDED }, (args) => {
            // The extension that provides a module bundles the package itself.
            if (args.importer === entry && extensionName(file) === `node:${args.path}`) return undefined;
            return { path: `node:${args.path.replace(/^node:/, '')}`, external: true };
          });
        },
      },
    ],
  });
  const code = result.outputFiles[0].text;
  return `(function(outpost,require){var module={exports:{}},exports=module.exports;${code}\nreturn module.exports;})`;
}

/** Build every extension once per process. */
export function extensionSources(): Promise<Map<string, string>> {
  cached ??= (async () => {
    const files = readdirSync(extDir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'),
    );
    const built = await Promise.all(files.map(async (f) => [extensionName(f), await buildOne(f)] as const));
    ready = new Map(built);
    return ready;
  })();
  return cached;
}

/** Synchronous lookup for the `ext` syscall (sources are built before any isolate exists). */
export function extensionSource(name: string): string | undefined {
  return ready?.get(name);
}
