/**
 * Loading a version's bundle into a pooled isolate (the cold start): compile it with the V8
 * code cache, run its top level under the startup limit, and let the prelude find its handlers.
 *
 * Module workers are ES modules (src/runtime/bundle-modules.ts) whose only import is the
 * isolate's `outpost:runtime` module. They run as a script, a function of that module's
 * namespace, so that the code cache works for them (module-script.ts); one that cannot is
 * compiled with compileModule, linked and evaluated. Their entry hands the exports to the
 * prelude, which reports the outcome as an entry call's outcome (IsolateCalls.expect): at once,
 * or once a top-level await has settled.
 *
 * The startup limit (limits.startupMs, wall clock) is enforced twice. isolated-vm's `timeout`
 * covers the evaluation and the microtasks that run before it returns (measured: a loop after
 * `await 0` is stopped), but not code that runs in a later task, after the top level awaited a
 * timer or the host (a syscall's promise); a host timer covers the whole load, and disposes the
 * isolate when the top level has not finished in time.
 *
 * Service-worker scripts are CommonJS run inside a function, as before: one extra line
 * (src/runtime/sourcemap.ts knows), its exports read back through `module`.
 */
import ivm from 'isolated-vm';
import type { ObjectLoad } from '../durable-objects/index.ts';
import { describeBindings } from './bindings/index.ts';
import { RUNTIME_SPECIFIER } from './bundle-modules.ts';
import { type CodeCache, type CompileOptions, cacheKey, type Turn } from './code-cache.ts';
import { cpuTimeOf } from './cpu-meter.ts';
import { moduleAsScript } from './module-script.ts';
import type { PooledIsolate } from './pool.ts';
import { preludePartSource } from './prelude.ts';
import { PART_OF_BINDING, type PartName } from './prelude-parts.ts';
import type { WorkerVersion } from './types.ts';

/** Each version's bindings as the isolate sees them: made once, read by every load of it. */
const described = new WeakMap<WorkerVersion, ReturnType<typeof describeBindings>>();
function describedBindings(version: WorkerVersion) {
  let d = described.get(version);
  if (d === undefined) described.set(version, (d = describeBindings(version.bindings)));
  return d;
}

/** What the prelude's load needs besides `env` (src/runtime/isolate/dispatch.ts, LoadOptions). */
function loadOptions(version: WorkerVersion, durableObject?: ObjectLoad) {
  return {
    compatibilityFlags: version.compatibilityFlags,
    compatibilityDate: version.compatibilityDate ?? null,
    bindings: describedBindings(version),
    ...(durableObject ? { durableObject } : {}),
  };
}

/**
 * Load `version` into `iso`. What it returns, when not null, is this isolate's turn to make the
 * bundle's code cache (code-cache.ts), once it has served its first invocation, or at once for
 * an `eager` load (a deploy's, before any request).
 */
export async function loadBundle(
  iso: PooledIsolate,
  version: WorkerVersion,
  codeCache: CodeCache,
  durableObject?: ObjectLoad,
  eager = false,
): Promise<Turn | null> {
  const turns = loadParts(iso, version, durableObject, codeCache);
  try {
    const turn =
      version.bundle.format === 'modules'
        ? await loadModule(iso, version, codeCache, durableObject, eager)
        : await loadScript(iso, version, codeCache, durableObject, eager);
    if (turn) turns.push(turn);
  } catch (err) {
    for (const t of turns) t.giveBack();
    throw err;
  }
  return allOf(turns);
}

/** One turn standing for several (the bundle's and its parts'). */
function allOf(turns: Turn[]): Turn | null {
  if (turns.length <= 1) return turns[0] ?? null;
  return {
    make: (credit, ran) => {
      for (const t of turns) t.make(credit, ran);
    },
    giveBack: () => {
      for (const t of turns) t.giveBack();
    },
  };
}

const partKeys = new Map<string, string>();

/**
 * Compile and run in `iso` the parts of the prelude this load needs (prelude-parts.ts), before
 * any of the worker's code: from V8's code cache, made like a bundle's (an evaluation from
 * source inside the isolate, its fallback, cannot use one: ~0.5 ms for the Durable Objects
 * part, against ~0.2). Their turns to make that cache are returned.
 */
