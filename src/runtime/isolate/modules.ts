/**
 * Runtime-provided modules and lazily loaded globals.
 *
 * A module bundle reaches `requireModule` through its `outpost:runtime` import, one
 * `require(id)` per runtime module it uses (src/runtime/bundle-modules.ts); a service-worker
 * script, CommonJS, gets it as its `require`. `cloudflare:workers` is part of the prelude;
 * everything else is an extension (src/runtime/extensions.ts) evaluated on first use.
 *
 * Node modules follow Workers' rule (https://developers.cloudflare.com/workers/runtime-apis/nodejs/):
 * available only with the `nodejs_compat` compatibility flag, by `node:x` or bare `x`.
 */

import { NODE_MODULES } from '../node-modules.ts';
import { __async, rejectedIntrinsic, thenAnyInFrame } from './async.ts';
import { Await, asyncGenerator, forAwait, yieldStar } from './async-generators.ts';
import { callSync } from './bridge.ts';
import { format } from './console.ts';
import {
  bind,
  catchInFrame,
  currentFrame,
  enter,
  replace,
  resolveInFrame,
  thenInFrame,
  withStores,
} from './context.ts';
import { ExtensionsRef } from './encoding.ts';
import { clearInterval, clearTimeout, queueMicrotask, setInterval, setTimeout } from './timers.ts';

const NODE = new Set<string>(NODE_MODULES);

// Captured before tenant code runs: evaluation of extensions must not depend on globals the
// tenant can replace.
// biome-ignore lint/security/noGlobalEval: extensions are Outpost's own code, evaluated inside the isolate
const indirectEval = globalThis.eval;
// Records without a prototype rather than Maps: tenant code can replace Map.prototype.get, and
// would then hand the prelude its own module (its ReadableStream for every body).
const loaded: Record<string, unknown> = Object.create(null);
const builtins: Record<string, () => unknown> = Object.create(null);
let nodeCompat = false;
/** What each compatibility date or flag turns on (https://developers.cloudflare.com/workers/configuration/compatibility-flags/). */
const features = { processEnv: false, fs: false, http: false, httpServer: false };
let processEnv: Record<string, string> = {};

/** A feature on from `date` (YYYY-MM-DD) or by its flag, off by its opposite flag. */
function gate(
  flags: readonly string[],
  date: string | null,
  since: string,
  on: string,
  off: string,
): boolean {
  if (flags.includes(off)) return false;
  return flags.includes(on) || (date !== null && date >= since);
}

export function setCompatibilityFlags(
  flags: readonly string[],
  date: string | null = null,
  vars: Record<string, unknown> = {},
): void {
  nodeCompat = flags.includes('nodejs_compat') || flags.includes('nodejs_compat_v2');
  features.processEnv =
    nodeCompat &&
    gate(
      flags,
      date,
      '2025-04-01',
      'nodejs_compat_populate_process_env',
      'nodejs_compat_do_not_populate_process_env',
    );
  features.fs =
    nodeCompat && gate(flags, date, '2025-09-01', 'enable_nodejs_fs_module', 'disable_nodejs_fs_module');
  features.http =
    nodeCompat &&
    gate(flags, date, '2025-08-15', 'enable_nodejs_http_modules', 'disable_nodejs_http_modules');
  features.httpServer =
    features.http &&
    gate(
      flags,
      date,
      '2025-09-01',
      'enable_nodejs_http_server_modules',
      'disable_nodejs_http_server_modules',
    );
  // Text vars and secrets, as workerd fills process.env; JSON vars are not strings and stay out.
  processEnv = {};
  if (features.processEnv)
    for (const [k, v] of Object.entries(vars)) if (typeof v === 'string') processEnv[k] = v;
  if (nodeCompat) {
    // Globals workerd defines under nodejs_compat (evaluated on first read).
    lazyGlobal(globalThis, 'process', () => loadExtension('node:process').default);
    lazyGlobal(globalThis, 'Buffer', () => loadExtension('node:buffer').Buffer);
  }
}

/** What a module gated by a compatibility date needs, or why it is off. */
function requireFeature(bare: string): void {
  const need: Record<string, [keyof typeof features, string, string]> = {
    fs: ['fs', '2025-09-01', 'enable_nodejs_fs_module'],
    http: ['http', '2025-08-15', 'enable_nodejs_http_modules'],
    https: ['http', '2025-08-15', 'enable_nodejs_http_modules'],
  };
  const gateOf = need[bare];
  if (gateOf && !features[gateOf[0]])
    throw new Error(
      `No such module "node:${bare}". With nodejs_compat it needs compatibility_date = "${gateOf[1]}" or later, or the "${gateOf[2]}" compatibility flag.`,
    );
}

/** Subpath modules (`node:fs/promises`): a property of their module. */
const SUBPATHS: Record<string, [string, string]> = {
  'fs/promises': ['fs', 'promises'],
  'path/posix': ['path', 'posix'],
  'assert/strict': ['assert', 'strict'],
  'stream/promises': ['stream', 'promises'],
  'stream/web': ['stream', 'web'],
  'util/types': ['util', 'types'],
};

/**
 * The builtins esbuild's helpers at the top of each extension capture (`var __defProp =
 * Object.defineProperty`, …), as they were before tenant code ran: an extension is evaluated
 * later, and its helpers are handed its own functions (`__name(sys, "sys")`), so a tenant's
 * replacement would receive them. extensions.ts rewrites the helpers to take these.
 */
