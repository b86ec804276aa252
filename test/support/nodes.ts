/**
 * `outpost node` processes for the network tests: the CLI itself in a child process (not
 * bin/outpost.mjs, so signals reach the process that serves), resolved once it prints where it
 * serves. The node's folder is a temp folder unless given.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
/** Node arguments that run the CLI from its TypeScript sources. */
const TSX = ['--no-node-snapshot', '--import', 'tsx', MAIN];

export interface NodeProcess {
  child: ChildProcess;
  pop: string;
  url: string;
  id: string;
  dir: string;
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export function startNodeProcess(
  nats: string,
  pop: string,
  o: { dir?: string; port?: number; extra?: string[] } = {},
): Promise<NodeProcess> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `outpost-node-${pop}-`));
  const child = spawn(
    process.execPath,
    [
      ...TSX,
      'node',
      '--nats',
      nats,
      '--pop',
      pop,
      '--port',
      String(o.port ?? 0),
      '--processes',
      '1',
      '--dir',
      dir,
      '--leave-ms',
      '1500',
      '--trusted-proxy-header',
      'x-forwarded-for',
      ...(o.extra ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return ready(child, pop, dir, /Outpost node (\S+): PoP \S+ ready on (http:\/\/127\.0\.0\.1:\d+)/);
}

/**
 * `outpost shield` in a child process for region `shield`, resolved once it prints where it
 * serves (the `url` of the result; `pop` is the region).
 */
export function startShieldProcess(nats: string, shield: string, extra: string[] = []): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [...TSX, 'shield', '--nats', nats, '--shield', shield, '--port', '0', '--leave-ms', '1500', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return ready(child, shield, '', /Outpost shield (\S+): region \S+ ready on (http:\/\/127\.0\.0\.1:\d+)/);
}

/**
 * Every process started here that has not exited: a test's `after` stops them all with
 * stopNodeProcesses(), including those whose start had not resolved when another failed (left
 * running, their pipes kept the test file's process alive until CI's time ran out).
 */
const live = new Map<ChildProcess, Promise<void>>();

/** SIGKILL every node or shield process started here that is still running, and wait for them. */
export async function stopNodeProcesses(): Promise<void> {
  for (const child of live.keys()) {
    child.kill('SIGCONT'); // a stopped process is killed too, but let it be reaped at once
    child.kill('SIGKILL');
  }
  await Promise.all(live.values());
}

function ready(child: ChildProcess, pop: string, dir: string, line: RegExp): Promise<NodeProcess> {
  let out = '';
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      live.delete(child);
      r();
    }),
  );
  live.set(child, exited);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`outpost ${pop} did not start within 60 s: ${out}`));
    }, 60_000);
    const seen = (d: Buffer) => {
      out += d;
      const m = line.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, pop, url: m[2], id: m[1], dir, output: () => out, exited });
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`outpost ${pop} exited with ${code}: ${out}`));
    });
  });
}

/** `outpost <argv>` in this process, with what it printed. */
export async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    out: (c) => {
      out += typeof c === 'string' ? c : Buffer.from(c).toString();
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}
