/**
 * Loading a version's bundle into a pooled isolate (the cold start): compile it with the V8
 * code cache, run its top level under the startup limit, and let the prelude find its handlers.
 *
 * Module workers are ES modules (src/runtime/bundle-modules.ts): compiled with compileModule,
 * linked to the isolate's `outpost:runtime` module, evaluated. Their entry hands the exports to
 * the prelude, which reports the outcome as an entry call's outcome (IsolateCalls.expect): at
 * once, or once a top-level await has settled.
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
import type { PooledIsolate } from './pool.ts';
import type { WorkerVersion } from './types.ts';

/** V8 code cache for tenant bundles, keyed by bundle hash. */
export interface CodeCache {
  entries: Map<string, ivm.ExternalCopy<ArrayBuffer>>;
  hits: number;
}

/** What the prelude's load needs besides `env` (src/runtime/isolate/dispatch.ts, LoadOptions). */
function loadOptions(version: WorkerVersion, durableObject?: ObjectLoad) {
  return {
    compatibilityFlags: version.compatibilityFlags,
    compatibilityDate: version.compatibilityDate ?? null,
    bindings: describeBindings(version.bindings),
    ...(durableObject ? { durableObject } : {}),
  };
}

interface Compiled {
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
  cachedDataRejected?: boolean;
}

/** Compile with the code cache of `hash` (one compile per version, not per tenant). */
function withCodeCache<T>(
  codeCache: CodeCache,
  hash: string,
  compile: (cached?: ivm.ExternalCopy<ArrayBuffer>) => T,
): T {
  const cached = codeCache.entries.get(hash);
  const result = compile(cached);
  const compiled = result as unknown as Compiled;
  if (!cached && compiled.cachedData) codeCache.entries.set(hash, compiled.cachedData);
  if (cached && compiled.cachedDataRejected !== true) codeCache.hits++;
  else if (cached) codeCache.entries.delete(hash); // V8 refused it (flags changed): make a new one
  return result;
}

export async function loadBundle(
  iso: PooledIsolate,
  version: WorkerVersion,
  codeCache: CodeCache,
  durableObject?: ObjectLoad,
): Promise<void> {
  if (version.bundle.format === 'modules') return loadModule(iso, version, codeCache, durableObject);
  return loadScript(iso, version, codeCache, durableObject);
}

async function loadModule(
  iso: PooledIsolate,
  version: WorkerVersion,
  codeCache: CodeCache,
  durableObject?: ObjectLoad,
): Promise<void> {
  const { bundle, limits } = version;
  // Compiling, linking and beginModule run no tenant code in an idle isolate: synchronous, no
  // thread hops. The top level runs in evaluate(), on the isolate's thread.
  const module = withCodeCache(codeCache, bundle.hash, (cachedData) =>
    iso.isolate.compileModuleSync(bundle.code, {
      filename: bundle.filename,
      cachedData,
      produceCachedData: !cachedData,
    }),
  );
  try {
    module.instantiateSync(iso.context, (specifier) => {
      if (specifier === RUNTIME_SPECIFIER) return iso.runtime;
      throw new Error(`No such module "${specifier}".`);
    });
    const { id, outcome } = iso.calls.expect();
    outcome.catch(() => {}); // awaited below unless the evaluation fails first
    iso.api.beginModule.applySync(
      undefined,
      [id, version.vars, bundle.format, loadOptions(version, durableObject)],
      {
        arguments: { copy: true },
      },
    );
    const deadline = startupDeadline(iso, limits.startupMs);
    try {
      await module.evaluate({ timeout: limits.startupMs });
      await Promise.race([outcome, deadline.passed]);
    } catch (err) {
      throw deadline.error ?? asError(err);
    } finally {
      deadline.clear();
    }
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
  const cpuStart = iso.isolate.cpuTime;
  let error: Error | null = null;
  let timer: NodeJS.Timeout | undefined;
  const passed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (iso.isolate.isDisposed) return;
      const cpuMs = Number(iso.isolate.cpuTime - cpuStart) / 1e6;
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
  durableObject?: ObjectLoad,
): Promise<void> {
  const { bundle, limits } = version;
  // The bundle runs inside a function: its exports come back through `module`. Compiling it
  // and evaluating the wrapper run no tenant code, so they are done synchronously (no thread
  // hops); the tenant's top level runs in load(), asynchronously, under the startup limit.
  const code = `(function (module, exports, require) {\n${bundle.code}\n})`;
  const script = withCodeCache(codeCache, bundle.hash, (cachedData) =>
    iso.isolate.compileScriptSync(code, {
      filename: bundle.filename,
      cachedData,
      produceCachedData: !cachedData,
    }),
  );
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
}
