/**
 * The network without its coordinator: nodes keep serving while NATS is restarted, or while one
 * server of a three-server JetStream cluster is killed, and deploys and purges work again (or
 * go on) afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  type NatsCluster,
  type NatsServer,
  startNatsCluster,
  startNatsServer,
} from '../src/kv/nats-harness.ts';
import { loadTopology, Membership, type RouterServer, startRouterServer } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { waitFor } from './helpers.ts';
import { cli, type NodeProcess, startNodeProcess } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

function writeProject(dir: string, version: string): void {
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "outage"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n[vars]\nV = "${version}"\n[[kv_namespaces]]\nbinding = "KV"\nid = "outage-kv"\n`,
  );
  writeFileSync(
    join(dir, 'index.js'),
    `export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname === '/kv') return new Response(String(await env.KV.get('k')));
    return new Response(env.V + " " + req.cf.colo);
  },
};
`,
  );
}

/** Two nodes and a router on `nats`; `extra` flags for the nodes and the CLI. */
async function network(nats: string, extra: string[]) {
  const project = mkdtempSync(join(tmpdir(), 'outpost-outage-'));
  writeProject(project, 'v1');
  const d = await cli(['deploy', project, '--nats', nats, '--waves', 'all', '--wait', '0', ...extra]);
  assert.equal(d.code, 0, d.err);
  const nodes: NodeProcess[] = await Promise.all(
    ['FRA', 'SYD'].map((p) => startNodeProcess(nats, p, { extra })),
  );
  const members = await Membership.connect({ servers: nats, leaveMs: 1500 });
  await members.watch();
  const router: RouterServer = await startRouterServer({
    members,
    topology: loadTopology('world'),
    port: 0,
    upstreamTimeoutMs: 1000,
    observer: memoryObserver(),
  });
  await waitFor(() => members.members().length === 2 || undefined, 10_000, 'two nodes');
  const get = async (from: string) => {
    const r = await fetch(router.url, { headers: { 'outpost-client-location': from } });
    return { status: r.status, body: await r.text() };
  };
  /** Requests until stopped; resolves with every answer. */
  const traffic = () => {
    const results: { status: number; body: string }[] = [];
    let stop = false;
    const loops = ['Frankfurt', 'Sydney'].map(async (from) => {
      while (!stop) {
        results.push(await get(from).catch(() => ({ status: 0, body: '' })));
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    return async () => {
      stop = true;
      await Promise.all(loops);
      return results;
    };
  };
  return {
    project,
    routerUrl: router.url,
    get,
    traffic,
    close: async () => {
      await router.close();
      await members.close();
      for (const n of nodes) {
        n.child.kill('SIGKILL');
        await n.exited;
        rmSync(n.dir, { recursive: true, force: true });
      }
      rmSync(project, { recursive: true, force: true });
    },
  };
}

describeNeeding(NATS_SERVER, 'the network through NATS outages', () => {
  describe('one NATS server, restarted', () => {
    let nats: NatsServer;
    let net: Awaited<ReturnType<typeof network>>;
    before(async () => {
      nats = await startNatsServer();
      net = await network(nats.url, []);
    });
    after(async () => {
      await net?.close();
      await nats?.dispose();
    });

    it('keeps serving while NATS is down; deploys and purges work again once it is back', async () => {
      const stop = net.traffic();
      await new Promise((r) => setTimeout(r, 200));
      await nats.stop();
      // Longer than the leave interval: nobody can heartbeat, and nobody is dropped for it.
      await new Promise((r) => setTimeout(r, 2500));
      await nats.restart();
      await new Promise((r) => setTimeout(r, 500));
      const results = await stop();
      assert.ok(results.length > 50, `traffic ran through the outage (${results.length})`);
      assert.deepEqual(
        results.filter((r) => r.status !== 200 || !/^v1 (FRA|SYD)$/.test(r.body)),
        [],
        'every request was served',
      );
      writeProject(net.project, 'v2');
      const d = await waitFor(
        async () => {
          const r = await cli([
            'deploy',
            net.project,
            '--nats',
            nats.url,
            '--waves',
            'all',
            '--wait',
            '15000',
          ]);
          // Until the nodes have heartbeated again the deploy sees none (and waits for none).
          return r.code === 0 && /2 of 2/.test(r.out) ? r : undefined;
        },
        30_000,
        'a deploy after the restart',
      );
      assert.match(d.out, /2 of 2 node\(s\) serve/);
      assert.match((await net.get('Sydney')).body, /^v2 SYD$/);
      const p = await cli(['cache', 'purge', '--everything', '--nats', nats.url]);
      assert.equal(p.code, 0, p.out + p.err);
      assert.match(p.out, /2 of 2 PoP\(s\) acknowledged/);
    });
  });

  describe('a three-server JetStream cluster, one server killed', () => {
    let cluster: NatsCluster;
    let net: Awaited<ReturnType<typeof network>>;
    before(async () => {
      cluster = await startNatsCluster(3);
      net = await network(cluster.urls, ['--replicas', '3']);
    });
    after(async () => {
      await net?.close();
      await cluster?.dispose();
    });

    it('every bucket and stream the network made is replicated on all three servers', async () => {
      // KV namespaces are made on first use.
      const kv = await fetch(`${net.routerUrl}/kv`, { headers: { 'outpost-client-location': 'Frankfurt' } });
      assert.equal(`${kv.status} ${await kv.text()}`, '200 null');
      const nc = await connect({ servers: cluster.urls.split(',') });
      try {
        const jsm = await jetstreamManager(nc);
        const streams: { name: string; replicas: number }[] = [];
        for await (const si of jsm.streams.list())
          streams.push({ name: si.config.name, replicas: si.config.num_replicas });
        const names = streams.map((x) => x.name);
        for (const want of ['OUTPOST_QUEUES', 'OUTPOST_PURGES', 'KV_outpost_nodes', 'KV_outpost_deployments'])
          assert.ok(names.includes(want), `${want} among ${names.join(', ')}`);
        assert.ok(
          names.some((n) => n.startsWith('KV_outpost_kv_')),
          `a KV namespace bucket among ${names.join(', ')}`,
        );
        assert.ok(
          names.length >= 9,
          `the queue, Workflow, cron, Analytics, KV and control streams: ${names.join(', ')}`,
        );
        assert.deepEqual(
          streams.filter((x) => x.replicas !== 3),
          [],
          'every stream has 3 replicas',
        );
      } finally {
        await nc.close();
      }
    });

    it('keeps serving, deploying and purging with one of three NATS servers gone', async () => {
      const stop = net.traffic();
      await new Promise((r) => setTimeout(r, 200));
      await cluster.servers[0].stop();
      await new Promise((r) => setTimeout(r, 2000));
      writeProject(net.project, 'v2');
      const d = await waitFor(
        async () => {
          // JetStream moves the leaders of the streams the dead server led: requests time out
          // meanwhile, and the deploy is tried again.
          const argv = ['deploy', net.project, '--nats', cluster.urls, '--waves', 'all', '--wait', '15000'];
          const r = await cli([...argv, '--replicas', '3']).catch((err: Error) => ({
            code: 1,
            out: err.message,
            err: '',
          }));
          return r.code === 0 && /2 of 2/.test(r.out) ? r : undefined;
        },
        // JetStream moves the stream leaders the dead server held: measured here, ~20 s.
        90_000,
        'a deploy with a server down',
      );
      const results = await stop();
      assert.match(d.out, /2 of 2 node\(s\) serve/);
      assert.deepEqual(
        results.filter((r) => r.status !== 200 || !/^v[12] (FRA|SYD)$/.test(r.body)).slice(0, 5),
        [],
        `every request was served (${results.length})`,
      );
      const p = await waitFor(
        async () => {
          const r = await cli([
            'cache',
            'purge',
            '--everything',
            '--nats',
            cluster.urls,
            '--replicas',
            '3',
          ]).catch((err: Error) => ({ code: 1, out: err.message, err: '' }));
          return r.code === 0 ? r : undefined;
        },
        60_000,
        'a purge with a server down',
      );
      assert.match(p.out, /2 of 2 PoP\(s\) acknowledged/);
    });
  });
});
