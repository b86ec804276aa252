/**
 * A built Outpost in a temporary folder, for what must run the bundle (scripts/bundle.mjs) as a
 * user's build would without leaving a dist/ in this checkout (bin/outpost.mjs would then run it
 * instead of the sources). The folder links this checkout's package.json, src/ and node_modules/,
 * so the bundle finds what it finds relative to itself in an install.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle } from '../../scripts/bundle.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

export interface BuiltCopy {
  root: string;
  /** dist/cli/outpost.cjs: run it with `node --no-node-snapshot --expose-gc`. */
  loader: string;
  remove(): void;
}

export async function builtCopy(): Promise<BuiltCopy> {
  const root = mkdtempSync(join(tmpdir(), 'outpost-built-'));
  for (const name of ['package.json', 'src', 'node_modules']) symlinkSync(join(ROOT, name), join(root, name));
  const loader = await bundle(root);
  const remove = () => {
    // The loader's code cache went to the shared node_modules/.cache, named after the folder.
    const prefix = `bundle-${createHash('sha256')
      .update(join(root, 'dist', 'cli'))
      .digest('hex')
      .slice(0, 12)}-`;
    const cache = join(ROOT, 'node_modules', '.cache', 'outpost');
    try {
      for (const f of readdirSync(cache)) if (f.startsWith(prefix)) unlinkSync(join(cache, f));
    } catch {}
    rmSync(root, { recursive: true, force: true });
  };
  return { root, loader, remove };
}
