/**
 * `outpost node --processes 2`: Node's cluster forks two whole nodes behind one port, held by the
 * primary, which hands each connection to the process of its host; each joins the membership,
 * both serve, and stopping the primary stops and unregisters both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { loadTopology, Membership, startRouterServer } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { waitFor } from './helpers.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

/** GET on a connection of its own, for `host` (the primary hands it to that host's process): status 200's text. */
function getFresh(url: string, host: string, agent: Agent | false = false): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent, headers: { host, 'outpost-pop': 'FRA' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`)),
      );
    }).on('error', reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const topology = loadTopology('world');

describeNeeding(NATS_SERVER, 'a node of several processes (--processes)', () => {
  let nats: NatsServer;
  let project = '';
  let node: NodeProcess | null = null;
  const dirs = new Set<string>();
  let members: Membership;
  let port = 0;

  before(async () => {
    nats = await startNatsServer();
    project = mkdtempSync(join(tmpdir(), 'outpost-processes-'));
    writeFileSync(
      join(project, 'wrangler.toml'),
      [
        'name = "procs"',
        'main = "index.js"',
        'compatibility_date = "2025-01-01"',
        '[[durable_objects.bindings]]',
        'name = "COUNTER"',
        'class_name = "Counter"',
        '[[migrations]]',
        'tag = "v1"',
        'new_sqlite_classes = ["Counter"]',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'index.js'),
      [
        'import { DurableObject } from "cloudflare:workers";',
        'export class Counter extends DurableObject {',
        '  instance = crypto.randomUUID();',
        '  async fetch() {',
        '    const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;',
        '    await this.ctx.storage.put("n", n);',
        '    return new Response(this.instance + " " + n);',
        '  }',
        '}',
        'const me = crypto.randomUUID();',
        'export default {',
        '  async fetch(req, env) {',
        '    if (new URL(req.url).pathname === "/count")',
        '      return new Response((await (await env.COUNTER.getByName("one").fetch(req)).text()) + " " + me);',
        '    return new Response("hi " + req.cf.colo);',
        '  },',
        '};',
        '',
      ].join('\n'),
    );
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    members = await Membership.connect({ servers: nats.url, leaveMs: 1500 });
    await members.watch();
    port = await freePort();
  });

  after(async () => {
    await stopNodeProcesses();
    node?.child.kill('SIGKILL');
    await members?.close();
    await nats?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (project) rmSync(project, { recursive: true, force: true });
  });

  /**
   * Two processes on one port; one Durable Object called through both (a connection each, spread
   * by the cluster): one instance of it, every increment counted once, in order.
   */
  async function twoProcesses(extra: string[], dir?: string, from = 0): Promise<void> {
    // startNodeProcess passes --processes 1; the later flag wins.
    node = await startNodeProcess(nats.url, 'FRA', {
      port,
      extra: ['--processes', '2', ...extra],
      ...(dir ? { dir } : {}),
    });
    dirs.add(node.dir);
    const started = node;
    await waitFor(
      () => (members.members().filter((m) => m.pop === 'FRA').length === 2 ? true : undefined),
      30_000,
      'two FRA processes in the membership',
    ).catch((err: Error) => {
      // Stopped here, or it holds the port into the next test; what it printed says why.
      started.child.kill('SIGKILL');
      throw new Error(`${err.message}; the node printed:\n${started.output()}`);
    });
    const fra = members.members();
    assert.equal(new Set(fra.map((m) => m.id)).size, 2, 'each process is a member of its own');
    const own = new Set(fra.map((m) => m.peer));
    assert.equal(own.size, 2, `each process has a port of its own: ${[...own].join(', ')}`);
    for (const peer of own) {
      // Calls between nodes only: the app and the admin endpoints are the shared port's.
      for (const path of ['/', '/count', '/__outpost/metrics', '/__outpost/do/objects']) {
        const r = await fetch(`${peer}${path}`, {
          headers: { authorization: 'Bearer x', 'x-forwarded-for': '1.2.3.4' },
        });
        assert.equal(r.status, 404, `${peer}${path} answers only calls between nodes`);
        await r.body?.cancel();
      }
      // ...and only with the secret: a guessed one, or none, is refused before anything runs.
      for (const secret of [undefined, 'guess', `${'a'.repeat(64)}`]) {
        const r = await fetch(`${peer}/__outpost/peer/object`, {
          method: 'POST',
          headers: secret ? { 'outpost-peer-secret': secret } : {},
          body: 'x',
        });
        assert.equal(r.status, 403, `a peer call with secret ${secret} is refused`);
        await r.body?.cancel();
      }
    }
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(`${r.status} ${await r.text()}`, '200 hi FRA');
    }
    assert.deepEqual(
      members.members().map((m) => m.processes),
      [2, 2],
      'each says how many processes serve the node (routers keep a pool per slot)',
    );
    // 8 hosts, 3 connections each: every connection for a host goes to the same process.
    const seen: string[] = [];
    const callerOf = new Map<string, Set<string>>();
    for (let i = 0; i < 24; i++) {
      const host = `h${i % 8}.example`;
      const text = await getFresh(`http://127.0.0.1:${port}/count`, host);
      seen.push(text);
      callerOf.set(host, (callerOf.get(host) ?? new Set()).add(text.split(' ')[2] as string));
    }
    for (const [host, callers] of callerOf)
      assert.equal(
        callers.size,
        1,
        `every connection for ${host} went to one process: ${[...callers].join(', ')}`,
      );
    const callers = new Set(seen.map((s) => s.split(' ')[2]));
    assert.equal(callers.size, 2, 'the hosts are spread over both processes');
    // Through `outpost router`, whose connections are kept-alive and shared: each host still
    // reaches the process it reached directly (the router keeps a pool per slot).
    const router = await startRouterServer({ members, topology, port: 0, observer: memoryObserver() });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    try {
      for (let round = 0; round < 3; round++)
        for (const [host, direct] of callerOf) {
          const text = await getFresh(`${router.url}/count`, host, keepAlive);
          seen.push(text);
          assert.equal(text.split(' ')[2], [...direct][0], `through the router, ${host} reaches its process`);
        }
    } finally {
      keepAlive.destroy();
      await router.close();
    }
    const instances = new Set(seen.map((s) => s.split(' ')[0]));
    assert.equal(instances.size, 1, `one live instance of the object, saw ${[...instances].join(', ')}`);
    assert.deepEqual(
      seen.map((s) => Number(s.split(' ')[1])),
      seen.map((_, i) => from + i + 1),
    );
    node.child.kill('SIGTERM');
    await node.exited;
    await waitFor(() => (members.members().length === 0 ? true : undefined), 10_000, 'both processes left');
  }

  it('forks two nodes on one port sharing one instance of each object; SIGTERM stops both', async () => {
    await twoProcesses([]);
    // Started again on its folder, the node finds its objects where they were.
    const dir = node?.dir as string;
    await twoProcesses([], dir, 48);
    // As one process it keeps objects on local SQLite instead, and says it does not serve these.
    node = await startNodeProcess(nats.url, 'FRA', { port, dir });
    assert.match(node.output(), /kept in NATS while it ran as several processes/);
    node.child.kill('SIGTERM');
    await node.exited;
  });

  it('the same with the network secret (objects shared with the whole network)', async () => {
    const secretFile = join(project, 'secret');
    writeFileSync(secretFile, 'a network secret of enough length for the test');
    await twoProcesses(['--secret-file', secretFile]);
  });
});

