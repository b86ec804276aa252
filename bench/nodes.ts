/**
 * A network of node processes (docs/deploying.md), same run, on a real nats-server:
 * - start to first response: `outpost node` (from a deployed artifact) against a plain
 *   node:http server and `outpost dev` of the same project, each spawned and polled until it
 *   answers 200 (median of `starts`; processes run the TypeScript sources through tsx, as the
 *   CLI does without a build);
 * - hello-world requests/s through `outpost router` to one node process against the same worker
 *   in one `outpost dev` process (autocannon, 32 connections; not pinned: a first look);
 * - deploy time to `pops` node processes (store + every node switched, `--waves all`) and purge
 *   fan-out time (publish to the last acknowledgement), medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startNatsServer } from '../src/kv/nats-harness.ts';
import { loadTopology, Membership, startRouterServer } from '../src/network/index.ts';
import { noopObserver } from '../src/observability/index.ts';
import { cli, type NodeProcess, startNodeProcess } from '../test/support/nodes.ts';
import { fmt, median } from './util.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** `outpost dev <dir>` through tsx on `port`, quiet. */
const devArgv = (dir: string, port: string) => [
  '--no-node-snapshot',
  '--import',
  'tsx',
  MAIN,
  'dev',
  dir,
  '--port',
  port,
  '--no-watch',
  '--log-level',
  'error',
];

function project(dir: string, v: string): void {
  writeFileSync(join(dir, 'wrangler.toml'), `name = "bench-hello"\nmain = "index.js"\n[vars]\nV = "${v}"\n`);
  writeFileSync(
    join(dir, 'index.js'),
    'export default { fetch: (req, env) => new Response("hello " + env.V) };\n',
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

async function rps(url: string, seconds: number, headers: Record<string, string> = {}): Promise<number> {
  const r = await autocannon({ url, connections: 32, duration: seconds, headers });
  return r.requests.average;
}

export async function nodesBench(o: { pops: number; starts: number; seconds: number; deploys: number }) {
  const nats = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-nodes-'));
  const nodes: NodeProcess[] = [];
  const table: string[] = [];
  try {
    project(dir, 'v0');
    await cli(['deploy', dir, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    const httpScript = join(dir, 'http.mjs');
    writeFileSync(
      httpScript,
      "import { createServer } from 'node:http'; createServer((q, s) => s.end('hello')).listen(Number(process.argv[2]), '127.0.0.1');\n",
    );
    const starts = { http: [] as number[], node: [] as number[], dev: [] as number[] };
    for (let i = 0; i < o.starts; i++) {
      const port = 19100 + i * 3;
      starts.http.push(await startToFirst(['--no-node-snapshot', httpScript, String(port)], port));
      const nodeDir = mkdtempSync(join(tmpdir(), 'outpost-bench-node-'));
      starts.node.push(
        await startToFirst(
          [
            '--no-node-snapshot',
            '--import',
            'tsx',
            MAIN,
            'node',
            '--nats',
            nats.url,
            '--pop',
            'FRA',
            '--port',
            String(port + 1),
            '--processes',
            '1',
            '--dir',
            nodeDir,
            '--log-level',
            'error',
          ],
          port + 1,
        ),
      );
      rmSync(nodeDir, { recursive: true, force: true });
      starts.dev.push(await startToFirst(devArgv(dir, String(port + 2)), port + 2));
    }
    const s = { http: median(starts.http), node: median(starts.node), dev: median(starts.dev) };
    table.push(
      'Start to first response (spawn → 200, median)',
      `  node:http (--no-node-snapshot)     ${fmt(s.http, 0)} ms`,
      `  outpost node (deployed artifact)   ${fmt(s.node, 0)} ms  (${fmt(s.node / s.http)}x node:http; goal 150 ms)`,
      `  outpost dev (bundles on start)     ${fmt(s.dev, 0)} ms  (${fmt(s.dev / s.http)}x node:http)`,
      '',
    );

    // Throughput: router → one node process, against one outpost dev process.
    nodes.push(await startNodeProcess(nats.url, 'FRA'));
    const members = await Membership.connect({ servers: nats.url });
    await members.watch();
    const router = await startRouterServer({
      members,
      topology: loadTopology('world'),
      port: 0,
      observer: noopObserver,
    });
    const dev = spawn(process.execPath, devArgv(dir, '19090'), { stdio: 'ignore' });
    await answered(19090, 'outpost dev');
    const viaRouter = median([await rps(router.url, o.seconds), await rps(router.url, o.seconds)]);
    const inDev = median([
      await rps('http://127.0.0.1:19090/', o.seconds),
      await rps('http://127.0.0.1:19090/', o.seconds),
    ]);
    dev.kill('SIGKILL');
    await router.close();
    await members.close();
    table.push(
      'Hello world, 32 connections (not pinned)',
      `  router → node process               ${fmt(viaRouter, 0)} req/s`,
      `  outpost dev, one process            ${fmt(inDev, 0)} req/s`,
      `  ratio                               ${fmt(viaRouter / inDev)}x`,
      '',
    );

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
    return { table, starts: s, viaRouter, inDev, deployMs: median(deploys), purgeMs: median(purges) };
  } finally {
    for (const n of nodes) {
      n.child.kill('SIGKILL');
      await n.exited;
      rmSync(n.dir, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
    await nats.dispose();
  }
}
