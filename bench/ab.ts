// A/B of two Outpost trees (e.g. a worktree of an older commit and this one) serving the same
// bench fixture: each server pinned to core 0 while measured, the load generator (this process)
// to core 1, rounds interleaved, medians compared. What a change costs per core, measured in
// one run. Not part of `npm test`.
//
//   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
//   node --no-node-snapshot --import tsx bench/ab.ts hello / /tmp/before . [rounds=5] [seconds=5]
//
// Fixtures that bundle npm packages (hono) need the package inside each tree's build root:
// copy node_modules/hono into the worktree's node_modules instead of linking it.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { resolve } from 'node:path';
import autocannon from 'autocannon';

const [fixture, path, dirA, dirB, roundsArg = '5', secondsArg = '5'] = process.argv.slice(2);
if (!fixture || !path || !dirA || !dirB) {
  console.error('usage: bench/ab.ts <fixture> <path> <tree A> <tree B> [rounds] [seconds]');
  process.exit(2);
}
const rounds = Number(roundsArg);
const seconds = Number(secondsArg);

const pin = (pid: number, core: number) =>
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)]);
pin(process.pid, 1);

async function start(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const root = resolve(dir);
  const child = fork(resolve(root, 'bench/servers/outpost.ts'), [fixture], {
    cwd: root,
    execArgv: ['--no-node-snapshot', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((ok) => child.once('message', (m: { port: number }) => ok(m.port)));
  pin(child.pid as number, 0);
  return { child, port };
}

const load = async (port: number, duration: number) =>
  (await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 32, duration })).requests.average;

const a = await start(dirA);
const b = await start(dirB);
await load(a.port, 2);
await load(b.port, 2);
const ra: number[] = [];
const rb: number[] = [];
for (let i = 0; i < rounds; i++) {
  const order: [typeof a, number[]][] =
    i % 2
      ? [
          [b, rb],
          [a, ra],
        ]
      : [
          [a, ra],
          [b, rb],
        ];
  for (const [server, out] of order) out.push(await load(server.port, seconds));
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(
  `${fixture} ${path}: A ${median(ra).toFixed(0)} req/s, B ${median(rb).toFixed(0)} req/s, B/A ${(median(rb) / median(ra)).toFixed(3)} (A ${ra.map(Math.round).join(' ')}; B ${rb.map(Math.round).join(' ')})`,
);
a.child.kill();
b.child.kill();
