#!/usr/bin/env node
// Launcher: isolated-vm requires Node to run with --no-node-snapshot, so re-execute with it.
// Runs the compiled CLI from dist/ when built, else the TypeScript sources through tsx.
// The child also gets the allocator settings of bin/env.mjs.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostEnv } from './env.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
const args = ['--no-node-snapshot'];
let entry = built;
if (!existsSync(built)) {
  args.push('--import', pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href);
  entry = join(root, 'src', 'cli', 'main.ts');
}
const child = spawn(process.execPath, [...args, entry, ...process.argv.slice(2)], { stdio: 'inherit', env: hostEnv() });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
