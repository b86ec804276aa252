/**
 * How to start another `outpost` process from this one (`outpost network up`): the built CLI
 * when this code runs from dist/ (the bundle's loader, else the compiled files), else the
 * TypeScript sources through tsx, as bin/outpost.mjs does; always with --no-node-snapshot, which
 * isolated-vm needs on Node 20.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The node arguments that run `outpost` (append the command line). */
export function outpostArgv(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // The bundle (dist/cli/outpost.bundle.cjs) and the compiled files both sit in dist/cli/.
  const bundled = join(here, 'outpost.cjs');
  if (existsSync(bundled)) return ['--no-node-snapshot', '--expose-gc', bundled];
  const compiled = join(here, 'main.js');
  if (existsSync(compiled)) return ['--no-node-snapshot', compiled];
  const root = join(here, '..', '..');
  const loader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  return ['--no-node-snapshot', '--import', loader, join(here, 'main.ts')];
}
