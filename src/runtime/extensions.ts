import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { cachedBuild } from './build-cache.ts';
import { replaceGeneratorHelpers } from './helper-shapes.ts';
import { NODE_MODULES } from './node-modules.ts';
import { ISOLATE_SUPPORTED } from './prelude.ts';
import { capMemories } from './wasm-cap.ts';

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
const require = createRequire(import.meta.url);
const extDir = existsSync(join(here, 'isolate', 'ext'))
  ? join(here, 'isolate', 'ext')
  : join(here, '..', '..', 'src', 'runtime', 'isolate', 'ext');

/** Bare module names extensions provide; imports of them between extensions stay external. */
const PROVIDED = new RegExp(`^(node:)?(${NODE_MODULES.join('|')})$`);

/** Extension name (what `ext` is asked for) from its file: `node-buffer.ts` → `node:buffer`. */
export function extensionName(file: string): string {
  const base = file.replace(/\.ts$/, '');
  return base.startsWith('node-') ? `node:${base.slice(5).replace(/-/g, '_')}` : base;
}

const SHIMS: Record<string, string> = {
  fs: 'module.exports = { readFileSync: () => { throw new Error("no file system in a worker"); } };',
  path: 'module.exports = { join: (...p) => p.join("/") };',
  assert: `function assert(v, m) { if (!v) throw new Error(m || 'assertion failed'); }
assert.strictEqual = (a, b, m) => { if (a !== b) throw new Error(m || a + ' !== ' + b); };
module.exports = assert;`,
};

/** Wasm binaries an extension may ask the host for, by name. */
const WASM_FILES: Record<string, string> = {
  'html-rewriter': 'html-rewriter-wasm/dist/html_rewriter_bg.wasm',
};
const wasmCache = new Map<string, ArrayBuffer>();

/**
 * An extension's wasm module bytes, read once per process with their memories capped at 32 MB
 * (lol-html streams with bounded buffers; the rest of the worker's wasm budget stays its own).
 * The isolate compiles them (~12 ms of the worker's CPU on first use).
 *
 * Not shared pre-compiled: handing isolates a module compiled on the host (isolated-vm can
 * transfer one, 0.3 ms) made the process hang at exit under load (V8's shared native module
 * outliving disposed isolates); measured, reproducible with three test processes in parallel.
 */
export function extensionWasm(name: string): ArrayBuffer | undefined {
  const file = Object.hasOwn(WASM_FILES, name) ? WASM_FILES[name] : undefined;
  if (!file) return undefined;
  let bytes = wasmCache.get(name);
  if (!bytes) {
    const capped = capMemories(readFileSync(require.resolve(file)), 32 * 16).bytes;
    bytes = capped.buffer.slice(capped.byteOffset, capped.byteOffset + capped.byteLength) as ArrayBuffer;
    wasmCache.set(name, bytes);
  }
  return bytes;
}

let cached: Promise<Map<string, string>> | null = null;
let ready: Map<string, string> | null = null;

/** The builtins esbuild's helpers capture, each provided by the prelude (isolate/modules.ts). */
const HELPER_BUILTINS = new Set([
  'Object.create',
  'Object.defineProperty',
  'Object.getOwnPropertyDescriptor',
  'Object.getOwnPropertyNames',
  'Object.getPrototypeOf',
  'Object.prototype.hasOwnProperty',
]);
/** The run of `var x=Object.defineProperty;` (or comma-joined) esbuild writes first. */
const HELPER_CAPTURES = /^("use strict";)?((?:var [\w$]+=Object\.[\w.]+(?:,[\w$]+=Object\.[\w.]+)*;)+)/;
/** esbuild's __name and __export helpers, minified: their property descriptors. */
const NAME_HELPER =
  /((?:var |,)[\w$]+=\(([\w$]+),([\w$]+)\)=>)([\w$]+\(\2,"name",\{)(value:\3,configurable:!0\}\))/g;
