/**
 * The node-to-node Durable Object endpoint (/__outpost/peer/object) is reachable by any client
 * of a node (the router relays every path): without the network secret it answers 403 to calls
 * and to WebSocket upgrades alike, and runs nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { serialize } from 'node:v8';
import { WebSocket } from 'ws';
import { type NatsServer, startNatsServer } from '../../src/kv/nats-harness.ts';
import { Membership } from '../../src/network/index.ts';
import { waitFor } from '../helpers.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from '../support/nodes.ts';
import { describeNeeding, NATS_SERVER } from '../support/programs.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'do-network');

/** A call a peer would send to add 1000 to the counter: what an attacker forges. */
function forgedCall(): Buffer {
  return serialize({
    tenant: 'do-net',
    className: 'Counter',
    id: '0'.repeat(64),
    name: null,
    hint: null,
    hops: 2,
    invocations: 1,
    op: { kind: 'rpc', method: 'add', args: [1000] },
  });
}

describeNeeding(NATS_SERVER, 'the peer endpoint of a node without the secret', () => {
  let nats: NatsServer;
  let node: NodeProcess;
  let dir = '';
  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'outpost-peer-'));
    writeFileSync(join(dir, 'secret'), 'test-network-secret-0123456789');
    const d = await cli(['deploy', FIXTURE, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    node = await startNodeProcess(nats.url, 'FRA', { extra: ['--secret-file', join(dir, 'secret')] });
  });
  after(async () => {
    await stopNodeProcesses();
    node?.child.kill('SIGKILL');
    await node?.exited;
    await nats?.dispose();
    if (node) rmSync(node.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses calls without the secret or with a wrong one; the object is untouched', async () => {
    const call = forgedCall();
    for (const headers of <Record<string, string>[]>[
      {},
      { 'outpost-peer-secret': 'wrong-secret-0123456789' },
      { 'outpost-peer-secret': '' },
    ]) {
      const r = await fetch(`${node.url}/__outpost/peer/object`, { method: 'POST', headers, body: call });
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
    const r = await fetch(`${node.url}/?name=one`);
    assert.equal(((await r.json()) as { value: number }).value, 0);
  });

  it('refuses a WebSocket upgrade without the secret', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${node.url.replace('http', 'ws')}/__outpost/peer/object`, {
        headers: { 'outpost-object-call': serialize({ tenant: 'do-net' }).toString('base64') },
      });
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    assert.equal(status, 403);
  });
});

describeNeeding(NATS_SERVER, "the own ports of a node's processes (--processes 2, no network secret)", () => {
  let nats: NatsServer;
  let node: NodeProcess;
  let members: Membership;
  let peers: string[] = [];
  before(async () => {
    nats = await startNatsServer();
    const d = await cli(['deploy', FIXTURE, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    members = await Membership.connect({ servers: nats.url, leaveMs: 1500 });
    await members.watch();
    node = await startNodeProcess(nats.url, 'FRA', { port: await freePort(), extra: ['--processes', '2'] });
    await waitFor(
      () => (members.members().filter((m) => m.peer).length === 2 ? true : undefined),
      30_000,
      'two processes with own ports in the membership',
    );
    peers = members.members().map((m) => m.peer as string);
  });
  after(async () => {
    node?.child.kill('SIGTERM');
    await node?.exited;
    await stopNodeProcesses();
    await members?.close();
    await nats?.dispose();
    if (node) rmSync(node.dir, { recursive: true, force: true });
  });

  it('serve neither the app nor the admin endpoints, whatever the client claims', async () => {
    for (const peer of peers)
      for (const path of ['/', '/?name=one', '/__outpost/metrics', '/__outpost/do/objects', '/__outpost/']) {
        const r = await fetch(`${peer}${path}`, {
          headers: { authorization: 'Bearer guess', 'x-forwarded-for': '10.0.0.1' },
        });
        assert.equal(r.status, 404, `${peer}${path}`);
        await r.body?.cancel();
      }
  });

  it('refuse calls and WebSocket upgrades without the processes’ secret; the object is untouched', async () => {
    const call = forgedCall();
    for (const peer of peers) {
      for (const headers of <Record<string, string>[]>[{}, { 'outpost-peer-secret': 'f'.repeat(64) }]) {
        const r = await fetch(`${peer}/__outpost/peer/object`, { method: 'POST', headers, body: call });
        assert.equal(r.status, 403, `${peer} ${JSON.stringify(headers)}`);
        await r.body?.cancel();
      }
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${peer.replace('http', 'ws')}/__outpost/peer/object`, {
          headers: { 'outpost-object-call': serialize({ tenant: 'do-net' }).toString('base64') },
        });
        ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      assert.equal(status, 403);
    }
    const r = await fetch(`${node.url}/?name=one`);
    assert.equal(((await r.json()) as { value: number }).value, 0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
