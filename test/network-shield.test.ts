/**
 * Tiered caching between processes: two `outpost node` PoPs of one region fill their caches
 * through an `outpost shield` process of that region (one origin request for both), purges
 * reach the shield, the shield answers nobody without the network secret, and a dead shield
 * leaves the PoPs filling from the origin themselves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { loadTopology, Membership } from '../src/network/index.ts';
import { waitFor } from './helpers.ts';
import {
  cli,
  type NodeProcess,
  startNodeProcess,
  startShieldProcess,
  stopNodeProcesses,
} from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

const SECRET = 'test-network-secret-0123456789';
const topology = loadTopology('world');
const FRA = topology.pops.find((p) => p.id === 'FRA');
const REGION = FRA?.shield ?? '';
/** Another PoP of FRA's region. */
const SIBLING = topology.pops.find((p) => p.shield === REGION && p.id !== 'FRA')?.id ?? '';

describeNeeding(NATS_SERVER, 'tiered caching between node processes', () => {
  let nats: NatsServer;
  let origin: Server;
  let originUrl = '';
  let project = '';
  let secretFile = '';
  const hits = new Map<string, number>();
  const nodes: NodeProcess[] = [];
  let shield: NodeProcess;
  let members: Membership;

  const get = async (node: NodeProcess, path: string) => {
    const r = await fetch(`${node.url}${path}`);
    return {
      status: r.status,
      body: await r.text(),
      shield: r.headers.get('outpost-shield'),
      timing: r.headers.get('server-timing') ?? '',
    };
  };

  before(async () => {
    assert.ok(REGION && SIBLING, 'the world topology has two PoPs in FRA’s shield region');
    nats = await startNatsServer();
    origin = createServer((req, res) => {
      const n = (hits.get(req.url ?? '') ?? 0) + 1;
      hits.set(req.url ?? '', n);
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' });
      res.end(`${req.url} #${n}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    project = mkdtempSync(join(tmpdir(), 'outpost-shield-project-'));
    writeFileSync(
      join(project, 'wrangler.toml'),
      `name = "tiered"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n[vars]\nORIGIN = "${originUrl}"\n`,
    );
    writeFileSync(
      join(project, 'index.js'),
      `export default {
  async fetch(req, env) {
    const r = await fetch(env.ORIGIN + new URL(req.url).pathname, { cf: { cacheEverything: true } });
    return new Response(await r.text(), { status: r.status });
  },
};
`,
    );
    secretFile = join(project, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    const tiered = ['--egress-allow', 'loopback', '--secret-file', secretFile];
    shield = await startShieldProcess(nats.url, REGION, tiered);
    for (const n of await Promise.all(
      ['FRA', SIBLING].map((p) => startNodeProcess(nats.url, p, { extra: tiered })),
    ))
      nodes.push(n);
    members = await Membership.connect({ servers: nats.url, leaveMs: 1500 });
    await members.watch();
    await waitFor(() => members.members().length === 3 || undefined, 10_000, 'two nodes and a shield');
  });

  after(async () => {
    await stopNodeProcesses();
    await members?.close();
    for (const n of [...nodes, shield].filter(Boolean)) {
      n.child.kill('SIGKILL');
      await n.exited;
      if (n.dir) rmSync(n.dir, { recursive: true, force: true });
    }
    await nats?.dispose();
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('two PoPs of a region ask the origin once: the second is a shield hit, said in Outpost-Shield and Server-Timing', async () => {
    const [fra, sibling] = nodes;
    const a = await get(fra, '/page');
    assert.equal(a.status, 200);
    assert.equal(a.body, '/page #1');
    assert.equal(a.shield, `${REGION} MISS`);
    assert.match(a.timing, /shield;dur=[\d.]+;desc="FRA to \S+ MISS"/);
    assert.match(a.timing, /origin;dur=[\d.]+;desc="\S+ to origin"/);
    const b = await get(sibling, '/page');
    assert.equal(b.body, '/page #1', 'the sibling PoP got the shield’s copy');
    assert.equal(b.shield, `${REGION} HIT`);
    assert.doesNotMatch(b.timing, /origin;/, 'a shield hit has no origin hop');
    assert.equal(hits.get('/page'), 1);
  });

  it('the shield is no open proxy: without the network secret it answers 401 and fetches nothing', async () => {
    const before = hits.get('/secret') ?? 0;
    for (const secret of [undefined, 'wrong-secret-but-long-enough']) {
      const r = await fetch(shield.url, {
        headers: {
          'outpost-tier-url': `${originUrl}/secret`,
          ...(secret ? { 'outpost-tier-secret': secret } : {}),
        },
      });
      assert.equal(r.status, 401);
      await r.text();
    }
    assert.equal(hits.get('/secret') ?? 0, before);
    // With the secret, a policy that is not one is refused by name.
    const bad = await fetch(shield.url, {
      headers: {
        'outpost-tier-url': `${originUrl}/secret`,
        'outpost-tier-secret': SECRET,
        'outpost-tier-policy': Buffer.from('{"edgeTtl":"soon"}').toString('base64url'),
      },
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /edgeTtl must be a number/);
  });

  it('a purge reaches the shield as well as the PoPs, and is counted apart', async () => {
    const [fra, sibling] = nodes;
    await get(fra, '/purged');
    assert.equal((await get(sibling, '/purged')).shield, `${REGION} HIT`);
    const p = await cli(['cache', 'purge', '--prefix', '/purged', '--nats', nats.url]);
    assert.equal(p.code, 0, p.out + p.err);
    assert.match(p.out, /2 of 2 PoP\(s\) acknowledged, 1 of 1 shield\(s\)/);
    const again = await get(sibling, '/purged');
    assert.equal(again.body, '/purged #2', 'neither the PoP nor the shield kept it');
    assert.equal(again.shield, `${REGION} MISS`);
  });

  it('a killed shield leaves its PoPs filling from the origin themselves', async () => {
    shield.child.kill('SIGKILL');
    await shield.exited;
    const r = await get(nodes[0], '/after');
    assert.equal(r.status, 200);
    assert.equal(r.body, '/after #1');
    assert.equal(r.shield, null, 'no shield took part');
  });
});
