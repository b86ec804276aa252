/**
 * Parts of the prelude (src/runtime/prelude-parts.ts): the code of bindings most workers do not
 * have, evaluated in this isolate only when its worker has one of them or it holds a Durable
 * Object. They load while the worker loads, before any of its code runs (dispatch.ts, beginLoad),
 * as the prelude did: what a part captures when it loads, tenant code has not touched yet. A part
 * asked for after that is refused.
 *
 * A part is a function taking what it reads from the prelude's modules (`partModules()`); when
 * evaluated it hands its exports to `registerPart`. Both stay in this module's closure.
 */

import { partModules } from 'outpost:part-modules';
import { callSync } from './bridge.ts';
import type * as Analytics from './parts/analytics.ts';
import type * as D1 from './parts/d1.ts';
import type * as Durable from './parts/durable.ts';
import type * as R2 from './parts/r2.ts';
import type * as Workflow from './parts/workflow.ts';

export interface Parts {
  durable: typeof Durable;
  r2: typeof R2;
  d1: typeof D1;
  analytics: typeof Analytics;
  workflow: typeof Workflow;
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

/** A part, evaluated now if it was not yet (only while the worker's code has not run). */
export function part<K extends PartName>(name: K): Parts[K] {
  const hit = parts[name];
  if (hit) return hit as Parts[K];
  if (!open)
    throw new Error(`internal error: the prelude part "${name}" was not loaded before the worker's code ran`);
  const source = callSync('ext', `part:${name}`);
  if (typeof source !== 'string') throw new Error(`internal error: no prelude part "${name}"`);
  // Like an extension's, the CPU of its first load is not the worker's (syscalls.ts, extBegin).
  callSync('extBegin', `part:${name}`);
  loading = name;
  try {
    modules ??= partModules();
    (indirectEval(source) as (modules: unknown) => void)(modules);
  } finally {
    loading = null;
    callSync('extEnd');
  }
  const loaded = parts[name];
  if (!loaded) throw new Error(`internal error: the prelude part "${name}" did not register`);
  return loaded as Parts[K];
}

/** A part if this isolate loaded it, else undefined (never loads). */
export function loadedPart<K extends PartName>(name: K): Parts[K] | undefined {
  return parts[name] as Parts[K] | undefined;
}

/** The worker's code is about to run: no part loads after this. */
export function closeParts(): void {
  open = false;
}
