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
import { callSync } from './bridge.ts';
import { format } from './console.ts';
import { bind, currentFrame, enter, replace, withStores } from './context.ts';

const NODE = new Set<string>(NODE_MODULES);

// Captured before tenant code runs: evaluation of extensions must not depend on globals the
// tenant can replace.
// biome-ignore lint/security/noGlobalEval: extensions are Outpost's own code, evaluated inside the isolate
const indirectEval = globalThis.eval;
const capability = Object.freeze({
  sys: callSync,
  format,
  context: Object.freeze({ currentFrame, withStores, enter, bind, replace }),
});

const loaded = new Map<string, unknown>();
const builtins = new Map<string, () => unknown>();
let nodeCompat = false;

export function setCompatibilityFlags(flags: readonly string[]): void {
  nodeCompat = flags.includes('nodejs_compat') || flags.includes('nodejs_compat_v2');
}

/** Register a module the prelude itself implements (e.g. cloudflare:workers). */
export function registerBuiltin(name: string, factory: () => unknown): void {
  builtins.set(name, factory);
}

/** Evaluate an extension once per isolate and return its exports. */
export function loadExtension(name: string): any {
  const hit = loaded.get(name);
  if (hit !== undefined) return hit;
  const source = callSync('ext', name);
  if (typeof source !== 'string') throw new Error(`No such module "${name}".`);
  // The host does not charge the CPU of this load to the worker (see syscalls.ts, extBegin).
  callSync('extBegin', name);
  try {
    const factory = indirectEval(source) as (outpost: unknown, require: (id: string) => unknown) => unknown;
    const exports = factory(capability, internalRequire);
    loaded.set(name, exports);
    return exports;
  } finally {
    callSync('extEnd');
  }
}

/** Extensions require each other by `node:x`, whatever the tenant's flags. */
function internalRequire(id: string): unknown {
  return loadExtension(id.startsWith('node:') ? id : `node:${id}`);
}

/** The `require` handed to the tenant bundle. */
export function requireModule(id: string): unknown {
  const builtin = builtins.get(id);
  if (builtin) {
    if (!loaded.has(id)) loaded.set(id, builtin());
    return loaded.get(id);
  }
  const bare = id.startsWith('node:') ? id.slice(5) : id;
  if (id.startsWith('node:') || NODE.has(bare)) {
    if (!nodeCompat)
      throw new Error(
        `No such module "${id}". Node.js modules need compatibility_flags = ["nodejs_compat"] in the wrangler config.`,
      );
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