function loadParts(
  iso: PooledIsolate,
  version: WorkerVersion,
  durableObject: ObjectLoad | undefined,
  codeCache: CodeCache,
): Turn[] {
  const names = new Set<PartName>();
  if (durableObject) names.add('durable');
  for (const b of Object.values(describedBindings(version))) {
    const name = PART_OF_BINDING[b.type];
    if (name) names.add(name);
  }
  const turns: Turn[] = [];
  try {
    for (const name of names) {
      const source = preludePartSource(`part:${name}`);
      if (source === undefined) throw new Error(`no prelude part "${name}" (the prelude is not built)`);
      const options: CompileOptions = { filename: `outpost:part/${name}.js` };
      let key = partKeys.get(source);
      if (key === undefined) partKeys.set(source, (key = cacheKey(source, options)));
      const { script, turn } = codeCache.compile(iso.isolate, source, key, options);
      if (turn) turns.push(turn);
      try {
        const factory = script.runSync(iso.context, { reference: true }) as ivm.Reference;
        iso.api.installPart.applySync(undefined, [name, factory.derefInto()]);
        factory.release();
      } finally {
        script.release();
      }
    }
  } catch (err) {
    for (const t of turns) t.giveBack();
    throw err;
  }
  return turns;
}

/** Each bundle's cache key, computed once from what is compiled (code-cache.ts). */
const keys = new WeakMap<WorkerVersion['bundle'], string>();

function compile(
  iso: PooledIsolate,
  codeCache: CodeCache,
  bundle: WorkerVersion['bundle'],
  source: string,
  options: CompileOptions,
  eager: boolean,
) {
  let key = keys.get(bundle);
  if (key === undefined) keys.set(bundle, (key = cacheKey(source, options)));
  return codeCache.compile(iso.isolate, source, key, options, eager);
}

/** Run `load`; if it fails, this isolate will not make the cache: the turn goes back. */
async function giveBackOnFailure(turn: Turn | null, load: () => Promise<void>): Promise<Turn | null> {
  try {
    await load();
  } catch (err) {
    turn?.giveBack();
    throw err;
  }
  return turn;
}

/** Each module bundle as a script (module-script.ts), or null when it cannot be one. */
const scripts = new WeakMap<WorkerVersion['bundle'], string | null>();

async function loadModule(
  iso: PooledIsolate,
  version: WorkerVersion,
  codeCache: CodeCache,
  durableObject: ObjectLoad | undefined,
  eager: boolean,
): Promise<Turn | null> {
  const { bundle } = version;
  let source = scripts.get(bundle);
  if (source === undefined)
    scripts.set(bundle, (source = moduleAsScript(bundle.code, bundle.runtimeImports)));
  if (source === null) {
    await loadModuleAsModule(iso, version, durableObject);
    return null;
  }
  let compiled: ReturnType<CodeCache['compile']>;
  try {
    compiled = compile(iso, codeCache, bundle, source, { filename: bundle.filename, lineOffset: -1 }, eager);
  } catch (err) {
    // Not a script after all (see module-script.ts): from now on, as a module. Any other
    // failure (the isolate went) is the load's.
    if ((err as Error)?.name !== 'SyntaxError') throw err;
    scripts.set(bundle, null);
    await loadModuleAsModule(iso, version, durableObject);
    return null;
  }
  return giveBackOnFailure(compiled.turn, () =>
    loadModuleAsScript(iso, version, compiled.script, durableObject),
  );
}

/** Hand the prelude what a load needs (beginModule), then run the top level under the startup limit. */
async function evaluateModule(
  iso: PooledIsolate,
  version: WorkerVersion,
  durableObject: ObjectLoad | undefined,
  evaluate: (timeout: number) => Promise<unknown>,
): Promise<void> {
  const { limits } = version;
  const { id, outcome } = iso.calls.expect();
  outcome.catch(() => {}); // awaited below unless the evaluation fails first
  iso.api.beginModule.applySync(
    undefined,
    [id, version.vars, version.bundle.format, loadOptions(version, durableObject)],
    {
      arguments: { copy: true },
    },
  );
  const deadline = startupDeadline(iso, limits.startupMs);
  try {
    await evaluate(limits.startupMs);
    await Promise.race([outcome, deadline.passed]);
  } catch (err) {
    throw deadline.error ?? asError(err);
  } finally {
    deadline.clear();
  }
}

