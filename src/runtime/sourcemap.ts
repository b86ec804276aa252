import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

/**
 * Maps stack frames of a bundled worker back to the user's files. A module bundle is compiled
 * as it is; a service-worker script runs wrapped in one extra line (src/runtime/load.ts), hence
 * its line offset. esbuild writes sources relative to the outfile, which sits in the project's
 * root: "src/index.ts", "node_modules/x/y.js".
 */
export function lineOffset(format: 'modules' | 'service-worker'): number {
  return format === 'service-worker' ? 1 : 0;
}

export class StackMapper {
  #map: TraceMap | null = null;
  constructor(
    private readonly mapJson: string,
    private readonly filename: string,
    private readonly offset = 0,
  ) {}

  mapStack(stack: string): string {
    const name = this.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const frame = new RegExp(`${name}:(\\d+):(\\d+)`, 'g');
    return stack.replace(frame, (whole, line: string, col: string) => {
      this.#map ??= new TraceMap(this.mapJson);
      const pos = originalPositionFor(this.#map, {
        line: Number(line) - this.offset,
        column: Number(col) - 1,
      });
      if (!pos.source || pos.line === null) return whole;
      return `${pos.source.replace(/^\.\//, '')}:${pos.line}:${(pos.column ?? 0) + 1}`;
    });
  }
}
