#!/usr/bin/env node
// Launcher: isolated-vm requires Node to run with --no-node-snapshot, so re-execute with it.
// Runs the built CLI when there is one (`npm run build`: the one-file bundle through its loader,
// dist/cli/outpost.cjs, which starts fastest; see scripts/bundle.mjs), else the TypeScript
// sources through tsx. The child also gets the allocator settings of bin/env.mjs.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostEnv } from './env.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'dist', 'cli', 'outpost.cjs');
const compiled = join(root, 'dist', 'cli', 'main.js');
const args = ['--no-node-snapshot'];
let entry;
if (existsSync(bundled)) {
  // --expose-gc: the runtime sets it anyway (src/runtime/pool.ts); given here, the bundle's code
  // cache is made and checked under the same V8 flags (src/cli/bundle-loader.cjs).
  args.push('--expose-gc');
  entry = bundled;
} else if (existsSync(compiled)) entry = compiled;
else {
  args.push('--import', pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href);
  entry = join(root, 'src', 'cli', 'main.ts');
}
const child = spawn(process.execPath, [...args, entry, ...process.argv.slice(2)], { stdio: 'inherit', env: hostEnv() });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
