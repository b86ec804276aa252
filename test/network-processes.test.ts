/**
 * `outpost node --processes 2`: Node's cluster forks two whole nodes sharing one port; each
 * joins the membership, both serve, and stopping the primary stops and unregisters both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { Membership } from '../src/network/index.ts';
import { waitFor } from './helpers.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describeNeeding(NATS_SERVER, 'a node of several processes (--processes)', () => {
  let nats: NatsServer;
  let project = '';
  let node: NodeProcess | null = null;
  let members: Membership;
  let port = 0;

  before(async () => {
    nats = await startNatsServer();
    project = mkdtempSync(join(tmpdir(), 'outpost-processes-'));
    writeFileSync(
      join(project, 'wrangler.toml'),
      'name = "procs"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
    );
    writeFileSync(
      join(project, 'index.js'),
      'export default { fetch: (req) => new Response("hi " + req.cf.colo) };\n',
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
    if (node) rmSync(node.dir, { recursive: true, force: true });
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('forks two nodes on one port, both registered and serving; SIGTERM stops both', async () => {
    // startNodeProcess passes --processes 1; the later flag wins.
    node = await startNodeProcess(nats.url, 'FRA', { port, extra: ['--processes', '2'] });
    await waitFor(
      () => (members.members().filter((m) => m.pop === 'FRA').length === 2 ? true : undefined),
      30_000,
      'two FRA processes in the membership',
    );
    const ids = new Set(members.members().map((m) => m.id));
    assert.equal(ids.size, 2, 'each process is a member of its own');
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(`${r.status} ${await r.text()}`, '200 hi FRA');
    }
    node.child.kill('SIGTERM');
    await node.exited;
    await waitFor(() => (members.members().length === 0 ? true : undefined), 10_000, 'both processes left');
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
