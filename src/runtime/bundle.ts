import { createHash } from 'node:crypto';
import { dirname, relative } from 'node:path';
import * as esbuild from 'esbuild';
import type { WorkerConfig } from '../config/index.ts';
import { BundleError } from './errors.ts';
import { NODE_MODULES } from './node-modules.ts';

/**
 * Bundles a project's `main` with esbuild the way wrangler does: npm dependencies resolved
 * from the project's node_modules with the `workerd`/`worker`/`browser` conditions; `.wasm`
 * imports become `WebAssembly.Module`, `.txt`/`.html` text, `.bin` an `ArrayBuffer`
 * (https://developers.cloudflare.com/workers/wrangler/bundling/).
 *
 * The output is CommonJS so the host can wrap it in a function and read its exports; a
 * module with no exports is taken as service-worker syntax (`addEventListener('fetch')`).
 */
export interface Bundle {
  code: string;
  /** Source map (v3 JSON) of `code`, for mapping stack traces back to the user's files. */
  map: string;
  /** sha256 of code: the key of the V8 code cache. */
  hash: string;
  /** 'service-worker' when the entry has no ES module syntax; modules that export nothing fall back to it at load. */
  format: 'modules' | 'service-worker';
  /** Absolute paths of the project's files that went in (node_modules excluded), for watching. */
  inputs: string[];
  /** File name stack frames use for this bundle. */
  filename: string;
}

const wasmPlugin: esbuild.Plugin = {
  name: 'outpost-modules',
  setup(build) {
    // `x.wasm` and wrangler's `x.wasm?module` → a compiled WebAssembly.Module.
    build.onResolve({ filter: /\.wasm(\?module)?$/ }, (args) => ({
      path: require_resolve(args.path.replace(/\?module$/, ''), args.resolveDir),
      namespace: 'outpost-wasm',
    }));
    build.onLoad({ filter: /.*/, namespace: 'outpost-wasm' }, (args) => ({
      contents: `import bytes from ${JSON.stringify(`${args.path}?outpost-bytes`)};\nexport default new WebAssembly.Module(bytes);`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    // `.bin` data modules are ArrayBuffers in Workers, not Uint8Arrays.
    build.onResolve({ filter: /\.bin$/ }, (args) => ({
      path: require_resolve(args.path, args.resolveDir),
      namespace: 'outpost-data',
    }));
    build.onLoad({ filter: /.*/, namespace: 'outpost-data' }, (args) => ({
      contents: `import b from ${JSON.stringify(`${args.path}?outpost-bytes`)};\nexport default b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
    build.onResolve({ filter: /\?outpost-bytes$/ }, (args) => ({
      path: args.path.replace(/\?outpost-bytes$/, ''),
      namespace: 'outpost-bytes',
    }));
    build.onLoad({ filter: /.*/, namespace: 'outpost-bytes' }, async (args) => ({
      contents: await import('node:fs/promises').then((fs) => fs.readFile(args.path)),
      loader: 'binary',
    }));
  },
};

function require_resolve(path: string, resolveDir: string): string {
  return path.startsWith('/') ? path : `${resolveDir}/${path}`;
}

export async function bundleWorker(config: WorkerConfig): Promise<Bundle> {
  const nodeCompat = config.compatibilityFlags.some((f) => f === 'nodejs_compat' || f === 'nodejs_compat_v2');
  let result = await build(config, nodeCompat, false);
  // AsyncLocalStorage propagates through `then` only (src/runtime/isolate/ext/node-async_hooks.ts):
  // a worker that imports it is rebuilt with async functions lowered to generators.
  const usesAls = Object.values(result.metafile.inputs).some((i) =>
    i.imports.some((imp) => imp.external && /^(node:)?async_hooks$/.test(imp.path)),
  );
  if (usesAls) result = await build(config, nodeCompat, true);
  return finish(config, result);
}

async function build(
  config: WorkerConfig,
  nodeCompat: boolean,
  lowerAsync: boolean,
): Promise<esbuild.BuildResult<{ write: false; metafile: true }>> {
  const filename = `${config.name}.worker.js`;
  try {
    return await esbuild.build({
      entryPoints: [config.main],
      absWorkingDir: config.rootDir,
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      outfile: filename,
      sourcemap: 'external',
      sourcesContent: false,
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      // Runtime-provided modules: resolved by the isolate's require shim.
      external: ['node:*', 'cloudflare:*', ...(nodeCompat ? NODE_MODULES : [])],
      supported: lowerAsync ? { 'async-await': false, 'async-generator': false, 'for-await': false } : {},
      loader: {
        '.txt': 'text',
        '.html': 'text',
        '.ts': 'ts',
        '.mts': 'ts',
        '.js': 'js',
        '.mjs': 'js',
        '.jsx': 'jsx',
        '.tsx': 'tsx',
      },
      plugins: [wasmPlugin],
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw new BundleError(String(err));
    throw new BundleError(formatMessages(config.rootDir, failure.errors));
  }
}

function finish(config: WorkerConfig, result: esbuild.BuildResult<{ write: false; metafile: true }>): Bundle {
  const filename = `${config.name}.worker.js`;
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js || !map) throw new BundleError('esbuild produced no output');
  // Drop the sourceMappingURL comment: the host maps stacks itself.
  const code = js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  // An entry without ES module syntax is a service-worker script for certain; one with it is a
  // module worker unless it turns out to export nothing (decided when the isolate loads it).
  const entryKey = Object.keys(result.metafile.inputs).find(
    (k) => config.rootDir + '/' + k === config.main || k === config.main,
  );
  const format = entryKey && result.metafile.inputs[entryKey].format === 'esm' ? 'modules' : 'service-worker';
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules') && !p.includes(':'))
    .map((p) => `${config.rootDir}/${p}`);
  return {
    code,
    map: map.text,
    hash: createHash('sha256').update(code).digest('hex'),
    format,
    inputs,
    filename,
  };
}

function formatMessages(root: string, messages: esbuild.Message[]): string {
  return messages
    .map((m) => {
      // esbuild reports files relative to absWorkingDir (the project root) already.
      const file = m.location
        ? m.location.file.startsWith('/')
          ? relative(root, m.location.file)
          : m.location.file
        : '';
      const where = m.location ? `${file}:${m.location.line}:${m.location.column + 1}: ` : '';
      return `${where}${m.text}`;
    })
    .join('\n');
}
