/**
 * A network of node processes (docs/deploying.md), same run, on a real nats-server:
 * - start to first response: `outpost node` (from a deployed artifact; built as `npm run build`
 *   builds it, downloading the artifact or restarting with it kept, and from the TypeScript
 *   sources through tsx) against a plain node:http server and `outpost dev` of the same
 *   project, each spawned and polled until it answers 200 (median of `starts`);
 * - hello-world and cache-hit requests/s through `outpost router` to one node process (both on
 *   core 0) against the same worker in one `outpost dev` process (core 0), wrk on core 1;
 * - deploy time to `pops` node processes (store + every node switched, `--waves all`) and purge
 *   fan-out time (publish to the last acknowledgement), medians.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { loadTopology } from '../src/network/index.ts';
import { type BuiltCopy, builtCopy } from '../test/support/bundle.ts';
import { cli, type NodeProcess, startNodeProcess } from '../test/support/nodes.ts';
import { hasWrk, load, pin } from './platform.ts';
import { fmt, median } from './util.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

const tsxArgv = ['--no-node-snapshot', '--import', 'tsx', MAIN];

/** `outpost dev <dir>` on `port`, quiet (through tsx unless another entry is given). */
const devArgv = (dir: string, port: string, entry = tsxArgv) => [
  ...entry,
  'dev',
  dir,
  '--port',
  port,
  '--no-watch',
  '--log-level',
  'error',
];

/** Hello world at `/`; at `/cached`, a fetch() of the origin's stylesheet, a cache hit once warm. */
function project(dir: string, v: string, origin = 'http://127.0.0.1:9'): void {
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "bench-hello"\nmain = "index.js"\n[vars]\nV = "${v}"\nORIGIN = "${origin}"\n`,
  );
  writeFileSync(
    join(dir, 'index.js'),
    `export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname === '/cached') return fetch(env.ORIGIN + '/site.css');
    return new Response('hello ' + env.V);
  },
};
`,
  );
}

/** Poll `port` until it answers 200; ms waited. */
async function answered(port: number, what: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      await r.text();
      if (r.status === 200) return performance.now() - t0;
    } catch {}
    if (performance.now() - t0 > 30_000) throw new Error(`${what} did not answer within 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** ms from spawn to the first 200 on `port`. */
