import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { hostEnv } from '../bin/env.mjs';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
export const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** Start a bench/servers/*.ts file in its own Node process; resolves with its port. */
export function startServer(
  name: string,
  args: string[] = [],
): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(join(import.meta.dirname, 'servers', `${name}.ts`), args, {
    execArgv: ['--no-node-snapshot', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: hostEnv(),
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ port: m.port, child }));
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
}

/** Run a script in a child process and return the JSON it prints last. */
export function runChild<T>(file: string, args: string[] = [], execArgv: string[] = []): Promise<T> {
  const child = fork(join(import.meta.dirname, file), args, {
    execArgv: ['--no-node-snapshot', '--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: hostEnv(),
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${file} exited with ${code}`));
      const last = out.trim().split('\n').pop() ?? '';
      resolve(JSON.parse(last) as T);
    });
  });
}
