// Static assets and D1, each pinned per core against its baseline, in one run: the server
// under test and its baseline on core 0 (one at a time, rounds interleaved), the load
// generator (this process) on core 1.
//   assets: Outpost serving an assets-only project vs nginx serving the same folder (1 KB, 100 KB)
//   d1:     a worker answering with D1's first() of one row by primary key vs a node:http
//           server calling better-sqlite3 directly on the same table
//   tracing: hello world and Hono with tracing off, at 1% and at 100%, exporting over OTLP/HTTP
//           to a local receiver (on core 1, beside the load generator)
// Run: npm run bench -- --only assets | d1 | tracing. nginx must be installed (apt-get install -y nginx).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fmt, median, startServer } from './util.ts';

export const pin = (pid: number, core: number) => {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export interface Target {
  label: string;
  port: number;
  stop(): void;
  /** Its process, whose CPU time (its children's included) is read from /proc (cpuMicros). */
  pid?: number;
}

export const TICK_US = (() => {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
    return hz > 0 ? 1e6 / hz : 1e4;
  } catch {
    return 1e4;
  }
})();

/**
 * From /proc/<pid>/stat, in clock ticks: its own utime + stime, and cutime + cstime (children
 * it has reaped); its parent. Null: gone, or no /proc.
 */
function statOf(pid: string): { ppid: number; ticks: number; reaped: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (in parentheses, which may hold spaces): state, ppid, … utime, stime,
    // cutime, cstime.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]),
      reaped: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return null;
  }
}

/**
 * CPU time used so far by process `pid` and its live children (every thread), µs; null without
 * /proc. What a server spends per request whatever the load generator or the machine's other
 * tenants do: steadier on a noisy machine than requests/s (docs/runtime.md, per core).
 */
export function cpuMicros(pid: number): number | null {
  const own = statOf(String(pid));
  if (!own) return null;
  // A child that ended during a round leaves the live list, and its time moves to `reaped`.
  let ticks = own.ticks + own.reaped;
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const st = statOf(entry);
    if (st && st.ppid === pid) ticks += st.ticks;
  }
  return ticks * TICK_US;
}

export const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { status?: number }).status === 1;
  }
})();

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/**
 * Requests/s of one round: with wrk (C, one thread, 64 connections, on core 1) when installed,
 * since autocannon (Node) tops out near 30k req/s on one core, below what nginx serves;
 * else autocannon.
 */
/** p50 latency (ms) of one connection for `seconds`, from wrk --latency (wrk only). */
export function latencyP50(
  port: number,
  path: string,
  seconds: number,
  headers: string[] = [],
  script?: string,
): number {
  const out = execFileSync('taskset', [
    '-c',
    '1',
    'wrk',
    '-t1',
    '-c1',
    `-d${seconds}s`,
    '--latency',
    ...headers.flatMap((h) => ['-H', h]),
    ...(script ? ['-s', script] : []),
    `http://127.0.0.1:${port}${path}`,
  ]).toString();
  const m = /50%\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!m) throw new Error(`could not read wrk's latency:\n${out}`);
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** Requests/s answered on `path` over `seconds` (wrk on core 1, or autocannon), errors thrown. */
export async function load(...args: Parameters<typeof loadCounted>): Promise<number> {
  return (await loadCounted(...args)).rps;
}