async function startToFirst(cmd: string[], port: number): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, cmd, { stdio: 'ignore' });
  try {
    return await answered(port, cmd.join(' '));
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

/**
 * Runs a built node until its loader has written the bundle's code cache (two seconds into a
 * process: src/cli/bundle-loader.cjs), as a node's first start after an install does.
 */
async function warmCodeCache(entry: string[], nats: string): Promise<void> {
  const nodeDir = mkdtempSync(join(tmpdir(), 'outpost-bench-node-'));
  const port = 19095;
  const child = spawn(process.execPath, nodeArgv(entry, nats, port, nodeDir), { stdio: 'ignore' });
  try {
    await answered(port, 'outpost node (built)');
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(nodeDir, { recursive: true, force: true });
  }
}

/** `outpost node` serving FRA on `port` from `nodeDir`, as one process, quiet. */
const nodeArgv = (entry: string[], nats: string, port: number, nodeDir: string) => [
  ...entry,
  'node',
  '--nats',
  nats,
  '--pop',
  'FRA',
  '--port',
  String(port),
  '--processes',
  '1',
  '--dir',
  nodeDir,
  '--log-level',
  'error',
];

export async function nodesBench(o: {
  pops: number;
  starts: number;
  seconds: number;
  rounds: number;
  deploys: number;
}) {
  let throughput: Record<string, { viaRouter: number; inDev: number }> = {};
  const nats = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-nodes-'));
  const nodes: NodeProcess[] = [];
  const table: string[] = [];
  let built: BuiltCopy | null = null;
  try {
    project(dir, 'v0');
    await cli(['deploy', dir, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    const httpScript = join(dir, 'http.mjs');
    writeFileSync(
      httpScript,
      "import { createServer } from 'node:http'; createServer((q, s) => s.end('hello')).listen(Number(process.argv[2]), '127.0.0.1');\n",
    );
    // The built CLI (one bundle through its loader, as after `npm run build`), its code cache
    // written by a first start that runs long enough (src/cli/bundle-loader.cjs).
    built = await builtCopy();
    const builtArgv = ['--no-node-snapshot', '--expose-gc', built.loader];
    await warmCodeCache(builtArgv, nats.url);
    const starts = {
      http: [] as number[],
      node: [] as number[],
      restart: [] as number[],
      tsx: [] as number[],
      dev: [] as number[],
    };
    for (let i = 0; i < o.starts; i++) {
      const port = 19100 + i * 5;
      starts.http.push(await startToFirst(['--no-node-snapshot', httpScript, String(port)], port));
      const nodeDir = mkdtempSync(join(tmpdir(), 'outpost-bench-node-'));
      starts.node.push(await startToFirst(nodeArgv(builtArgv, nats.url, port + 1, nodeDir), port + 1));
      // Restarted: the artifact is in its --dir already.
      starts.restart.push(await startToFirst(nodeArgv(builtArgv, nats.url, port + 2, nodeDir), port + 2));
      rmSync(nodeDir, { recursive: true, force: true });
      const tsxDir = mkdtempSync(join(tmpdir(), 'outpost-bench-node-'));
      starts.tsx.push(await startToFirst(nodeArgv(tsxArgv, nats.url, port + 3, tsxDir), port + 3));
      rmSync(tsxDir, { recursive: true, force: true });
      starts.dev.push(await startToFirst(devArgv(dir, String(port + 4), builtArgv), port + 4));
    }
    const s = {
      http: median(starts.http),
      node: median(starts.node),
      restart: median(starts.restart),
      tsx: median(starts.tsx),
      dev: median(starts.dev),
    };
    const vs = (ms: number) => `${fmt(ms, 0)} ms  (${fmt(ms / s.http)}x node:http)`;
    table.push(
      'Start to first response (spawn → 200, median)',
      `  node:http (--no-node-snapshot)                ${fmt(s.http, 0)} ms`,
      `  outpost node, built, new --dir (downloads)    ${vs(s.node)}; goal 150 ms`,
      `  outpost node, built, restarted (artifact kept) ${vs(s.restart)}`,
      `  outpost node, TypeScript sources through tsx  ${vs(s.tsx)}`,
      `  outpost dev, built (bundles the project)      ${vs(s.dev)}`,
      '',
    );

    // Throughput per core: the router and one node process together on core 0 against one
    // `outpost dev` process on core 0 (one at a time, rounds interleaved); wrk on core 1.
    // The origin is a process of its own: this one blocks while wrk runs (execFileSync).
    const originScript = join(dir, 'origin.mjs');
    writeFileSync(
      originScript,
      "import { createServer } from 'node:http'; createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'public, max-age=3600' }); s.end('body { color: #333 }\\n'); }).listen(19070, '127.0.0.1');\n",
    );
    const origin = spawn(process.execPath, [originScript], { stdio: 'ignore' });
    const originUrl = 'http://127.0.0.1:19070';
    project(dir, 'v0', originUrl);
    await cli(['deploy', dir, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    const node = await startNodeProcess(nats.url, 'FRA', { extra: ['--egress-allow', 'loopback'] });
    nodes.push(node);
    const routerPort = 19080;
    const router = spawn(
      process.execPath,
      [...tsxArgv, 'router', '--nats', nats.url, '--port', String(routerPort), '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    const dev = spawn(process.execPath, devArgv(dir, '19090'), { stdio: 'ignore' });
    const pinned =
      pin(node.child.pid as number, 0) && pin(router.pid as number, 0) && pin(dev.pid as number, 0);
    pin(process.pid, 1);
    try {
      await answered(routerPort, 'outpost router');
      await answered(19090, 'outpost dev');
      const rounds = {
        hello: { net: [] as number[], dev: [] as number[] },
        hit: { net: [] as number[], dev: [] as number[] },
      };
      for (const [path, key, bytes] of [
        ['/', 'hello', 8],
        ['/cached', 'hit', 20],
      ] as const) {
        // Warm-up (JIT, connections, the cache entry), not counted.
        await load(routerPort, path, 2, bytes);
        await load(19090, path, 2, bytes);
        for (let i = 0; i < o.rounds; i++) {
          rounds[key].net.push(await load(routerPort, path, o.seconds, bytes));
          rounds[key].dev.push(await load(19090, path, o.seconds, bytes));
        }
      }
      const row = (label: string, r: { net: number[]; dev: number[] }) =>
        `  ${label.padEnd(34)} ${fmt(median(r.net), 0).padStart(8)} ${fmt(median(r.dev), 0).padStart(8)}   ${fmt(median(r.net) / median(r.dev))}x`;
      table.push(
        `Requests/s, server side on one core${pinned ? '' : ' (taskset missing: not pinned)'}, ${hasWrk ? 'wrk -c64' : 'autocannon -c32'} on the other, median of ${o.rounds}`,
        '                                     router→node  outpost dev   ratio',
        row('hello world', rounds.hello),
        row('cache hit (worker fetch, cached)', rounds.hit),
        '',
      );
      throughput = {
        hello: { viaRouter: median(rounds.hello.net), inDev: median(rounds.hello.dev) },
        hit: { viaRouter: median(rounds.hit.net), inDev: median(rounds.hit.dev) },
      };
    } finally {
      router.kill('SIGKILL');
      dev.kill('SIGKILL');
      origin.kill('SIGKILL');
      pin(process.pid, 0);
      execFileSync('taskset', ['-a', '-p', '-c', '0,1', String(process.pid)], { stdio: 'ignore' });
      execFileSync('taskset', ['-a', '-p', '-c', '0,1', String(node.child.pid)], { stdio: 'ignore' });
    }

    // Deploy and purge fan-out to `pops` node processes.
    const world = loadTopology('world').pops.map((p) => p.id);
    const more = world.filter((p) => p !== 'FRA').slice(0, o.pops - 1);
    for (let i = 0; i < more.length; i += 4)
      nodes.push(...(await Promise.all(more.slice(i, i + 4).map((p) => startNodeProcess(nats.url, p)))));
    await new Promise((r) => setTimeout(r, 2000));
    const deploys: number[] = [];
    for (let i = 1; i <= o.deploys; i++) {
      project(dir, `v${i}`);
      const t = performance.now();
      const r = await cli(['deploy', dir, '--nats', nats.url, '--waves', 'all', '--wait', '60000']);
      if (r.code !== 0 || !r.out.includes(`${nodes.length} of ${nodes.length}`))
        throw new Error(`deploy failed: ${r.out}${r.err}`);
      deploys.push(performance.now() - t);
    }
    const purges: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await cli(['cache', 'purge', '--everything', '--nats', nats.url]);
      const m = /in (\d+) ms/.exec(r.out);
      if (r.code !== 0 || !m) throw new Error(`purge failed: ${r.out}${r.err}`);
      purges.push(Number(m[1]));
    }
    table.push(
      `Fan-out to ${nodes.length} node processes (one per PoP)`,
      `  deploy (bundle, store, every node pre-warmed and switched)   ${fmt(median(deploys), 0)} ms median of ${deploys.length}`,
      `  purge (publish to the last acknowledgement)                  ${fmt(median(purges), 0)} ms median of ${purges.length}`,
    );
    return { table, starts: s, throughput, deployMs: median(deploys), purgeMs: median(purges) };
  } finally {
    for (const n of nodes) {
      n.child.kill('SIGKILL');
      await n.exited;
      rmSync(n.dir, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    built?.remove();
    await nats.dispose();
  }
}