describeNeeding(NATS_SERVER, 'a node before anything is deployed', () => {
  let nats: NatsServer;
  let node: NodeProcess | null = null;
  let project = '';
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await stopNodeProcesses();
    node?.child.kill('SIGKILL');
    if (node) await node.exited;
    if (node) rmSync(node.dir, { recursive: true, force: true });
    if (project) rmSync(project, { recursive: true, force: true });
    await nats?.dispose();
  });

  it('starts, says nothing is deployed, and serves the first deploy when it comes', async () => {
    node = await startNodeProcess(nats.url, 'LHR');
    assert.match(node.output(), /nothing deployed yet/);
    const before = await fetch(`${node.url}/`);
    assert.equal(before.status, 503);
    assert.equal(before.headers.get('outpost-error'), 'NO_DEPLOYMENT');
    assert.match(await before.text(), /No worker is deployed here yet/);
    project = mkdtempSync(join(tmpdir(), 'outpost-first-deploy-'));
    writeFileSync(
      join(project, 'wrangler.toml'),
      'name = "late"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
    );
    writeFileSync(join(project, 'index.js'), 'export default { fetch: () => new Response("late") };\n');
    const d = await cli(['deploy', project, '--nats', nats.url, '--wait', '20000']);
    assert.equal(d.code, 0, d.out + d.err);
    const r = await fetch(`${node.url}/`);
    assert.equal(`${r.status} ${await r.text()}`, '200 late');
  });
});
