import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

/**
 * Maps stack frames of a bundled worker back to the user's files. The bundle runs wrapped in
 * one extra line (see instance.ts), hence LINE_OFFSET. esbuild writes sources relative to the
 * outfile, which sits in the project's root: "src/index.ts", "node_modules/x/y.js".
 */
export const LINE_OFFSET = 1;

export class StackMapper {
  #map: TraceMap | null = null;
  constructor(
    private readonly mapJson: string,
    private readonly filename: string,
  ) {}

  mapStack(stack: string): string {
    const name = this.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const frame = new RegExp(`${name}:(\\d+):(\\d+)`, 'g');
    return stack.replace(frame, (whole, line: string, col: string) => {
      this.#map ??= new TraceMap(this.mapJson);
      const pos = originalPositionFor(this.#map, {
        line: Number(line) - LINE_OFFSET,
        column: Number(col) - 1,
      });
      if (!pos.source || pos.line === null) return whole;
      return `${pos.source.replace(/^\.\//, '')}:${pos.line}:${(pos.column ?? 0) + 1}`;
    });
  }
}
