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
/**
 * Tests that start a whole network of processes (a NATS cluster and many nodes) run after the
 * others, one at a time: beside them, tests that measure CPU time would measure the load.
 */
const ALONE = new Set(['test/durable-nodes.test.ts']);
const all = args.length > 0 ? args : [...find(join(root, 'src')), ...find(join(root, 'test'))].sort();
/**
 * A phase that runs longer than its limit (minutes) is stopped and counted as failed: a test that
 * leaves a process behind must fail the run with a reason, not hold CI until CI's own time limit.
 * On two cores the first phase takes about 10 minutes, the second about 2
 * (OUTPOST_TEST_PHASE_MINUTES sets another limit for every phase).
 */
const phases =
  args.length > 0
    ? [{ files: all, concurrency: 2, limit: 40 }]
    : [
        { files: all.filter((f) => !ALONE.has(f)), concurrency: 2, limit: 35 },
        { files: all.filter((f) => ALONE.has(f)), concurrency: 1, limit: 15 },
      ].filter((p) => p.files.length > 0);

/** Run one phase, passing its output through; its counts from the spec reporter's summary. */
function run({ files, concurrency, limit }) {
  const minutes = Number(process.env.OUTPOST_TEST_PHASE_MINUTES) || limit;
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--no-node-snapshot',
        '--import',
        'tsx',
        '--import',
        './scripts/test-exit.mjs',
        '--test',
        `--test-concurrency=${concurrency}`,
        '--test-reporter=spec',
        ...files,
      ],
      {
        cwd: root,
        // Its own process group, so that everything it started can be stopped with it.
        detached: true,
        stdio: ['inherit', 'pipe', 'inherit'],
        env: hostEnv({
          ...process.env,
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --no-node-snapshot`.trim(),
        }),
      },
    );
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    };
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      console.log(
        `\n✖ these tests did not end within ${minutes} minutes: stopped (${files.length > 3 ? `${files.length} files` : files.join(' ')})`,
      );
      killGroup();
    }, minutes * 60_000);
    const interrupted = () => {
      killGroup();
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d).slice(-4096);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      // What the phase started and left running (a node, a nats-server) goes with it.
      killGroup();
      const count = (what) => Number(new RegExp(`ℹ ${what} (\\d+)`).exec(tail)?.[1] ?? 0);
      resolve({
        code: timedOut ? 1 : (code ?? (signal ? 1 : 0)),
        pass: count('pass'),
        // A cancelled test (its suite failed around it, or it never finished) did not pass.
        fail: count('fail') + count('cancelled') + (timedOut ? 1 : 0),
      });
    });
  });
}

let pass = 0;
let fail = 0;
let code = 0;
for (const phase of phases) {
  const r = await run(phase);
  pass += r.pass;
  fail += r.fail;
  if (r.code !== 0) code = r.code;
}
// One line for CI to read, whatever the phases were.
if (phases.length > 1) console.log(`\n${pass} passed, ${fail} failed`);
process.exit(code);