/**
 * __name as rewritten: a class (its prototype not writable) has its `name` deleted before it is
 * defined. Redefined in place, a class's name left it with a map V8 took for stable and was
 * not, and every optimization of its constructor, or of a subclass's, was given up and started
 * again without end (src/runtime/prelude-names.ts). Every class of a minified extension is
 * named this way (`class t{static{o(this,"Element")}…}`: HTMLRewriter's, node:crypto's…).
 */
const namedHelper = (
  _all: string,
  head: string,
  target: string,
  _value: string,
  call: string,
  rest: string,
) =>
  `${head}(outpost.intrinsics["Object.getOwnPropertyDescriptor"](${target},"prototype")?.writable===!1&&delete ${target}.name,${call}__proto__:null,${rest})`;
const EXPORT_HELPER =
  /((?:var |,)[\w$]+=\(([\w$]+),([\w$]+)\)=>\{for\(var ([\w$]+) in \3\)[\w$]+\(\2,\4,\{)(get:\3\[\4\],enumerable:!0\}\)\})/g;

/**
 * esbuild's `__async` helper, minified (its names vary): it reads `Promise`, `.then`, the
 * generator's methods and `Function.prototype.apply` from globals each time it runs, long after
 * tenant code may have replaced them. Replaced by the prelude's (isolate/async.ts).
 */