const intrinsics = Object.freeze({
  __proto__: null,
  'Object.create': Object.create,
  'Object.defineProperty': Object.defineProperty,
  'Object.getOwnPropertyDescriptor': Object.getOwnPropertyDescriptor,
  'Object.getOwnPropertyNames': Object.getOwnPropertyNames,
  'Object.getPrototypeOf': Object.getPrototypeOf,
  'Object.prototype.hasOwnProperty': Object.prototype.hasOwnProperty,
  'Reflect.apply': Reflect.apply,
});

const capability = Object.freeze({
  intrinsics,
  /** The async-function helper every extension's lowered async functions run on (extensions.ts). */
  asyncHelper: __async,
  /** `then` and `catch` of any promise through intrinsics, in the current frame (context.ts). Not named `then`: this is no thenable. */
  promises: Object.freeze({
    thenOf: thenAnyInFrame,
    catchOf: catchInFrame,
    // What the Web Streams polyfill captures when it loads (extensions.ts rewrites its capture).
    thenOfPromise: thenInFrame,
    resolve: resolveInFrame,
    reject: rejectedIntrinsic,
  }),
  /** esbuild's async-generator helpers on intrinsics (src/runtime/helper-shapes.ts points extensions at them). */
  asyncGenerators: Object.freeze({ Await, generator: asyncGenerator, yieldStar, forAwait }),
  sys: callSync,
  format,
  context: Object.freeze({ currentFrame, withStores, enter, bind, replace }),
  /** process.env's contents: a fresh copy (text vars and secrets, when the date allows). */
  processEnv: () => ({ ...processEnv }),
  /** process.getBuiltinModule(): a runtime module, or undefined when there is none. */
  builtinModule: (id: string) => {
    try {
      return requireModule(id);
    } catch {
      return undefined;
    }
  },
  /** Whether the http server half (cloudflare:node) is on. */
  httpServer: () => features.httpServer,
  /** cloudflare:sockets' connect(), for node:net and node:tls. */
  connect: (address: unknown, options: unknown) =>
    (requireModule('cloudflare:sockets') as { connect(a: unknown, o: unknown): unknown }).connect(
      address,
      options,
    ),
});

/** Register a module the prelude itself implements (e.g. cloudflare:workers). */
export function registerBuiltin(name: string, factory: () => unknown): void {
  builtins[name] = factory;
}

/** Evaluate an extension once per isolate and return its exports. */
export function loadExtension(name: string): any {
  const hit = loaded[name];
  if (hit !== undefined) return hit;
  const source = callSync('ext', name);
  if (typeof source !== 'string') throw new Error(`No such module "${name}".`);
  // The host does not charge the CPU of this load to the worker (see syscalls.ts, extBegin).
  callSync('extBegin', name);
  try {
    const factory = indirectEval(source) as (
      outpost: unknown,
      require: unknown,
      ...globals: unknown[]
    ) => unknown;
    // Its parameters after `require`: src/runtime/extensions.ts, EXTENSION_GLOBALS.
    const exports = factory(
      capability,
      internalRequire,
      Promise,
      queueMicrotask,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
    );
    loaded[name] = exports;
    return exports;
  } finally {
    callSync('extEnd');
  }
}
ExtensionsRef.load = loadExtension;

/** Extensions require each other by `node:x`, whatever the tenant's flags. */
function internalRequire(id: string): unknown {
  return loadExtension(id.startsWith('node:') ? id : `node:${id}`);
}

/** The `require` handed to the tenant bundle. */
export function requireModule(id: string): unknown {
  const builtin = builtins[id];
  if (builtin) {
    if (!(id in loaded)) loaded[id] = builtin();
    return loaded[id];
  }
  const bare = id.startsWith('node:') ? id.slice(5) : id;
  if (id.startsWith('node:') || NODE.has(bare) || Object.hasOwn(SUBPATHS, bare)) {
    if (!nodeCompat)
      throw new Error(
        `No such module "${id}". Node.js modules need compatibility_flags = ["nodejs_compat"] in the wrangler config.`,
      );
    if (Object.hasOwn(SUBPATHS, bare)) {
      const [base, prop] = SUBPATHS[bare];
      requireFeature(base);
      const sub = (loadExtension(`node:${base}`) as Record<string, unknown>)[prop];
      if (sub === undefined) throw new Error(`No such module "${id}".`);
      return sub;
    }
    requireFeature(bare);
    if (!NODE.has(bare))
      throw new Error(
        `No such module "${id}". Outpost's nodejs_compat provides ${NODE_MODULES.map((m) => `node:${m}`).join(', ')}.`,
      );
    return loadExtension(`node:${bare}`);
  }
  throw new Error(`No such module "${id}".`);
}

/** A global that evaluates its extension the first time it is read. */
export function lazyGlobal(g: any, name: string, resolve: () => unknown): void {
  Object.defineProperty(g, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = resolve();
      Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
      return value;
    },
    set(value) {
      Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
    },
  });
}

// `cloudflare:node`: node:http servers as fetch handlers (ext/node-http.ts).
registerBuiltin('cloudflare:node', () => {
  if (!nodeCompat)
    throw new Error('No such module "cloudflare:node". It needs compatibility_flags = ["nodejs_compat"].');
  const http = loadExtension('node:http');
  return Object.freeze({
    httpServerHandler: http.httpServerHandler,
    handleAsNodeRequest: http.handleAsNodeRequest,
  });
});