/** A module bundle run as a function of the runtime module's namespace. */
async function loadModuleAsScript(
  iso: PooledIsolate,
  version: WorkerVersion,
  script: ivm.Script,
  durableObject: ObjectLoad | undefined,
): Promise<void> {
  // Running the script only makes the function: no tenant code runs until it is applied.
  let fn: ivm.Reference;
  try {
    fn = script.runSync(iso.context, { reference: true }) as ivm.Reference;
  } finally {
    script.release();
  }
  try {
    await evaluateModule(iso, version, durableObject, (timeout) =>
      fn.apply(undefined, [iso.runtime.namespace.derefInto()], { timeout }),
    );
  } finally {
    fn.release();
  }
}

async function loadModuleAsModule(
  iso: PooledIsolate,
  version: WorkerVersion,
  durableObject?: ObjectLoad,
): Promise<void> {
  const { bundle } = version;
  // Compiling, linking and beginModule run no tenant code in an idle isolate: synchronous, no
  // thread hops. The top level runs in evaluate(), on the isolate's thread. No code cache:
  // isolated-vm 5.0.4 would not use it for a module (module-script.ts).
  const module = iso.isolate.compileModuleSync(bundle.code, { filename: bundle.filename });
  try {
    module.instantiateSync(iso.context, (specifier) => {
      if (specifier === RUNTIME_SPECIFIER) return iso.runtime;
      throw new Error(`No such module "${specifier}".`);
    });
    await evaluateModule(iso, version, durableObject, (timeout) => module.evaluate({ timeout }));
  } finally {
    module.release();
  }
}

/** The prelude reports a failed load as `{ name, message, stack }`. */
function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  const v = value as { message?: unknown; stack?: unknown } | null;
  const e = new Error(String(v?.message ?? value));
  if (typeof v?.stack === 'string') e.stack = v.stack;
  return e;
}

/**
 * The wall-clock startup limit over the whole load, for code isolated-vm's timeout does not
 * cover (see the header). When it passes, the isolate is disposed, which stops anything running.
 */
function startupDeadline(iso: PooledIsolate, ms: number) {
  const cpuStart = cpuTimeOf(iso.isolate) ?? 0n;
  let error: Error | null = null;
  let timer: NodeJS.Timeout | undefined;
  const passed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cpuNow = cpuTimeOf(iso.isolate);
      if (cpuNow === undefined) return;
      const cpuMs = Number(cpuNow - cpuStart) / 1e6;
      error = new Error(
        cpuMs >= ms / 2
          ? `the script's top level ran longer than ${ms} ms`
          : `the script's top level did not finish within ${ms} ms (a top-level await that never settled?)`,
      );
      error.stack = error.message;
      iso.isolate.dispose();
      reject(error);
    }, ms);
  });
  passed.catch(() => {});
  return {
    passed,
    get error() {
      return error;
    },
    clear: () => clearTimeout(timer),
  };
}

async function loadScript(
  iso: PooledIsolate,
  version: WorkerVersion,
  codeCache: CodeCache,
  durableObject: ObjectLoad | undefined,
  eager: boolean,
): Promise<Turn | null> {
  const { bundle, limits } = version;
  // The bundle runs inside a function: its exports come back through `module`. Compiling it
  // and evaluating the wrapper run no tenant code, so they are done synchronously (no thread
  // hops); the tenant's top level runs in load(), asynchronously, under the startup limit.
  // `__outpostFrames`: what its async functions call first (bundle-awaits.ts).
  const code = `(function (module, exports, require, __outpostFrames) {\n${bundle.code}\n})`;
  const { script, turn } = compile(iso, codeCache, bundle, code, { filename: bundle.filename }, eager);
  return giveBackOnFailure(turn, async () => {
    const factory = script.runSync(iso.context, {
      reference: true,
      timeout: limits.startupMs,
    }) as ivm.Reference;
    script.release();
    // A service-worker script's top level runs synchronously: the timeout covers all of it.
    await iso.api.load.apply(
      undefined,
      [
        factory.derefInto({ release: true }),
        new ivm.ExternalCopy(version.vars).copyInto({ release: true }),
        bundle.format,
        new ivm.ExternalCopy(loadOptions(version, durableObject)).copyInto({ release: true }),
      ],
      {
        timeout: limits.startupMs,
        result: { copy: true },
      },
    );
  });
}
