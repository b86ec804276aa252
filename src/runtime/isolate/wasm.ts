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
import { fail, NativeBudget } from './native-memory.ts';
import { standIn } from './stand-in.ts';

const PAGE_KIB = 64;
/** Pages of 64 KiB, reserved per instance and memory for the holder's lifetime. */
const pages = new NativeBudget();
const pagesOf = new WeakMap<object, number>();
const maxPagesOf = new WeakMap<object, number>();

function reserve(holder: object, n: number, what: string): void {
  pages.reserve(
    holder,
    n,
    (left) =>
      `WebAssembly memory limit exceeded: ${what} needs ${n * PAGE_KIB} KiB, ${left * PAGE_KIB} KiB of ${pages.budget / 16} MB left`,
  );
}

/** Rewrite the memory section so every memory has max ≤ budget; return the new bytes and the pages reserved per instance. */
export function capModule(input: Uint8Array): { bytes: Uint8Array; pages: number } {
  try {
    return capMemories(input, pages.budget);
  } catch (err) {
    if (!(err instanceof WasmCapError)) throw err;
    if (err.kind === 'compile') throw new WebAssembly.CompileError(err.message);
    fail(err.message);
  }
}

function bytesOf(source: unknown): Uint8Array {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError('WebAssembly: argument must be a BufferSource');
}

/** Set the budget capModule works against (installWasmLimits does this; tests call it directly). */
export function setWasmBudget(memoryLimitMb: number): void {
  pages.budget = memoryLimitMb * 16;
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
    const capped = capModule(bytesOf(source));
    const m = new OrigModule(capped.bytes);
    pagesOf.set(m, capped.pages);
    return m;
  };
  const instantiateSync = (module: object, imports: unknown) => {
    const n = pagesOf.get(module);
    if (n === undefined) throw new TypeError('WebAssembly.Instance: module was not compiled by this runtime');
    const instance = new OrigInstance(module, imports);
    if (n > 0) reserve(instance, n, 'an instance');
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
    const free = pages.free();
    const maximum = Math.min(d.maximum === undefined ? Number.POSITIVE_INFINITY : Number(d.maximum), free);
    if (!(initial <= maximum)) {
      fail(
        `WebAssembly memory limit exceeded: a memory of ${initial * PAGE_KIB} KiB does not fit in the ${(free * PAGE_KIB) | 0} KiB left`,
      );
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
  ] as const)
    standIn(wrapper, orig);
  // Growth from JS past the reserved maximum is a breach (growth inside wasm just returns -1).
  const origGrow = OrigMemory.prototype.grow;
  Object.defineProperty(OrigMemory.prototype, 'grow', {
    value: function grow(this: any, delta: number) {
      const max = maxPagesOf.get(this);
      const now = this.buffer.byteLength / (PAGE_KIB * 1024);
      if (max !== undefined && now + Number(delta) > max) {
        fail(
          `WebAssembly memory limit exceeded: growing a memory to ${(now + Number(delta)) * PAGE_KIB} KiB passes its ${max * PAGE_KIB} KiB share of the ${pages.budget / 16} MB limit`,
        );
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