const N = '([\\w$]+)';
const ASYNC_HELPER = new RegExp(
  `${N}=\\(${N},${N},${N}\\)=>new Promise\\(\\(${N},${N}\\)=>\\{` +
    `var ${N}=${N}=>\\{try\\{${N}\\(\\4\\.next\\(\\8\\)\\)\\}catch\\(${N}\\)\\{\\6\\(\\10\\)\\}\\},` +
    `${N}=\\8=>\\{try\\{\\9\\(\\4\\.throw\\(\\8\\)\\)\\}catch\\(\\10\\)\\{\\6\\(\\10\\)\\}\\},` +
    `\\9=\\8=>\\8\\.done\\?\\5\\(\\8\\.value\\):Promise\\.resolve\\(\\8\\.value\\)\\.then\\(\\7,\\11\\);` +
    `\\9\\(\\(\\4=\\4\\.apply\\(\\2,\\3\\)\\)\\.next\\(\\)\\)\\}\\)`,
  'g',
);
/** What is left of any helper of that shape the pattern above did not match. */
const ASYNC_HELPER_LEFT = /\.done\?[\w$]+\([\w$]+\.value\):Promise\.resolve\([\w$]+\.value\)\.then\(/;

/**
 * The Web Streams polyfill keeps `Promise`, `Promise.resolve`, `Promise.prototype.then` and
 * `Promise.reject` when it loads, after tenant code (which may have replaced them, or run a
 * getter meanwhile), and calls the `then` it kept with `.call`. Its capture is rewritten to the
 * prelude's intrinsics (`outpost.promises`: the frame-carrying `then` and `resolve` of
 * context.ts), and its calls of that `then` to a call of the prelude's.
 */
const POLYFILL_CAPTURE =
  /var ([\w$]+)=Promise,([\w$]+)=Promise\.resolve\.bind\(\1\),([\w$]+)=Promise\.prototype\.then,([\w$]+)=Promise\.reject\.bind\(\1\)/;

export function polyfillPromises(code: string, file: string): string {
  const capture = code.match(POLYFILL_CAPTURE);
  if (!capture) {
    if (/Promise\.prototype\.then[,;]/.test(code))
      throw new Error(
        `a capture of Promise.prototype.then changed (in ${file}): update src/runtime/extensions.ts`,
      );
    return code;
  }
  const [all, , resolveName, thenName, rejectName] = capture;
  let out = code.replace(
    all,
    `var ${capture[1]}=Promise,${resolveName}=outpost.promises.resolve,${thenName}=null,${rejectName}=outpost.promises.reject`,
  );
  const escaped = thenName.replace(/\$/g, '\\$');
  out = out.replace(new RegExp(`(?<![\\w$.])${escaped}\\.call\\(`, 'g'), 'outpost.promises.thenOfPromise(');
  // Nothing else may read the captured `then` (it is null now).
  if (new RegExp(`(?<![\\w$.])${escaped}(?![\\w$])`).test(out.replace(`${thenName}=null`, '')))
    throw new Error(
      `the polyfill uses its Promise.prototype.then otherwise (in ${file}): update src/runtime/extensions.ts`,
    );
  return out;
}

/**
 * readable-stream (node:stream) reaches promises through its own "primordials", which call
 * `self.then(…)`, `self.catch(…)`, `Promise.resolve`/`reject` and `fn.call(…)` as they run,
 * after tenant code may have replaced them: pointed at the prelude's intrinsics instead. The
 * build fails if the package's text changes.
 */
const PRIMORDIALS: [string, string][] = [
  ['return fn.call(thisArgs, ...args)', 'return outpost.intrinsics["Reflect.apply"](fn, thisArgs, args)'],
  ['return self.catch(fn)', 'return outpost.promises.catchOf(self, fn)'],
  ['return self.then(thenFn, catchFn)', 'return outpost.promises.thenOf(self, thenFn, catchFn)'],
  ['return Promise.reject(err)', 'return outpost.promises.reject(err)'],
  ['return Promise.resolve(val)', 'return outpost.promises.resolve(val)'],
];

export function streamPrimordials(source: string): string {
  let out = source;
  for (const [from, to] of PRIMORDIALS) {
    if (!out.includes(from))
      throw new Error(`readable-stream's primordials changed (${from}): update src/runtime/extensions.ts`);
    out = out.replace(from, to);
  }
  return out;
}

/**
 * An extension is evaluated after tenant code has run, and esbuild's helpers at its top are
 * handed its own functions (`__name(sys, "sys")` passes node:crypto's syscall wrapper to
 * `Object.defineProperty`). So the helpers take the builtins the prelude captured before any
 * tenant code (`outpost.intrinsics`), and their property descriptors have no prototype (reading
 * a descriptor looks up `get`, `set`, `enumerable`… along its prototype chain, where tenant code
 * may have put getters). A bundle whose helpers read otherwise fails the build.
 */
export function isolateHelpers(code: string, file: string): string {
  const fail = (what: string) => {
    throw new Error(`esbuild's helpers changed (${what}, in ${file}): update src/runtime/extensions.ts`);
  };
  const out = code.replace(HELPER_CAPTURES, (_all, strict: string | undefined, vars: string) => {
    const rewritten = vars.replace(/=(Object\.[\w.]+)/g, (_m, path: string) => {
      if (!HELPER_BUILTINS.has(path)) fail(path);
      return `=outpost.intrinsics["${path}"]`;
    });
    return (strict ?? '') + rewritten;
  });
  if (/\bObject\.defineProperty\b/.test(out.slice(0, 400)) && !out.includes('outpost.intrinsics'))
    fail('captures');
  const named = out.replace(NAME_HELPER, namedHelper).replace(EXPORT_HELPER, '$1__proto__:null,$5');
  if (named.includes(',"name",{value:') && !named.includes(',"name",{__proto__:null,value:')) fail('__name');
  const awaited = named.replace(ASYNC_HELPER, '$1=outpost.asyncHelper');
  if (ASYNC_HELPER_LEFT.test(awaited)) fail('__async');
  return awaited;
}

/** The extension build's options that decide how esbuild writes its helpers (helper-shapes.ts). */
export const HELPER_OPTIONS: esbuild.TransformOptions = {
  target: 'es2022',
  supported: ISOLATE_SUPPORTED,
  keepNames: true,
  format: 'cjs',
  platform: 'browser',
};

/** Globals an extension's factory takes as parameters, in this order (isolate/modules.ts). */
export const EXTENSION_GLOBALS = [
  'Promise',
  'queueMicrotask',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
] as const;

async function buildOne(file: string): Promise<{ code: string; inputs: string[] }> {
  const entry = join(extDir, file);
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'cjs',
    // 'browser' applies packages' browser field maps (readable-stream swaps Node's stream out).
    platform: 'browser',
    target: 'es2022',
    supported: ISOLATE_SUPPORTED,
    minify: true,
    keepNames: true,
    mainFields: ['browser', 'module', 'main'],
    conditions: ['worker', 'browser'],
    logLevel: 'silent',
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis', __dirname: '"/"' },
    plugins: [
      {
        name: 'outpost-ext-externals',
        setup(build) {
          // html-rewriter-wasm is written for Node: it reads its .wasm with fs and uses assert.
          // Its wasm bytes come from the host instead (the wasmBytes syscall); small shims stand
          // in for the rest, rather than loading node:fs and node:assert into every isolate
          // that rewrites HTML.
          build.onResolve({ filter: /^(fs|path|assert)$/ }, (args) =>
            args.importer.includes('html-rewriter-wasm')
              ? { path: args.path, namespace: 'outpost-shim' }
              : undefined,
          );
          build.onResolve({ filter: PROVIDED }, (args) => {
            // The extension that provides a module bundles the package itself.
            if (args.importer === entry && extensionName(file) === `node:${args.path}`) return undefined;
            return { path: `node:${args.path.replace(/^node:/, '')}`, external: true };
          });
          build.onLoad({ filter: /.*/, namespace: 'outpost-shim' }, (args) => ({
            contents: SHIMS[args.path],
            loader: 'js',
          }));
          build.onLoad({ filter: /readable-stream[\\/]lib[\\/]ours[\\/]primordials\.js$/ }, async (args) => ({
            contents: streamPrimordials(await readFile(args.path, 'utf8')),
            loader: 'js',
            resolveDir: dirname(args.path),
          }));
          build.onLoad({ filter: /html-rewriter-wasm[\\/]dist[\\/]html_rewriter\.js$/ }, async (args) => ({
            // Its requires are written as String.raw templates, which esbuild cannot follow.
            // Its module's bytes come from the host (see extensionWasm) instead of the disk.
            contents: (await readFile(args.path, 'utf8'))
              .replace(/require\(String\.raw`([^`]+)`\)/g, 'require("$1")')
              .replace(/const bytes = require\('fs'\)\.readFileSync\(path\);/, '')
              .replace(
                /new WebAssembly\.Module\(bytes\)/,
                'new WebAssembly.Module(outpost.sys("wasmBytes", "html-rewriter"))',
              ),
            loader: 'js',
            resolveDir: dirname(args.path),
          }));
        },
      },
    ],
  });
  const code = replaceGeneratorHelpers(
    polyfillPromises(isolateHelpers(result.outputFiles[0].text, file), file),
    file,
    HELPER_OPTIONS,
  );
  return {
    // Strict from the factory's first statement: a sloppy factory's `arguments` (the prelude's
    // capability object) would be readable by tenant code that finds the function on the stack
    // while the extension loads (CallSite.getFunction, `.caller`). Its sourceURL names it in
    // stack traces instead of "eval at loadExtension".
    // Free uses of Promise and the timers are the prelude's (isolate/modules.ts passes them):
    // an extension runs after tenant code, which may have replaced the globals.
    code: `(function(outpost,require,${EXTENSION_GLOBALS.join(',')}){"use strict";var module={exports:{}},exports=module.exports;${code}\nreturn module.exports;})\n//# sourceURL=outpost:ext/${extensionName(file)}.js`,
    inputs: Object.keys(result.metafile.inputs)
      .filter((rel) => !rel.includes(':'))
      .map((rel) => resolve(rel)),
  };
}

/** Build every extension once per process. */
export function extensionSources(): Promise<Map<string, string>> {
  cached ??= (async () => {
    const files = readdirSync(extDir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'),
    );
    // Built once per machine (build-cache.ts): all of them are one entry.
    const built = await cachedBuild('extensions', async () => {
      const all = await Promise.all(files.map(async (f) => [extensionName(f), await buildOne(f)] as const));
      return {
        value: all.map(([name, b]) => [name, b.code] as [string, string]),
        inputs: [...all.flatMap(([, b]) => b.inputs), extDir, fileURLToPath(import.meta.url)],
      };
    });
    ready = new Map(built);
    return ready;
  })();
  return cached;
}

/** Synchronous lookup for the `ext` syscall (sources are built before any isolate exists). */
export function extensionSource(name: string): string | undefined {
  return ready?.get(name);
}
