/**
 * Tests that need a program from outside the repository (nats-server, chromium, an OTLP
 * collector) ask here first. When the program is missing:
 *  - on a developer's machine the tests are reported as skipped, with one line saying what is
 *    missing and how to install it (the README's `npm test` passes on a fresh machine);
 *  - under CI (`CI` set) or when `OUTPOST_REQUIRE` names the program (`OUTPOST_REQUIRE=nats`,
 *    a comma-separated list, or `all`), absence is a failure: `.ci/run` installs everything.
 */
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

export interface OutsideProgram {
  /** The name OUTPOST_REQUIRE uses (e.g. `nats`). */
  name: string;
  /** The command to look for on PATH. */
  command: string;
  /** Arguments that make it print its version and exit 0. */
  versionArgs: string[];
  /** How to get it, for the skip line. */
  install: string;
}

export const NATS_SERVER: OutsideProgram = {
  name: 'nats',
  command: 'nats-server',
  versionArgs: ['--version'],
  install: 'Debian: apt-get install -y nats-server',
};

export const CHROMIUM: OutsideProgram = {
  name: 'chromium',
  command: 'chromium',
  versionArgs: ['--version'],
  install: 'Debian: apt-get install -y chromium',
};

function installed(p: OutsideProgram): boolean {
  const r = spawnSync(p.command, p.versionArgs, { stdio: 'ignore', timeout: 10_000 });
  return !r.error && r.status === 0;
}

/** Whether the run insists on `p` (CI, or OUTPOST_REQUIRE naming it). */
export function required(p: OutsideProgram, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return true;
  const names = (env.OUTPOST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return names.includes('all') || names.includes(p.name) || names.includes(p.command);
}

/**
 * The `skip` option for tests that need `p`: false when it is installed or required (a required
 * program that is missing then fails the tests that start it, naming it), else the one line a
 * skipped test prints.
 */
export function skipWithout(p: OutsideProgram, env: NodeJS.ProcessEnv = process.env): string | false {
  if (installed(p) || required(p, env)) return false;
  return `${p.command} is not installed (${p.install}); set OUTPOST_REQUIRE=${p.name} to make this a failure`;
}

/**
 * `describe(name, fn)` for a suite that needs `p`. When `p` is missing and not required, the
 * suite is one skipped test carrying the skip line (a skipped suite alone would not show in the
 * runner's skipped count); when it is missing and required, one failing test says so.
 */
export function describeNeeding(p: OutsideProgram, name: string, fn: () => void): void {
  const skip = skipWithout(p);
  describe(name, () => {
    if (skip) {
      it(`needs ${p.command}`, { skip }, () => {});
      return;
    }
    if (!installed(p)) {
      it(`needs ${p.command}`, () => {
        throw new Error(
          `${p.command} is not installed (${p.install}); this run requires it (CI or OUTPOST_REQUIRE)`,
        );
      });
      return;
    }
    fn();
  });
}
