import { createHash } from 'node:crypto';
import { relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import type { WorkerConfig } from '../config/index.ts';
import { carryFramesThroughAwaits, TENANT_SUPPORTED } from './bundle-awaits.ts';
import {
  type BuildRoot,
  buildRoot,
  checkTsconfigs,
  confinePlugin,
  redactMessage,
  sealedPlugin,
} from './bundle-confine.ts';
import { dataModulesPlugin, rulesPlugin } from './bundle-data.ts';
import { ENTRY_POINT, entryPlugin, RUNTIME_SPECIFIER, runtimeModulesPlugin } from './bundle-modules.ts';
import { cheaperKeptNames } from './bundle-names.ts';
import { BundleError } from './errors.ts';
import { NODE_MODULES } from './node-modules.ts';

/**
 * Bundles a project's `main` with esbuild the way wrangler does: npm dependencies resolved
 * from the project's node_modules with the `workerd`/`worker`/`browser` conditions; `.wasm`
 * imports become `WebAssembly.Module`, `.txt`/`.html` text, `.bin` an `ArrayBuffer`
 * (https://developers.cloudflare.com/workers/wrangler/bundling/). A build reads files only
 * under its build root, the project's folder by default (bundle-confine.ts).
 *
 * A module worker is bundled as an ES module and loaded as one in the isolate
 * (src/runtime/bundle-modules.ts, src/runtime/load.ts); a module with no exports is taken
 * as service-worker syntax (`addEventListener('fetch')`). An entry without ES module syntax is a
 * service-worker script: it stays CommonJS, run as a classic script wrapped in a function, as
 * Workers runs such scripts (sloppy mode, no imports to link).
 */
export interface Bundle {
  code: string;
  /** Source map (v3 JSON) of `code`, for mapping stack traces back to the user's files. */
  map: string;
  /** sha256 of code: the key of the V8 code cache. */
  hash: string;
  /**
   * 'modules': `code` is an ES module (run as a script when it can be: module-script.ts);
   * 'service-worker': the entry has no ES module syntax and `code` is CommonJS run as a script.
   * Modules that export nothing fall back to service-worker behaviour at load.
   */
  format: 'modules' | 'service-worker';
  /** Absolute paths of the project's files that went in (node_modules excluded), for watching. */
  inputs: string[];
  /** File name stack frames use for this bundle. */
  filename: string;
  /**
   * 'modules': how many import statements of `outpost:runtime` esbuild wrote (its metafile),
   * checked before the bundle runs as a script (module-script.ts). Absent in bundles made
   * before it was counted: those load as modules.
   */
  runtimeImports?: number;
}

/** What a build may read beyond the defaults. */
export interface BundleOptions {
  /**
   * The one folder the build reads files from, symbolic links resolved (bundle-confine.ts):
   * default the project's folder (`config.rootDir`); a monorepo's root when the project imports
   * shared packages or a hoisted node_modules from above its folder. It must hold the project.
   */
  root?: string;
}

type Output = esbuild.BuildResult<{ write: false; metafile: true }>;

/**
 * The worker of an assets-only project (no `main`): the runtime answers every request from the
 * assets (src/assets/) before a worker would run, so this one only says so if it ever does.
 */
const ASSETS_ONLY = 'outpost:assets-only';
const assetsOnlyPlugin: esbuild.Plugin = {
  name: 'outpost-assets-only',
  setup(build) {
    build.onResolve({ filter: /^outpost:assets-only$/ }, () => ({
      path: 'worker',
      namespace: 'outpost-assets-only',
    }));
    build.onLoad({ filter: /.*/, namespace: 'outpost-assets-only' }, () => ({
      contents:
        'export default { fetch() { return new Response("Not Found (assets-only project)", { status: 404 }); } };\n',
      loader: 'js',
    }));
  },
};

export async function bundleWorker(config: WorkerConfig, options: BundleOptions = {}): Promise<Bundle> {
  const nodeCompat = config.compatibilityFlags.some((f) => f === 'nodejs_compat' || f === 'nodejs_compat_v2');
  const where = buildRoot(config.rootDir, options.root, 'the build root (--build-root)');
  const tsconfig = await checkTsconfigs(where);
  if (tsconfig) throw new BundleError(tsconfig);
  let result: Output;
  try {
    result = await build(config, where, nodeCompat, 'module');
  } catch (err) {
    const errors = (err as esbuild.BuildFailure).errors;
    if (!Array.isArray(errors)) throw new BundleError(String(err));
    if (errors.some((e) => /^Top-level await is /.test(e.text)))
      return bundleTopLevelAwait(config, where, nodeCompat);
    // A classic script that strict mode refuses (`with`, octal literals): service-worker syntax.
    if (!errors.some((e) => /strict mode/.test(e.text))) throw new BundleError(formatMessages(where, errors));
    result = await build(config, where, nodeCompat, 'script').catch((e) => {
      throw new BundleError(formatMessages(where, (e as esbuild.BuildFailure).errors ?? errors));
    });
    return finish(config, result, result, 'service-worker');
  }
  // An entry without ES module syntax is a service-worker script for certain: rebuilt as one.
  if (config.main !== undefined && !entryIsModule(config, result)) {
    const script = await build(config, where, nodeCompat, 'script').catch((e) => {
      throw new BundleError(formatMessages(where, (e as esbuild.BuildFailure).errors ?? []));
    });
    return finish(config, script, script, 'service-worker');
  }
  return finish(config, result, result, 'modules');
}

/**
 * A module worker with top-level await. Awaits at a module's top level belong to no function,
 * so nothing would carry the request context through them (bundle-awaits.ts rewrites async
 * functions), and a module bundle runs as a script (module-script.ts). So the project is bundled
 * twice: first with `main` imported through `import()`, which makes its top level the body of
 * an async function (bundle-modules.ts, entryPlugin), then that output again with async
 * generators and `for await` lowered (TENANT_SUPPORTED). The second pass reads the first one's
 * inline source map, so stacks still map to the project's files.
 */
async function bundleTopLevelAwait(
  config: WorkerConfig,
  where: BuildRoot,
  nodeCompat: boolean,
): Promise<Bundle> {
  try {
    const first = await build(config, where, nodeCompat, 'top-level-await');
    const js = first.outputFiles.find((f) => f.path.endsWith('.js'));
    if (!js) throw new BundleError('esbuild produced no output');
    const second = await esbuild.build({
      ...common(config),
      stdin: {
        contents: js.text,
        sourcefile: `${config.name}.worker.js`,
        loader: 'js',
        resolveDir: config.rootDir,
      },
      format: 'esm',
      external: [RUNTIME_SPECIFIER],
      // Its one input is the first pass's output: it imports the runtime module, reads no file.
      plugins: [sealedPlugin(RUNTIME_SPECIFIER)],
      supported: TENANT_SUPPORTED,
    });
    return finish(config, second, first, 'modules');
  } catch (err) {
    if (err instanceof BundleError) throw err;
    const errors = (err as esbuild.BuildFailure).errors;
    if (!Array.isArray(errors)) throw new BundleError(String(err));
    throw new BundleError(formatMessages(where, errors));
  }
}

/** `alias`: paths (./x) resolve from the config's folder, as wrangler resolves them. */
function aliases(config: WorkerConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.build.alias).map(([k, v]) => [
      k,
      v.startsWith('.') ? resolve(config.rootDir, v) : v,
    ]),
  );
}