/** `load`, with how many requests were answered. */
export async function loadCounted(
  port: number,
  path: string,
  seconds: number,
  bytes: number,
  headers: string[] = [],
  /** A wrk Lua script making each request (wrk only). */
  script?: string,
): Promise<{ rps: number; requests: number }> {
  if (hasWrk) {
    const out = execFileSync('taskset', [
      '-c',
      '1',
      'wrk',
      '-t1',
      '-c64',
      `-d${seconds}s`,
      ...headers.flatMap((h) => ['-H', h]),
      ...(script ? ['-s', script] : []),
      `http://127.0.0.1:${port}${path}`,
    ]).toString();
    if (/Non-2xx or 3xx responses|Socket errors/.test(out))
      throw new Error(`wrk saw errors on ${path}:\n${out}`);
    const m = /(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read/.exec(out);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!m || !rps) throw new Error(`could not read wrk's output:\n${out}`);
    if ((Number(m[2]) * UNITS[m[3]]) / Number(m[1]) < bytes * 0.9)
      throw new Error(`responses on ${path} carried fewer than ${bytes} bytes`);
    return { rps: Number(rps[1]), requests: Number(m[1]) };
  }
  const r = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: 32,
    duration: seconds,
    headers: Object.fromEntries(
      headers.map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]),
    ),
  });
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`saw ${r.non2xx} non-2xx and ${r.errors} errors on ${path}`);
  if (r.throughput.total / Math.max(1, r.requests.total) < bytes * 0.9)
    throw new Error(`responses on ${path} carried fewer than ${bytes} bytes`);
  return { rps: r.requests.average, requests: r.requests.total };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startNginx(root: string): Promise<Target | string> {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return 'nginx is not installed (Debian: apt-get install -y nginx)';
  }
  const prefix = mkdtempSync(join(tmpdir(), 'outpost-bench-nginx-'));
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  // One worker process, as one core: what nginx does per core. No access log (nor has Outpost).
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${prefix}/nginx.pid; error_log ${prefix}/logs/error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types; access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server { listen 127.0.0.1:${port}; root ${root}; etag on; }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // The master and its worker: both on core 0.
  pin(child.pid as number, 0);
  for (const pid of execFileSync('pgrep', ['-P', String(child.pid)])
    .toString()
    .trim()
    .split('\n'))
    if (pid) pin(Number(pid), 0);
  return { label: 'nginx', port, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

export async function startNode(name: string, args: string[], label: string): Promise<Target> {
  const { port, child } = await startServer(name, args);
  pin(child.pid as number, 0);
  return { label, port, pid: child.pid, stop: () => (child as ChildProcess).kill() };
}

async function compare(
  title: string,
  a: Target,
  b: Target,
  paths: { path: string; bytes: number; label: string }[],
  opts: { rounds: number; seconds: number },
): Promise<{ table: string[]; ratios: Record<string, number> }> {
  const table = [title];
  const ratios: Record<string, number> = {};
  for (const { path, bytes, label } of paths) {
    await load(a.port, path, 1, bytes);
    await load(b.port, path, 1, bytes);
    const ra: number[] = [];
    const rb: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      const order: [Target, number[]][] =
        i % 2
          ? [
              [b, rb],
              [a, ra],
            ]
          : [
              [a, ra],
              [b, rb],
            ];
      for (const [t, out] of order) out.push(await load(t.port, path, opts.seconds, bytes));
    }
    const ratio = median(ra) / median(rb);
    ratios[label] = ratio;
    table.push(
      `  ${label.padEnd(28)} ${a.label} ${fmt(median(ra), 0).padStart(7)} req/s   ${b.label} ${fmt(median(rb), 0).padStart(7)} req/s   ratio ${fmt(ratio, 2)}x  (medians of ${opts.rounds})`,
    );
  }
  return { table, ratios };
}

export async function assetsBench(opts: { rounds: number; seconds: number }) {
  const pinned = pin(process.pid, 1);
  const root = join(import.meta.dirname, 'fixtures', 'assets', 'public');
  const nginx = await startNginx(root);
  if (typeof nginx === 'string')
    return { table: [`Static assets vs nginx: not measured: ${nginx}`], ratios: {} };
  const outpost = await startNode('outpost', ['assets'], 'Outpost');
  try {
    return await compare(
      `Static assets, Outpost vs nginx, one core each${pinned ? '' : ' (taskset missing: not pinned)'}`,
      outpost,
      nginx,
      [
        { path: '/1k.css', bytes: 1024, label: '1 KB file' },
        { path: '/100k.js', bytes: 100 * 1024, label: '100 KB file' },
      ],
      opts,
    );
  } finally {
    outpost.stop();
    nginx.stop();
  }
}

export async function d1Bench(opts: { rounds: number; seconds: number }) {
  const pinned = pin(process.pid, 1);
  const outpost = await startNode('outpost', ['d1'], 'D1 first()');
  const plain = await startNode('plain', ['d1'], 'better-sqlite3');
  try {
    return await compare(
      `D1 first() of one row by primary key vs better-sqlite3 called directly, one core each${pinned ? '' : ' (not pinned)'}`,
      outpost,
      plain,
      [{ path: '/?id=4242', bytes: 60, label: 'row by id, as JSON' }],
      opts,
    );
  } finally {
    outpost.stop();
    plain.stop();
  }
}

/** The OTLP/HTTP receiver (bench/servers/otlp-sink.ts), on core 1 beside the load generator. */
async function startSink(): Promise<{ url: string; bytes: () => Promise<number>; stop(): void }> {
  const { port, child } = await startServer('otlp-sink');
  pin(child.pid as number, 1);
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bytes: () =>
      new Promise((resolve) => {
        child.once('message', (m: { bytes: number }) => resolve(m.bytes));
        child.send('bytes');
      }),
    stop: () => child.kill(),
  };
}

