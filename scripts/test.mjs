#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts, test/**/*.test.ts) with Node's test runner through
// tsx, with --no-node-snapshot (isolated-vm needs it). Node 20's --test takes no globs, so the
// files are listed here. Extra arguments are passed on (e.g. a file to run alone).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { hostEnv } from '../bin/env.mjs';

const root = join(import.meta.dirname, '..');
const skipDirs = new Set(['node_modules', 'fixtures', '.git', 'dist']);
function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!skipDirs.has(name)) find(p, out);
    } else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
const args = process.argv.slice(2);
const files = args.length > 0 ? args : [...find(join(root, 'src')), ...find(join(root, 'test'))].sort();
const child = spawn(
  process.execPath,
  [
    '--no-node-snapshot',
    '--import',
    'tsx',
    '--import',
    './scripts/test-exit.mjs',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: hostEnv({
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --no-node-snapshot`.trim(),
    }),
  },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
