/**
 * Memory V8 allocates outside the isolate's heap, which isolated-vm's memoryLimit does not see:
 * WebAssembly memories (wasm.ts) and ICU objects behind `Intl` (intl.ts). Each kind reserves what
 * an object holds against a budget when the object is made, and gets it back once the object is
 * garbage collected. A reservation that does not fit is a memory-limit breach: reported to the
 * host (which ends the isolate, as for the heap limit) and thrown here as a RangeError.
 *
 * Collected holders are found through weak references checked after a full collection when a
 * reservation does not fit, not a FinalizationRegistry: isolated-vm runs finalizer
 * tasks outside its call environment, and one crashed the process at teardown
 * (`IsolateEnvironment::GetCurrent(): Assertion 'environment != nullptr' failed`).
 */
import { host } from './bridge.ts';

/**
 * A full collection, from the `gc` global the host makes V8 put in each context (src/runtime/pool.ts),
 * taken from the global here, before any tenant code runs. V8 defines it non-configurable, so
 * the property stays, holding undefined.
 */
const g = globalThis as { gc?: () => void };
const collect: () => void = typeof g.gc === 'function' ? g.gc : () => {};
g.gc = undefined;

export class NativeBudget {
  budget = 0;
  reserved = 0;
  #live: { holder: WeakRef<object>; amount: number }[] = [];

  /** What is left of the budget (holders collected since the last breach check still count). */
  free(): number {
    return this.budget - this.reserved;
  }

  /** Reserve `amount` for `holder`'s lifetime; over budget: `breach(left)` names the breach. */
  reserve(holder: object, amount: number, breach: (left: number) => string): void {
    if (this.reserved + amount > this.budget) {
      // Dropped holders V8 has not collected (it cannot see their native memory): collect, then
      // give back what went. In that order: deref() keeps its target alive until the current
      // task ends (WeakRef semantics), so checking first would keep every holder it saw. For the
      // same reason holders made in the current task are still counted.
      collect();
      this.#releaseCollected();
    }
    if (this.reserved + amount > this.budget) fail(breach(this.budget - this.reserved));
    this.reserved += amount;
    // The list is bounded by the budget over the smallest reservation (1 KiB for Intl).
    this.#live.push({ holder: new WeakRef(holder), amount });
  }

  #releaseCollected(): void {
    const live: { holder: WeakRef<object>; amount: number }[] = [];
    for (const r of this.#live) {
      if (r.holder.deref() === undefined) this.reserved -= r.amount;
      else live.push(r);
    }
    this.#live = live;
  }
}

/** A memory-limit breach: the host is told, the caller gets a RangeError. */
export function fail(message: string): never {
  host.limit('memory', message);
  throw new RangeError(message);
}