/**
 * Tracing's cost: the same worker behind a PoP front with tracing off, at 1% and at 100%, each
 * alone on core 0 in turn, rounds interleaved. Each round starts fresh server processes: a
 * process's own luck (where its code and heap landed, what V8 chose to optimise) moves its
 * throughput by several percent for its whole life, as much as the cost being measured, and a
 * fresh process per round lets the median average it out. At 1% every request still records its
 * spans (the tail decision keeps errors and slow requests), so that is the figure the target
 * (< 5%) is on.
 */
export async function tracingBench(opts: { rounds: number; seconds: number }) {
  const pinned = pin(process.pid, 1);
  const sink = await startSink();
  const table = [
    `Tracing overhead, one core for the server${pinned ? '' : ' (not pinned)'}, exporting to a local OTLP/HTTP receiver, fresh processes each round`,
  ];
  const ratios: Record<string, number> = {};
  const settings = [
    ['off', null],
    ['1%', '0.01'],
    ['100%', '1'],
  ] as const;
  for (const [fixture, path, bytes] of [
    ['hello', '/', 12],
    ['hono', '/api/users/42?fields=name', 38],
  ] as const) {
    const rps = settings.map(() => [] as number[]);
    for (let i = 0; i < opts.rounds; i++) {
      const order = i % 2 ? [2, 1, 0] : [0, 1, 2];
      for (const k of order) {
        const [label, ratio] = settings[k];
        if (ratio) process.env.OUTPOST_BENCH_TRACE = `${ratio},${sink.url}`;
        else delete process.env.OUTPOST_BENCH_TRACE;
        const target = await startNode('outpost', [fixture], label);
        delete process.env.OUTPOST_BENCH_TRACE;
        try {
          // Three seconds of warm-up, not one: a traced process's first seconds also start its
          // export thread and optimise the code a kept trace runs (one request in a hundred at
          // 1%); what is measured is what tracing costs a process that serves.
          await load(target.port, path, 3, bytes);
          rps[k].push(await load(target.port, path, opts.seconds, bytes));
        } finally {
          target.stop();
        }
        // A server stopped with spans still queued is gone; the receiver (core 1) may still be
        // decoding what it sent: let it finish before the next measurement.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const [off, one, all] = rps.map(median);
    ratios[`${fixture} 1%`] = one / off;
    ratios[`${fixture} 100%`] = all / off;
    table.push(
      `  ${fixture.padEnd(6)} off ${fmt(off, 0).padStart(7)} req/s   1% ${fmt(one, 0).padStart(7)} (${fmt(one / off, 3)}x, cost ${fmt((1 - one / off) * 100, 1)}%)   100% ${fmt(all, 0).padStart(7)} (${fmt(all / off, 3)}x)  (medians of ${opts.rounds})`,
    );
  }
  // The same comparison inside one process: tracing at 1% switched off and on between windows
  // (bench/servers/outpost.ts, SIGUSR2). No process-to-process luck, so a smaller cost shows;
  // what it cannot show is what tracing costs a process that never had it.
  for (const [fixture, path, bytes] of [
    ['hello', '/', 12],
    ['hono', '/api/users/42?fields=name', 38],
  ] as const) {
    process.env.OUTPOST_BENCH_TRACE = `0.01,${sink.url}`;
    process.env.OUTPOST_BENCH_TRACE_SWITCH = '1';
    const { port, child } = await startServer('outpost', [fixture]);
    delete process.env.OUTPOST_BENCH_TRACE;
    delete process.env.OUTPOST_BENCH_TRACE_SWITCH;
    pin(child.pid as number, 0);
    const windows = { on: [] as number[], off: [] as number[] };
    try {
      await load(port, path, 3, bytes); // warm, traced
      let on = true;
      for (let i = 0; i < opts.rounds * 2; i++) {
        child.kill('SIGUSR2');
        on = !on;
        await new Promise((r) => setTimeout(r, 100));
        windows[on ? 'on' : 'off'].push(await load(port, path, 3, bytes));
      }
    } finally {
      child.kill();
    }
    const ratio = median(windows.on) / median(windows.off);
    ratios[`${fixture} 1% same process`] = ratio;
    table.push(
      `  ${fixture.padEnd(6)} same process, 3 s windows: off ${fmt(median(windows.off), 0)}   1% ${fmt(median(windows.on), 0)} (${fmt(ratio, 3)}x, cost ${fmt((1 - ratio) * 100, 1)}%)  (medians of ${opts.rounds})`,
    );
  }
  table.push(`  the receiver read ${fmt((await sink.bytes()) / 1024 / 1024, 1)} MB of OTLP protobuf`);
  sink.stop();
  return { table, ratios };
}
