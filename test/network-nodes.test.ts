/**
 * A network of real `outpost node` processes on a real nats-server, behind the router: routing
 * by location, failover on SIGKILL and SIGSTOP, recovery, deploys reaching every node and a
 * rollback under traffic that fails no request.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { loadTopology, Membership, type RouterServer, startRouterServer } from '../src/network/index.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { waitFor } from './helpers.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { CHROMIUM, describeNeeding, NATS_SERVER, skipWithout } from './support/programs.ts';

const POPS = ['FRA', 'LHR', 'IAD', 'SFO', 'SYD', 'NRT'];
const topology = loadTopology('world');

function writeProject(dir: string, version: string, broken = false): void {
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "net-hello"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n[vars]\nV = "${version}"\n`,
  );
  writeFileSync(
    join(dir, 'index.js'),
    broken
      ? 'export default { fetch: (req, env) => new Response(env.V + " " + req.cf.colo, { status: 500 }) };\n'
      : `export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname !== '/cached') return new Response(env.V + ' ' + req.cf.colo);
    // The Cache API at this PoP: a value made once, until purged.
    let hit = await caches.default.match(req.url);
    if (!hit) {
      hit = new Response(crypto.randomUUID(), { headers: { 'cache-control': 'max-age=3600' } });
      await caches.default.put(req.url, hit.clone());
    }
    return hit;
  },
};
`,
  );
}

describeNeeding(NATS_SERVER, 'a network of node processes', () => {
  let nats: NatsServer;
  let project: string;
  const nodes = new Map<string, NodeProcess>();
  let members: Membership;
  let router: RouterServer;

  const get = async (from: string) => {
    const r = await fetch(router.url, { headers: { 'outpost-client-location': from } });
    return { status: r.status, body: await r.text(), node: r.headers.get('outpost-node') };
  };

  before(async () => {
    nats = await startNatsServer();
    project = mkdtempSync(join(tmpdir(), 'outpost-net-project-'));
    writeProject(project, 'v1');
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    for (const n of await Promise.all(POPS.map((p) => startNodeProcess(nats.url, p)))) nodes.set(n.pop, n);
    members = await Membership.connect({ servers: nats.url, leaveMs: 1500 });
    await members.watch();
    router = await startRouterServer({
      members,
      topology,
      port: 0,
      upstreamTimeoutMs: 1000,
      observer: memoryObserver(),
    });
    await waitFor(() => members.members().length === POPS.length || undefined, 10_000, 'six nodes');
  });

  after(async () => {
    await stopNodeProcesses();
    await router?.close();
    await members?.close();
    for (const n of nodes.values()) {
      n.child.kill('SIGCONT');
      n.child.kill('SIGKILL');
      await n.exited;
      rmSync(n.dir, { recursive: true, force: true });
    }
    await nats?.dispose();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('routes each client to its nearest PoP, each node serving the deployed version', async () => {
    for (const [from, pop] of [
      ['Frankfurt', 'FRA'],
      ['London', 'LHR'],
      ['Sydney', 'SYD'],
      ['Tokyo', 'NRT'],
      ['San Francisco', 'SFO'],
      ['38.9,-77.0', 'IAD'],
    ]) {
      const r = await get(from);
      assert.equal(`${r.status} ${r.body}`, `200 v1 ${pop}`, `a client in ${from}`);
    }
  });

  it('fails over when a node is killed with SIGKILL mid-traffic, and takes it back when it returns', async () => {
    const results: { status: number; body: string; at: number }[] = [];
    let stop = false;
    const t0 = performance.now();
    const loop = async () => {
      while (!stop) {
        try {
          const r = await get('Sydney');
          results.push({ ...r, at: performance.now() - t0 });
        } catch {
          results.push({ status: 0, body: '', at: performance.now() - t0 });
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await new Promise((r) => setTimeout(r, 300));
    const syd = nodes.get('SYD') as NodeProcess;
    const killedAt = performance.now() - t0;
    syd.child.kill('SIGKILL');
    await syd.exited;
    await new Promise((r) => setTimeout(r, 2500));
    stop = true;
    await Promise.all(loops);
    // No request was answered wrongly: every answer is the deployed version from a real PoP.
    for (const r of results.filter((x) => x.status === 200)) assert.match(r.body, /^v1 [A-Z]{3}$/);
    const afterLeave = results.filter((r) => r.at > killedAt + 1500 + 500);
    assert.ok(afterLeave.length > 10, 'traffic went on after the node left');
    assert.ok(
      afterLeave.every((r) => r.status === 200 && r.body !== 'v1 SYD'),
      `after one leave interval every request succeeds elsewhere: ${JSON.stringify(afterLeave.filter((r) => r.status !== 200).slice(0, 3))}`,
    );
    const failed = results.filter((r) => r.status !== 200).length;
    assert.ok(failed <= 3, `at most the requests in flight failed (${failed} of ${results.length})`);
    // It comes back (same folder: its artifacts are on disk) and gets its clients back.
    const back = await startNodeProcess(nats.url, 'SYD', { dir: syd.dir });
    nodes.set('SYD', back);
    await waitFor(
      async () => ((await get('Sydney')).body === 'v1 SYD' ? true : undefined),
      10_000,
      'SYD back',
    );
  });

  it('treats a node paused with SIGSTOP as dead, and takes it back when it resumes', async () => {
    const nrt = nodes.get('NRT') as NodeProcess;
    nrt.child.kill('SIGSTOP');
    try {
      // Within one leave interval (plus the router's upstream timeout for a request caught in
      // between) Tokyo's clients are served elsewhere.
      await waitFor(
        async () => {
          const r = await get('Tokyo');
          return r.status === 200 && r.body !== 'v1 NRT' ? true : undefined;
        },
        8000,
        'Tokyo served elsewhere',
      );
      for (let i = 0; i < 5; i++) {
        const r = await get('Tokyo');
        assert.equal(r.status, 200);
        assert.notEqual(r.body, 'v1 NRT');
      }
    } finally {
      nrt.child.kill('SIGCONT');
    }
    await waitFor(
      async () => ((await get('Tokyo')).body === 'v1 NRT' ? true : undefined),
      10_000,
      'NRT back',
    );
  });

  it('a deploy reaches every node; a rollback under traffic fails no request', async () => {
    writeProject(project, 'v2');
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '20000']);
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.out, new RegExp(`${POPS.length} of ${POPS.length} node\\(s\\) serve`));
    for (const from of ['Frankfurt', 'Sydney', 'Tokyo']) assert.match((await get(from)).body, /^v2 /);

    const results: { status: number; body: string }[] = [];
    let stop = false;
    const loop = async (from: string) => {
      while (!stop) results.push(await get(from));
    };
    const loops = ['Frankfurt', 'Sydney', 'San Francisco', 'London'].map(loop);
    await new Promise((r) => setTimeout(r, 200));
    const rb = await cli(['rollback', '--name', 'net-hello', '--nats', nats.url, '--wait', '20000']);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    assert.equal(rb.code, 0, rb.out + rb.err);
    assert.ok(results.length > 20, `traffic ran during the rollback (${results.length})`);
    assert.deepEqual(
      results.filter((r) => r.status !== 200 || !/^v[12] [A-Z]{3}$/.test(r.body)),
      [],
      'no request failed or was answered wrongly',
    );
    assert.match(results[results.length - 1].body, /^v1 /);
    const list = await cli(['deployments', 'list', '--name', 'net-hello', '--nats', nats.url]);
    assert.equal(list.out.trim().split('\n').length, 3, list.out);
    assert.match(list.out.split('\n')[0], /rollback/);
  });

  /** Requests from several cities until stopped: every answer with the PoP that gave it. */
  const traffic = (cities: string[]) => {
    const results: { status: number; body: string }[] = [];
    let stop = false;
    const loops = cities.map(async (from) => {
      while (!stop) {
        results.push(await get(from));
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    return {
      results,
      stop: async () => {
        stop = true;
        await Promise.all(loops);
      },
    };
  };
  const CITIES = ['Frankfurt', 'London', 'Sydney', 'Tokyo', 'San Francisco', '38.9,-77.0'];

  it('waves: a version whose canary errors never reaches another PoP and is rolled back automatically', async () => {
    writeProject(project, 'broken', true);
    const t = traffic(CITIES);
    const d = await cli([
      'deploy',
      project,
      '--nats',
      nats.url,
      '--waves',
      'canary;*',
      '--canary',
      'FRA',
      '--bake-ms',
      '1500',
      '--min-requests',
      '10',
      '--wait',
      '20000',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    await t.stop();
    assert.equal(d.code, 1, d.out + d.err);
    assert.match(d.out, /wave 1\/2: FRA/);
    assert.match(d.out, /rolled back: error rate/);
    assert.doesNotMatch(d.out, /wave 2\/2/);
    const broken = t.results.filter((r) => r.body.startsWith('broken'));
    assert.ok(broken.length > 0, 'the canary served the broken version');
    assert.deepEqual(
      broken.filter((r) => r.body !== 'broken FRA'),
      [],
      'no PoP but the canary ever served it',
    );
    // Rolled back: the canary is on the previous version again.
    await waitFor(
      async () => ((await get('Frankfurt')).body === 'v1 FRA' ? true : undefined),
      10_000,
      'FRA back on v1',
    );
    const status = await cli(['deployments', 'status', '--name', 'net-hello', '--nats', nats.url]);
    assert.match(status.out, /rolled_back/);
    assert.match(status.out, /failed its gate/);
  });

  it('waves: a healthy version goes canary first, then the rest, gated on its health', async () => {
    writeProject(project, 'v3');
    const t = traffic(CITIES);
    const d = await cli([
      'deploy',
      project,
      '--nats',
      nats.url,
      '--waves',
      'canary;50%;*',
      '--canary',
      'SYD',
      '--bake-ms',
      '800',
      '--min-requests',
      '5',
      '--wait',
      '20000',
    ]);
    await t.stop();
    assert.equal(d.code, 0, d.out + d.err);
    assert.match(d.out, /wave 1\/3: SYD/);
    assert.match(d.out, /wave 3\/3/);
    assert.match(d.out, /healthy: \d+ requests, 0\.0% errors/);
    assert.match(d.out, new RegExp(`${POPS.length} of ${POPS.length} node\\(s\\) serve`));
    assert.deepEqual(
      t.results.filter((r) => r.status !== 200),
      [],
      'no request failed during the rollout',
    );
    for (const from of CITIES) assert.match((await get(from)).body, /^v3 /);
  });

  it('a gradual deployment splits traffic within 5% of the asked share; sticky keeps each client on one version', async () => {
    writeProject(project, 'v4');
    const d = await cli(['deploy', project, '--nats', nats.url, '--percentage', '10', '--wait', '20000']);
    assert.equal(d.code, 0, d.out + d.err);
    let v4 = 0;
    const N = 2000;
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => get(CITIES[i % CITIES.length])));
      for (const r of batch) {
        assert.equal(r.status, 200);
        if (r.body.startsWith('v4 ')) v4++;
        else assert.match(r.body, /^v3 /);
      }
    }
    assert.ok(Math.abs((v4 / N) * 100 - 10) <= 5, `${v4} of ${N} requests took the 10% version`);

    writeProject(project, 'v5');
    const s = await cli([
      'deploy',
      project,
      '--nats',
      nats.url,
      '--percentage',
      '30',
      '--sticky',
      '--wait',
      '20000',
    ]);
    assert.equal(s.code, 0, s.out + s.err);
    // The wait is for the split itself: every node serves both versions before deploy returns.
    assert.match(s.out, /(\d+) of \1 node\(s\) serve \S+ and \S+ for 30%/, s.out);
    // 400 clients, each from its own loopback address (the router vouches for the address it saw).
    const { request } = await import('node:http');
    /** A GET from its own loopback address (node:http's localAddress), the body's first word. */
    const from = (localAddress: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request(
          router.url,
          { localAddress, agent: false, headers: { 'outpost-client-location': 'Frankfurt' } },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve(body.split(' ')[0]));
          },
        );
        req.on('error', reject);
        req.end();
      });
    let onNew = 0;
    for (let c = 0; c < 400; c += 40) {
      await Promise.all(
        Array.from({ length: 40 }, async (_, k) => {
          const n = c + k;
          const address = `127.0.${1 + (n >> 8)}.${n & 255}`;
          const seen = new Set<string>();
          for (let i = 0; i < 3; i++) seen.add(await from(address));
          assert.equal(seen.size, 1, `client ${n} kept one version (${[...seen]})`);
          if (seen.has('v5')) onNew++;
        }),
      );
    }
    assert.ok(Math.abs((onNew / 400) * 100 - 30) <= 5, `${onNew} of 400 clients on the 30% version`);
  });

  it('a purge reaches every node, or names those that missed it; a node that missed one does not serve what it purged', async () => {
    const at = async (pop: string) =>
      (await fetch(`${router.url}/cached`, { headers: { 'outpost-pop': pop } })).text();
    const fra = await at('FRA');
    assert.equal(await at('FRA'), fra, 'cached at FRA');
    const all = await cli(['cache', 'purge', '--prefix', '/cached', '--nats', nats.url]);
    assert.equal(all.code, 0, all.out + all.err);
    assert.match(all.out, new RegExp(`${POPS.length} of ${POPS.length} PoP\\(s\\) acknowledged`));
    assert.notEqual(await at('FRA'), fra, 'purged at FRA');

    const syd = nodes.get('SYD') as NodeProcess;
    const before = await (await fetch(`${syd.url}/cached`)).text();
    assert.equal(await (await fetch(`${syd.url}/cached`)).text(), before, 'cached at SYD');
    const fraBefore = await at('FRA');
    syd.child.kill('SIGSTOP');
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli(['cache', 'purge', '--prefix', '/cached', '--nats', nats.url, '--timeout-ms', '1000']);
    } finally {
      syd.child.kill('SIGCONT');
    }
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, new RegExp(`${POPS.length - 1} of ${POPS.length} PoP\\(s\\) acknowledged`));
    assert.match(r.out, new RegExp(`no acknowledgement from ${syd.id} \\(SYD\\)`));
    // Back, SYD serves nothing it held before the purge it missed.
    assert.notEqual(
      await (await fetch(`${syd.url}/cached`)).text(),
      before,
      'SYD dropped what it could not prove fresh',
    );
    assert.notEqual(await at('FRA'), fraBefore, 'the purge reached FRA');
  });

  /** A node's admin token, as it wrote it for the CLI. */
  const tokenOf = (n: NodeProcess): string => {
    const file = readdirSync(n.dir, { recursive: true, encoding: 'utf8' }).find((f) =>
      f.endsWith('admin.json'),
    );
    assert.ok(file, 'the node wrote its admin token');
    return (JSON.parse(readFileSync(join(n.dir, file), 'utf8')) as { token: string }).token;
  };

  it(
    'a node’s dashboard shows its deployments with their waves (in a browser)',
    { skip: skipWithout(CHROMIUM) },
    async () => {
      const fra = nodes.get('FRA') as NodeProcess;
      const { chromium } = await import('playwright-core');
      const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
      const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(`${fra.url}/__outpost/`);
        await page.getByLabel('Admin token').fill(tokenOf(fra));
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('link', { name: 'Workers' }).click();
        const article = page.getByRole('article', { name: 'Deployment of net-hello' });
        await article.waitFor({ timeout: 10_000 });
        const text = await article.innerText();
        assert.match(text, /Serves\s+[0-9a-f]{8} \d+%/);
        assert.equal(await article.locator('table.nodes tbody tr').count(), POPS.length);
        assert.equal(await article.getByRole('button', { name: 'Roll back' }).isEnabled(), true);
        if (process.env.OUTPOST_SCREENSHOTS)
          await page.screenshot({ path: join(process.env.OUTPOST_SCREENSHOTS, 'dashboard-deployments.png') });
      } finally {
        await browser.close();
      }
    },
  );

  it('the dashboard’s deployments: each node’s version, the waves, and a rollback from the page', async () => {
    const fra = nodes.get('FRA') as NodeProcess;
    const token = tokenOf(fra);
    const auth = { authorization: `Bearer ${token}` };
    const view = async () => {
      const r = await fetch(`${fra.url}/__outpost/deployments`, { headers: auth });
      assert.equal(r.status, 200);
      return ((await r.json()) as { workers: any[] }).workers.find((w) => w.worker === 'net-hello');
    };
    const now = await view();
    assert.ok(now.deployment.previous.length > 0, 'an earlier deployment to go back to');
    assert.equal(now.nodes.length, POPS.length);
    // (The deployment before this test split traffic between two versions.)
    const serving = now.deployment.versions.map((v: { version: string }) => v.version);
    for (const n of now.nodes) assert.ok(serving.includes(n.version), `${n.pop} serves ${n.version}`);
    // A rollback, as the page's button sends it (the token here; a session adds its CSRF token).
    const r = await fetch(`${fra.url}/__outpost/deployments/net-hello/rollback`, {
      method: 'POST',
      headers: auth,
    });
    assert.equal(r.status, 200, await r.clone().text());
    const { deployment } = (await r.json()) as { deployment: any };
    assert.equal(deployment.message, 'rollback (dashboard)');
    // The version that served most before the current deployment, now everywhere.
    const back = [...now.deployment.previous].sort((a, b) => b.percentage - a.percentage)[0].version;
    assert.deepEqual(deployment.versions, [{ version: back, percentage: 100 }]);
    await waitFor(
      async () =>
        (await view()).nodes.every((n: any) => n.version === deployment.versions[0].version)
          ? true
          : undefined,
      20_000,
      'every node on the rolled-back version',
    );
    const unknown = await fetch(`${fra.url}/__outpost/deployments/no-such-worker/rollback`, {
      method: 'POST',
      headers: auth,
    });
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as any).errors[0].message,
      /"no-such-worker" has never been deployed/,
    );
    const anonymous = await fetch(`${fra.url}/__outpost/deployments/net-hello/rollback`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
    // The dashboard's purge on a node reaches every node, each acknowledging.
    const purge = await fetch(`${fra.url}/__outpost/cache/purge`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ purge_everything: true }),
    });
    assert.equal(purge.status, 200);
    const acked = (await purge.json()) as { byCache: { tier: string; id: string }[]; missing: unknown[] };
    assert.deepEqual(acked.missing, []);
    assert.deepEqual(
      acked.byCache
        .filter((c) => c.tier === 'pop')
        .map((c) => c.id)
        .sort(),
      [...POPS].sort(),
    );
  });
});
