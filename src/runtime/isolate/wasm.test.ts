// capModule runs inside the isolate, but it is plain code: tested here in Node directly.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installBridge } from './bridge.ts';
import { capModule, setWasmBudget } from './wasm.ts';

const limits: string[] = [];
before(() => {
  installBridge({ limit: (_name: string, detail: string) => limits.push(detail) } as never);
  setWasmBudget(128); // 2048 pages
});

/** A module with one memory (limits as given) exporting grow(n) = memory.grow(n). */
function growModule(memoryLimits: number[]): Uint8Array {
  const mem = [1, ...memoryLimits];
  return new Uint8Array([
    0,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    1,
    6,
    1,
    0x60,
    1,
    0x7f,
    1,
    0x7f,
    3,
    2,
    1,
    0,
    5,
    mem.length,
    ...mem,
    7,
    8,
    1,
    4,
    0x67,
    0x72,
    0x6f,
    0x77,
    0,
    0,
    10,
    8,
    1,
    6,
    0,
    0x20,
    0,
    0x40,
    0,
    0x0b,
  ]);
}

const grow = (bytes: Uint8Array, pages: number) =>
  (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.grow as (n: number) => number)(pages);

describe('capModule', () => {
  it('adds a maximum equal to the budget to a memory that has none', () => {
    const { bytes, pages } = capModule(growModule([0x00, 1])); // min 1, no max
    assert.equal(pages, 2048);
    assert.equal(grow(bytes, 2047), 1); // up to the budget: fine
    assert.equal(grow(bytes, 2048), -1); // past it: refused inside wasm
  });
  it('lowers a maximum above the budget and keeps one below it', () => {
    assert.equal(capModule(growModule([0x01, 1, 0x80, 0x80, 0x04])).pages, 2048); // max 65536 pages
    assert.equal(capModule(growModule([0x01, 1, 10])).pages, 10);
  });
  it('refuses a memory whose minimum is already past the budget, and reports it', () => {
    assert.throws(() => capModule(growModule([0x00, 0x80, 0x20])), RangeError); // min 4096 pages
    assert.match(limits.at(-1)!, /starts at 262144 KiB/);
  });
  it('refuses 64-bit memories', () => {
    assert.throws(() => capModule(growModule([0x04, 1])), /64-bit/);
  });
  it('leaves modules without a memory as they are', () => {
    const noMemory = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    assert.deepEqual(capModule(noMemory), { bytes: noMemory, pages: 0 });
  });
});
