/**
 * Capping a WebAssembly module's memories (used inside the isolate by isolate/wasm.ts and on
 * the host for modules the runtime compiles itself, e.g. HTMLRewriter's). Pure code: it runs in
 * both places, so it touches neither Node nor the isolate's bridge.
 */
const PAGE_KIB = 64;

/** A module asks for more memory than the budget allows, or for something Outpost refuses. */
export class WasmCapError extends Error {
  constructor(
    message: string,
    readonly kind: 'limit' | 'compile',
  ) {
    super(message);
  }
}

function readLeb(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = b[pos++];
    if (byte === undefined) throw new WasmCapError('unexpected end of module', 'compile');
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [result, pos];
    if (shift > 35) throw new WasmCapError('invalid LEB128', 'compile');
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Rewrite the memory section so every memory has max ≤ budget; return the new bytes and the pages reserved per instance. */
export function capMemories(input: Uint8Array, budgetPages: number): { bytes: Uint8Array; pages: number } {
  if (input.length < 8 || input[0] !== 0 || input[1] !== 0x61 || input[2] !== 0x73 || input[3] !== 0x6d) {
    return { bytes: input, pages: 0 }; // not a module: let V8 report the error
  }
  // Sections other than memory are copied as whole slices (a per-byte copy of a 900 KB module
  // cost the worker ~15 ms of CPU).
  const out: Uint8Array[] = [input.subarray(0, 8)];
  let pages = 0;
  let pos = 8;
  while (pos < input.length) {
    const id = input[pos];
    const [size, start] = readLeb(input, pos + 1);
    const end = start + size;
    if (end > input.length) throw new WasmCapError('section extends past the end of the module', 'compile');
    if (id !== 5) {
      out.push(input.subarray(pos, end));
      pos = end;
      continue;
    }
    let [count, p] = readLeb(input, start);
    const body: number[] = leb(count);
    while (count-- > 0) {
      const flags = input[p++];
      if (flags & 0x04)
        throw new WasmCapError('Outpost: 64-bit WebAssembly memories are not supported', 'compile');
      let min: number;
      let max = Number.POSITIVE_INFINITY;
      [min, p] = readLeb(input, p);
      if (flags & 0x01) [max, p] = readLeb(input, p);
      const capped = Math.min(max, budgetPages);
      if (min > capped) {
        throw new WasmCapError(
          `WebAssembly memory limit exceeded: a module memory starts at ${min * PAGE_KIB} KiB, more than the ${budgetPages / 16} MB limit`,
          'limit',
        );
      }
      pages += capped;
      body.push(flags | 0x01, ...leb(min), ...leb(capped));
    }
    out.push(Uint8Array.from([5, ...leb(body.length), ...body]));
    pos = end;
  }
  let length = 0;
  for (const part of out) length += part.byteLength;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of out) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return { bytes, pages };
}