/** Options every build shares. */
function common(config: WorkerConfig) {
  return {
    absWorkingDir: config.rootDir,
    bundle: true,
    write: false,
    metafile: true,
    // As wrangler: the browser platform, so packages' `browser` field maps (a file swapped for
    // its browser version) apply; Node built-ins are the runtime's modules (bundle-modules.ts).
    platform: 'browser',
    target: 'es2022',
    outfile: `${config.name}.worker.js`,
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
  } as const;
}

/**
 * 'module': the entry Outpost puts in front of `main`, as an ES module; 'script': `main` as
 * CommonJS (service-worker syntax); 'top-level-await': the first pass of bundleTopLevelAwait.
 */
function build(
  config: WorkerConfig,
  where: BuildRoot,
  nodeCompat: boolean,
  kind: 'module' | 'script' | 'top-level-await',
): Promise<Output> {
  const module = kind !== 'script';
  return esbuild.build({
    ...common(config),
    entryPoints: [module ? ENTRY_POINT : (config.main ?? ASSETS_ONLY)],
    format: module ? 'esm' : 'cjs',
    sourcemap: kind === 'top-level-await' ? 'inline' : 'external',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    // Runtime-provided modules: in a module bundle, imports of `outpost:runtime`
    // (bundle-modules.ts); in a script, left to the isolate's require shim.
    external: module ? [] : ['node:*', 'cloudflare:*', ...(nodeCompat ? NODE_MODULES : [])],
    // Async functions native, rewritten after bundling to carry the request context through
    // their awaits (bundle-awaits.ts); async generators and `for await` lowered. A top-level
    // await is refused here on purpose: such a worker is bundled by bundleTopLevelAwait. Its
    // first pass lowers nothing; the second lowers the rest.
    supported:
      kind === 'top-level-await'
        ? {}
        : module
          ? { ...TENANT_SUPPORTED, 'top-level-await': false }
          : TENANT_SUPPORTED,
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
    // confinePlugin first: it sees every import before another plugin claims it.
    plugins: module
      ? [
          confinePlugin(where),
          dataModulesPlugin,
          rulesPlugin(config.rootDir, config.build.rules),
          entryPlugin(config.main ?? ASSETS_ONLY, kind === 'top-level-await'),
          runtimeModulesPlugin(nodeCompat),
          assetsOnlyPlugin,
        ]
      : [confinePlugin(where), dataModulesPlugin, rulesPlugin(config.rootDir, config.build.rules)],
    // NODE_ENV a constant, and the project's own `define`s. Nothing of the builder's environment
    // is inlined: `process.env.X` stays an expression, evaluated in the isolate.
    define: { 'process.env.NODE_ENV': '"production"', ...config.build.define },
    alias: aliases(config),
    minify: config.build.minify,
    keepNames: config.build.keepNames,
  });
}

