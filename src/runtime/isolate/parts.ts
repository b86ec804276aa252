/**
 * Parts of the prelude (src/runtime/prelude-parts.ts): the code of bindings most workers do not
 * have, which an isolate gets only when its worker has one of them or it holds a Durable Object.
 * They load while the worker loads, before any of its code runs (dispatch.ts, beginLoad): the
 * host compiles and runs each with V8's code cache and hands it over (`installPart`,
 * src/runtime/load.ts), or, failing that, it is evaluated here from its source (`part`). A part
 * asked for once the worker's code has run is refused.
 *
 * A part loads after the prelude installed its guards (the clock, the codegen guard on `eval`
 * and `Function`, the array and Proxy guards): what it reads from globals as it loads is what
 * the prelude's own code reads as it runs, not the intrinsics the prelude's modules captured
 * when they loaded. So a part must not capture `eval` or `Function` at its top level (the guard
 * refuses them once the worker has started); what it needs captured comes from the prelude's
 * modules, which are handed to its factory (`partModules()`, only the names the parts use) and
 * stay, with `registerPart`, in this module's closure.
 */
import { partModules } from 'outpost:part-modules';
import type * as Analytics from './bindings/analytics.ts';
import type * as D1 from './bindings/d1.ts';
import type * as Queue from './bindings/queue.ts';
import type * as R2 from './bindings/r2.ts';
import type * as Workflow from './bindings/workflow.ts';
import { callSync } from './bridge.ts';
import type * as Durable from './durable.ts';
import type * as WorkflowRun from './workflows/run.ts';

/** What each part registers (its entry: ./parts/<name>.ts). */
export interface Parts {
  durable: Pick<typeof Durable, 'commitWrites' | 'DurableObjectNamespace' | 'makeObject'>;
  r2: Pick<typeof R2, 'R2Bucket'>;
  d1: Pick<typeof D1, 'D1Database'>;
  analytics: Pick<typeof Analytics, 'AnalyticsEngineDataset'>;
  workflow: Pick<typeof Workflow, 'Workflow'> & Pick<typeof WorkflowRun, 'runWorkflow'>;
  queue: Pick<typeof Queue, 'Queue'>;
}
export type PartName = keyof Parts;

// biome-ignore lint/security/noGlobalEval: parts are Outpost's own code, evaluated inside the isolate
const indirectEval = globalThis.eval;
const parts: Partial<Parts> = Object.create(null);
let open = true;
let loading: PartName | null = null;
/** What parts read from the prelude's modules: made when the first part loads. */
let modules: unknown = null;

/** Called by a part as it is evaluated. */
export function registerPart<K extends PartName>(name: K, exports: Parts[K]): void {
  if (loading !== name) throw new Error(`the prelude part "${name}" registered out of turn`);
  parts[name] = exports;
}

/** Run a part's factory: it registers its exports. */
function run<K extends PartName>(name: K, factory: (modules: unknown) => void): Parts[K] {
  loading = name;
  try {
    modules ??= partModules();
    factory(modules);
  } finally {
    loading = null;
  }
  const loaded = parts[name];
  if (!loaded) throw new Error(`internal error: the prelude part "${name}" did not register`);
  return loaded as Parts[K];
}

const NAMES = new Set<string>(['durable', 'r2', 'd1', 'analytics', 'workflow', 'queue'] satisfies PartName[]);

/**
 * The host hands over a part it compiled and ran in this isolate (src/runtime/load.ts: with V8's
 * code cache, which an evaluation from source cannot use), before the worker loads.
 */
export function installPart(name: unknown, factory: unknown): void {
  if (!open) throw new Error("internal error: a prelude part arrived after the worker's code ran");
  if (typeof name !== 'string' || !NAMES.has(name) || typeof factory !== 'function')
    throw new TypeError('installPart: a part name and its factory');
  if (parts[name as PartName]) return;
  run(name as PartName, factory as (modules: unknown) => void);
}

/**
 * A part, evaluated now from its source if the host did not hand it over (only while the
 * worker's code has not run).
 */
export function part<K extends PartName>(name: K): Parts[K] {
  const hit = parts[name];
  if (hit) return hit as Parts[K];
  if (!open)
    throw new Error(`internal error: the prelude part "${name}" was not loaded before the worker's code ran`);
  const source = callSync('ext', `part:${name}`);
  if (typeof source !== 'string') throw new Error(`internal error: no prelude part "${name}"`);
  // Like an extension's, the CPU of its first load is not the worker's (syscalls.ts, extBegin).
  callSync('extBegin', `part:${name}`);
  try {
    return run(name, indirectEval(source) as (modules: unknown) => void);
  } finally {
    callSync('extEnd');
  }
}

/** A part if this isolate loaded it, else undefined (never loads). */
export function loadedPart<K extends PartName>(name: K): Parts[K] | undefined {
  return parts[name] as Parts[K] | undefined;
}

/** The worker's code is about to run: no part loads after this. */
export function closeParts(): void {
  open = false;
}
