/**
 * Resizable ArrayBuffers and growable SharedArrayBuffers (ES2024) are memory isolated-vm's limit
 * does not see: it counts what a buffer holds when it is made (its initial length), while V8
 * reserves `maxByteLength` and commits pages as the buffer is resized. Two buffers of 256 MiB
 * resized and filled held 512 MiB in an isolate limited to 128 MB.
 *
 * So each one reserves its whole `maxByteLength` when it is made, against a budget the size of
 * the memory limit, as WebAssembly memories do (native-memory.ts, wasm.ts): one that does not fit
 * is a memory-limit breach. Fixed-length buffers are counted by isolated-vm as before.
 */
import { NativeBudget } from './native-memory.ts';
import { standIn } from './stand-in.ts';

const budget = new NativeBudget();
const { apply, construct, defineProperty, getOwnPropertyDescriptor } = Reflect;

function reserveFor(buffer: object, maxByteLength: number): void {
  budget.reserve(
    buffer,
    maxByteLength,
    (left) =>
      `Memory limit exceeded: a resizable buffer of up to ${maxByteLength} bytes does not fit in the ${left} bytes left`,
  );
}

export function installBufferLimits(g: Record<string, unknown>, memoryLimitMb: number): void {
  budget.budget = memoryLimitMb * 1024 * 1024;
  for (const [name, flag] of [
    ['ArrayBuffer', 'resizable'],
    ['SharedArrayBuffer', 'growable'],
  ] as const) {
    const Original = g[name] as (new (...args: unknown[]) => object) | undefined;
    if (typeof Original !== 'function') continue;
    const isFlexible = getOwnPropertyDescriptor(Original.prototype, flag)?.get;
    const maxOf = getOwnPropertyDescriptor(Original.prototype, 'maxByteLength')?.get;
    if (!isFlexible || !maxOf) continue;
    const Wrapper = function (this: unknown) {
      if (new.target === undefined) throw new TypeError(`Constructor ${name} requires 'new'`);
      // `arguments` as is: V8 reads the arguments itself, in its order.
      const buffer = construct(Original, arguments, new.target === Wrapper ? Original : new.target);
      if (apply(isFlexible, buffer, [])) reserveFor(buffer, apply(maxOf, buffer, []) as number);
      return buffer;
    } as unknown as Function;
    defineProperty(Wrapper, 'name', { value: name, configurable: true });
    defineProperty(Wrapper, 'length', { value: 1, configurable: true });
    standIn(Wrapper, Original);
    defineProperty(g, name, { value: Wrapper, writable: true, configurable: true, enumerable: false });
  }
}
