/**
 * WebAssembly memory accounting. V8 allocates wasm memory outside the heap, so isolated-vm's
 * memoryLimit does not see it (measured: 1 GB+ reachable in a 128 MB isolate). Outpost makes it
 * countable by construction:
 *  - every module is compiled through the wrapped constructors below, which rewrite the
 *    module's memory section so each memory has a maximum no larger than the budget;
 *  - every instance and every `new WebAssembly.Memory` reserves its maximum against the
 *    isolate's budget (memoryLimit), released when the object is garbage collected.
 * Growth inside wasm code then cannot pass the maximum. A reservation that does not fit is a
 * memory-limit breach: reported to the host, and a RangeError here.
 */
import { capMemories, WasmCapError } from '../wasm-cap.ts';
import { host } from './bridge.ts';

const PAGE_KIB = 64;
let budgetPages = 0;
let reservedPages = 0;
const pagesOf = new WeakMap<object, number>();
const maxPagesOf = new WeakMap<object, number>();
/**
 * Live reservations, released once their holder is garbage collected. Weak references checked
 * at the next reservation, not a FinalizationRegistry: isolated-vm runs finalizer tasks outside
 * its call environment, and one crashed the process at teardown
 * (`IsolateEnvironment::GetCurrent(): Assertion 'environment != nullptr' failed`).
 */
let reservations: { holder: WeakRef<object>; pages: number }[] = [];

function releaseCollected(): void {
  const live: typeof reservations = [];
  for (const r of reservations) {
    if (r.holder.deref() === undefined) reservedPages -= r.pages;
    else live.push(r);
  }
  reservations = live;
}

function reserve(holder: object, pages: number, what: string): void {
  if (reservedPages + pages > budgetPages) releaseCollected();
  if (reservedPages + pages > budgetPages) {
    const msg = `WebAssembly memory limit exceeded: ${what} needs ${pages * PAGE_KIB} KiB, ${(budgetPages - reservedPages) * PAGE_KIB} KiB of ${budgetPages / 16} MB left`;
    host.limit('memory', msg);
    throw new RangeError(msg);
  }
  reservedPages += pages;
  reservations.push({ holder: new WeakRef(holder), pages });
  // Keep the list from growing without bound when nothing is ever over budget.
  if (reservations.length > 1024) releaseCollected();
}

/** Rewrite the memory section so every memory has max ≤ budget; return the new bytes and the pages reserved per instance. */
export function capModule(input: Uint8Array): { bytes: Uint8Array; pages: number } {
  try {
    return capMemories(input, budgetPages);
  } catch (err) {
    if (!(err instanceof WasmCapError)) throw err;
    if (err.kind === 'compile') throw new WebAssembly.CompileError(err.message);
    host.limit('memory', err.message);
    throw new RangeError(err.message);
  }
}

function bytesOf(source: unknown): Uint8Array {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError('WebAssembly: argument must be a BufferSource');
}

/** Set the budget capModule works against (installWasmLimits does this; tests call it directly). */
export function setWasmBudget(memoryLimitMb: number): void {
  budgetPages = memoryLimitMb * 16;
}

export function installWasmLimits(memoryLimitMb: number): void {
  setWasmBudget(memoryLimitMb);
  const W = WebAssembly as any;
  const OrigModule = W.Module;
  const OrigInstance = W.Instance;
  const OrigMemory = W.Memory;
  const origInstantiate = W.instantiate;
  const origCompile = W.compile;

  const compileSync = (source: unknown) => {
    const { bytes, pages } = capModule(bytesOf(source));
    const m = new OrigModule(bytes);
    pagesOf.set(m, pages);
    return m;
  };
  const instantiateSync = (module: object, imports: unknown) => {
    const pages = pagesOf.get(module);
    if (pages === undefined)
      throw new TypeError('WebAssembly.Instance: module was not compiled by this runtime');
    const instance = new OrigInstance(module, imports);
    if (pages > 0) reserve(instance, pages, 'an instance');
    return instance;
  };

  function Module(this: unknown, source: unknown) {
    if (!new.target) throw new TypeError("Class constructor Module cannot be invoked without 'new'");
    return compileSync(source);
  }
  function Instance(this: unknown, module: object, imports?: unknown) {
    if (!new.target) throw new TypeError("Class constructor Instance cannot be invoked without 'new'");
    return instantiateSync(module, imports);
  }
  function Memory(this: unknown, desc: { initial: number; maximum?: number; shared?: boolean }) {
    if (!new.target) throw new TypeError("Class constructor Memory cannot be invoked without 'new'");
    const d = { ...desc };
    const initial = Number(d.initial);
    const free = budgetPages - reservedPages;
    const maximum = Math.min(d.maximum === undefined ? Number.POSITIVE_INFINITY : Number(d.maximum), free);
    if (!(initial <= maximum)) {
      const msg = `WebAssembly memory limit exceeded: a memory of ${initial * PAGE_KIB} KiB does not fit in the ${(free * PAGE_KIB) | 0} KiB left`;
      host.limit('memory', msg);
      throw new RangeError(msg);
    }
    d.maximum = maximum;
    const mem = new OrigMemory(d);
    reserve(mem, maximum, 'a memory');
    maxPagesOf.set(mem, maximum);
    return mem;
  }
  for (const [wrapper, orig] of [
    [Module, OrigModule],
    [Instance, OrigInstance],
    [Memory, OrigMemory],
  ] as const) {
    Object.setPrototypeOf(wrapper, Object.getPrototypeOf(orig));
    for (const key of Reflect.ownKeys(orig)) {
      if (key === 'prototype' || key === 'length' || key === 'name') continue;
      Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(orig, key)!);
    }
    Object.defineProperty(wrapper, 'prototype', { value: orig.prototype, writable: false });
    // Hide the original constructor: `instance.constructor` must not lead back to it.
    Object.defineProperty(orig.prototype, 'constructor', {
      value: wrapper,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  // Growth from JS past the reserved maximum is a breach (growth inside wasm just returns -1).
  const origGrow = OrigMemory.prototype.grow;
  Object.defineProperty(OrigMemory.prototype, 'grow', {
    value: function grow(this: any, delta: number) {
      const max = maxPagesOf.get(this);
      const pages = this.buffer.byteLength / (PAGE_KIB * 1024);
      if (max !== undefined && pages + Number(delta) > max) {
        const msg = `WebAssembly memory limit exceeded: growing a memory to ${(pages + Number(delta)) * PAGE_KIB} KiB passes its ${max * PAGE_KIB} KiB share of the ${budgetPages / 16} MB limit`;
        host.limit('memory', msg);
        throw new RangeError(msg);
      }
      return origGrow.call(this, delta);
    },
    writable: true,
    configurable: true,
  });
  W.Module = Module;
  W.Instance = Instance;
  W.Memory = Memory;
  W.compile = async (source: unknown) => compileSync(source);
  W.instantiate = async (source: unknown, imports?: unknown) => {
    if (source instanceof OrigModule) return instantiateSync(source as object, imports);
    const module = compileSync(source);
    return { module, instance: instantiateSync(module, imports) };
  };
  void origInstantiate;
  void origCompile;
  // No streaming variants: they would need a Response body, and Workers code rarely uses them.
  delete W.compileStreaming;
  delete W.instantiateStreaming;
}
