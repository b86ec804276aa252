/**
 * Text inserted into a bundle at offsets of its original text, and its source map kept: no
 * line break is inserted, so each mapped column of a line moves right by what was inserted
 * before it on that line (bundle-awaits.ts, bundle-names.ts).
 */
import { decode, encode, type SourceMapMappings } from '@jridgewell/sourcemap-codec';

export interface Insert {
  at: number;
  text: string;
  /** Closing text goes before opening text at one offset; deeper closes first, outer opens first. */
  close: boolean;
  depth: number;
}

/** `code` with `inserts` (offsets into `code`; no line breaks in their text), and its map moved. */
export function applyInserts<M extends string | null>(
  code: string,
  map: M,
  inserts: Insert[],
): { code: string; map: M } {
  if (inserts.length === 0) return { code, map };
  inserts.sort((a, b) =>
    a.at !== b.at
      ? a.at - b.at
      : a.close !== b.close
        ? a.close
          ? -1
          : 1
        : a.close
          ? b.depth - a.depth
          : a.depth - b.depth,
  );
  let out = '';
  let from = 0;
  for (const ins of inserts) {
    if (ins.text.includes('\n')) throw new Error('an insert may not break a line (the source map)');
    out += code.slice(from, ins.at) + ins.text;
    from = ins.at;
  }
  out += code.slice(from);
  return { code: out, map: (map === null ? null : shiftMap(code, map, inserts)) as M };
}

/** The source map with each generated column moved right by the text inserted before it on its line. */
function shiftMap(code: string, map: string, inserts: Insert[]): string {
  const parsed = JSON.parse(map) as { mappings: string };
  const lines: SourceMapMappings = decode(parsed.mappings);
  // Inserts are sorted by offset: walk lines and inserts together.
  let line = 0;
  let lineStart = 0;
  let next = code.indexOf('\n');
  let i = 0;
  while (i < inserts.length) {
    while (next !== -1 && inserts[i].at > next) {
      line++;
      lineStart = next + 1;
      next = code.indexOf('\n', lineStart);
    }
    // The inserts on this line, as (column, cumulative length).
    const cols: number[] = [];
    const sums: number[] = [];
    let sum = 0;
    while (i < inserts.length && (next === -1 || inserts[i].at <= next)) {
      sum += inserts[i].text.length;
      cols.push(inserts[i].at - lineStart);
      sums.push(sum);
      i++;
    }
    const segments = lines[line];
    if (!segments) continue;
    let k = -1;
    for (const seg of segments) {
      // Text inserted at a segment's own column goes before it.
      while (k + 1 < cols.length && cols[k + 1] <= seg[0]) k++;
      if (k >= 0) seg[0] += sums[k];
    }
  }
  parsed.mappings = encode(lines);
  return JSON.stringify(parsed);
}
