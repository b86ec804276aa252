// A/B of two Outpost trees (e.g. a worktree of an older commit and this one) serving the same
// bench fixture: each server pinned to core 0 while measured, the load generator (wrk, or
// autocannon in this process) on core 1, rounds interleaved; requests/s and CPU per request
// compared, the latter also as the median of each round's B − A. What a change costs per core,
// measured in one run. Not part of `npm test`.
//
//   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
//   node --no-node-snapshot --import tsx bench/ab.ts hello / /tmp/before . [rounds=5] [seconds=5]
//   (fixture `proxy:1024`: CDN proxy mode's cache hits of 1,024 bytes, path /asset)
//
// Fixtures that bundle npm packages (hono) need the package inside each tree's build root:
// copy node_modules/hono into the worktree's node_modules instead of linking it.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { cpuMicros, loadCounted } from './platform.ts';
import { median } from './util.ts';

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
  // `proxy:<bytes>`: CDN proxy mode serving cache hits of that size (bench/servers/proxy.ts).
  const [server, args] = fixture.startsWith('proxy:')
    ? ['bench/servers/proxy.ts', [fixture.slice('proxy:'.length)]]
    : ['bench/servers/outpost.ts', [fixture]];
  const child = fork(resolve(root, server), args, {
    cwd: root,
    execArgv: ['--no-node-snapshot', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((ok) => child.once('message', (m: { port: number }) => ok(m.port)));
  pin(child.pid as number, 0);
  return { child, port };
}

const a = await start(dirA);
const b = await start(dirB);
// wrk on core 1 when installed (autocannon in this process otherwise), with each server's CPU
// per request read from /proc around each round: on a machine whose speed drifts, the median of
// the rounds' paired differences says more than two medians.
const round = async (server: { child: ChildProcess; port: number }, duration: number) => {
  const pid = server.child.pid as number;
  const before = cpuMicros(pid);
  const r = await loadCounted(server.port, path, duration, 1);
  const after = cpuMicros(pid);
  return { rps: r.rps, cpu: before !== null && after !== null ? (after - before) / r.requests : Number.NaN };
};
try {
  await round(a, 2);
  await round(b, 2);
  const ra: { rps: number; cpu: number }[] = [];
  const rb: { rps: number; cpu: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which tree goes first: whatever favours a position hits both alike.
    if (i % 2) {
      rb.push(await round(b, seconds));
      ra.push(await round(a, seconds));
    } else {
      ra.push(await round(a, seconds));
      rb.push(await round(b, seconds));
    }
  }
  const rps = (x: { rps: number }[]) => x.map((r) => r.rps);
  const cpu = (x: { cpu: number }[]) => x.map((r) => r.cpu);
  console.log(
    `${fixture} ${path}: A ${median(rps(ra)).toFixed(0)} req/s, B ${median(rps(rb)).toFixed(0)} req/s, B/A ${(median(rps(rb)) / median(rps(ra))).toFixed(3)} (A ${rps(ra).map(Math.round).join(' ')}; B ${rps(rb).map(Math.round).join(' ')})`,
  );
  if (ra.every((r) => Number.isFinite(r.cpu)) && rb.every((r) => Number.isFinite(r.cpu)))
    console.log(
      `CPU per request: A ${median(cpu(ra)).toFixed(1)} µs, B ${median(cpu(rb)).toFixed(1)} µs; B − A per round, median ${median(rb.map((r, k) => r.cpu - ra[k].cpu)).toFixed(1)} µs (${rb.map((r, k) => (r.cpu - ra[k].cpu).toFixed(1)).join(' ')})`,
    );
  else console.log('CPU per request: not measured (no /proc here, or a round answered nothing)');
} finally {
  // A round that fails (wrk saw errors) must not leave both servers on core 0.
  a.child.kill();
  b.child.kill();
}
