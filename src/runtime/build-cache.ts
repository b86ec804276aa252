/**
 * Builds of Outpost's own in-isolate code (the prelude, the node:* extensions), kept on disk
 * between processes: building them with esbuild took ~190 ms and ~200 ms of every process's
 * start, the largest part of a node's. An entry records every file the build read with its size
 * and modification time, and the esbuild version; it is used only while all of them are
 * unchanged, otherwise built again and rewritten. A cache that cannot be read or written is
 * skipped (every process builds, as before), never trusted half-way. Entries are named after the
 * source tree that built them too: two checkouts sharing one node_modules (a worktree linked to
 * it for an A/B benchmark) each read their own, not the other's prelude.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, '..', '..', 'node_modules', '.cache', 'outpost');
/** This source tree, as part of every entry's name. */
const tree = createHash('sha256').update(here).digest('hex').slice(0, 12);

interface Entry<T> {
  esbuild: string;
  inputs: [path: string, size: number, mtimeMs: number][];
  value: T;
}

function read<T>(name: string): T | null {
  try {
    const e = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Entry<T>;
    if (e.esbuild !== esbuild.version) return null;
    for (const [path, size, mtimeMs] of e.inputs) {
      const st = statSync(path);
      if (st.size !== size || st.mtimeMs !== mtimeMs) return null;
    }
    return e.value;
  } catch {
    return null;
  }
}

function write<T>(name: string, value: T, inputs: string[]): void {
  try {
    const e: Entry<T> = {
      esbuild: esbuild.version,
      inputs: [...new Set(inputs)].map((path) => {
        const st = statSync(path);
        return [path, st.size, st.mtimeMs];
      }),
      value,
    };
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.json`);
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(e));
    renameSync(tmp, file);
  } catch {
    // A read-only install: no cache.
  }
}

/**
 * `name`'s cached value, else `build()`'s, stored with the absolute paths of the files it read
 * (esbuild's metafile inputs, plus the source of the code that drives the build).
 */
export async function cachedBuild<T>(
  name: string,
  build: () => Promise<{ value: T; inputs: string[] }>,
): Promise<T> {
  const hit = read<T>(`${name}-${tree}`);
  if (hit !== null) return hit;
  const { value, inputs } = await build();
  write(`${name}-${tree}`, value, inputs);
  return value;
}