/** Whether `main` itself has ES module syntax (esbuild's metafile says which format it parsed). */
function entryIsModule(config: WorkerConfig, result: Output): boolean {
  const key = Object.keys(result.metafile.inputs).find(
    (k) => config.rootDir + '/' + k === config.main || k === config.main,
  );
  return key !== undefined && result.metafile.inputs[key].format === 'esm';
}

/** `output`'s code and map; `inputs`' metafile (the same build, or the first pass of two). */
function finish(config: WorkerConfig, output: Output, inputs: Output, format: Bundle['format']): Bundle {
  const filename = `${config.name}.worker.js`;
  const js = output.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = output.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js || !map) throw new BundleError('esbuild produced no output');
  // Drop the sourceMappingURL comment: the host maps stacks itself.
  let rewritten: { code: string; map: string; imported: boolean };
  try {
    const sourceType = format === 'modules' ? 'module' : 'script';
    const named = cheaperKeptNames(
      js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'),
      map.text,
      sourceType,
    );
    rewritten = carryFramesThroughAwaits(named.code, named.map, sourceType);
  } catch (err) {
    throw new BundleError(`${filename}: ${(err as Error).message}`);
  }
  const code = rewritten.code;
  const written = Object.entries(output.metafile.outputs).find(([path]) => path.endsWith('.js'))?.[1];
  return {
    code,
    map: rewritten.map,
    hash: createHash('sha256').update(code).digest('hex'),
    format,
    inputs: Object.keys(inputs.metafile.inputs)
      .filter((p) => !p.includes('node_modules') && !p.includes(':'))
      .map((p) => `${config.rootDir}/${p}`),
    filename,
    ...(format === 'modules'
      ? {
          runtimeImports:
            (written?.imports ?? []).filter(
              (i) => i.path === RUNTIME_SPECIFIER && i.kind === 'import-statement',
            ).length + (rewritten.imported ? 1 : 0),
        }
      : {}),
  };
}

function formatMessages(scope: BuildRoot, messages: esbuild.Message[]): string {
  const root = scope.project;
  return messages
    .map((raw) => {
      const m = redactMessage(scope, raw);
      // esbuild reports files relative to absWorkingDir (the project root) already.
      const file = m.location
        ? m.location.file.startsWith('/')
          ? relative(root, m.location.file)
          : m.location.file
        : '';
      // A location in a module Outpost generates (`outpost-entry:entry`) tells the user nothing.
      const ours = m.location && /^outpost-[a-z]+:/.test(m.location.file);
      const where = m.location && !ours ? `${file}:${m.location.line}:${m.location.column + 1}: ` : '';
      return `${where}${m.text}`;
    })
    .join('\n');
}
