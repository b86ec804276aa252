/**
 * `outpost network up | status | down`: a small network of real processes (nats-server, two
 * nodes, their shields, the router) started with one command, serving a deployed project by
 * location, and stopped with another leaving no process behind.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { cli } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

interface State {
  router: string;
  processes: { role: string; name: string; pid: number }[];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describeNeeding(NATS_SERVER, 'outpost network up / down', () => {
  let root = '';
  let dir = '';
  let state: State | null = null;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'outpost-network-up-'));
    dir = join(root, 'net');
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'wrangler.toml'),
      'name = "up-hello"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n',
    );
    writeFileSync(
      join(project, 'index.js'),
      'export default { fetch: (req) => new Response("hello from " + req.cf.colo) };\n',
    );
  });

  after(async () => {
    // Whatever happened, no process of this test outlives it.
    // (If up failed, its network.json is gone: it stopped its processes itself.)
    for (const p of state?.processes ?? []) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('starts nats-server, a node per PoP, their shields and the router, serving the project by location', async () => {
    const up = await cli([
      'network',
      'up',
      join(root, 'project'),
      '--pops',
      'FRA,SYD',
      '--port',
      '0',
      '--dir',
      dir,
    ]);
    assert.equal(up.code, 0, up.out + up.err);
    state = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')) as State;
    assert.match(
      up.out,
      /Outpost network up: 2 node\(s\) \(FRA, SYD\), 2 shield\(s\), router on http:\/\/127\.0\.0\.1:\d+/,
    );
    assert.deepEqual(state.processes.map((p) => `${p.role} ${p.name}`).sort(), [
      'nats nats',
      'node FRA',
      'node SYD',
      'router router',
      'shield apac',
      'shield eu-west',
    ]);
    for (const [from, pop] of [
      ['Frankfurt', 'FRA'],
      ['Sydney', 'SYD'],
    ]) {
      const r = await fetch(state.router, { headers: { 'outpost-client-location': from } });
      assert.equal(`${r.status} ${await r.text()}`, `200 hello from ${pop}`);
    }
    const status = await cli(['network', 'status', '--dir', dir]);
    assert.equal(status.code, 0, status.out);
    assert.equal((status.out.match(/ alive /g) ?? []).length, 6);
    // A second network from the same directory is refused by name.
    const again = await cli(['network', 'up', '--pops', 'FRA', '--port', '0', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.err, /a network is already up from .* network down/);
  });

  it('down stops every process it started, and says so when nothing is up', async () => {
    assert.ok(state, 'the network came up');
    const down = await cli(['network', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /stopped 6 process\(es\)/);
    for (const p of state.processes) assert.equal(alive(p.pid), false, `${p.role} ${p.name} stopped`);
    const none = await cli(['network', 'status', '--dir', dir]);
    assert.match(none.out, /no network is up/);
  });

  it('down never signals a process that merely reuses a recorded pid', async () => {
    const { spawn } = await import('node:child_process');
    const other = spawn('sleep', ['30']);
    try {
      const d = join(root, 'stale');
      mkdirSync(d, { recursive: true });
      // A network.json from before: the pid is now some other process (started later).
      writeFileSync(
        join(d, 'network.json'),
        JSON.stringify({
          topology: 'world',
          nats: 'nats://127.0.0.1:1',
          router: 'http://127.0.0.1:1',
          startedAt: new Date().toISOString(),
          processes: [{ role: 'nats', name: 'nats', pid: other.pid, start: '1', url: '', log: '' }],
        }),
      );
      const st = await cli(['network', 'status', '--dir', d]);
      assert.match(st.out, /DEAD/);
      const down = await cli(['network', 'down', '--dir', d]);
      assert.equal(down.code, 0, down.err);
      assert.equal(alive(other.pid as number), true, 'the unrelated process was left alone');
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('names what is wrong with its options', async () => {
    const r = await cli(['network', 'up', '--pops', 'fra,XXX', '--dir', join(root, 'bad')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /--pops: no PoP XXX in topology world/);
    // A status from a directory with no network says so, with the directory in full.
    const none = await cli(['network', 'status', '--dir', join(root, 'bad')]);
    assert.equal(none.code, 1);
    assert.match(none.out, new RegExp(`no network is up from ${join(root, 'bad')}`));
  });
});
