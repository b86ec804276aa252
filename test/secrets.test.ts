/**
 * `outpost secret put | list | delete` on a network: a secret reaches the worker's env on a
 * running node without a redeploy, is never listed by value nor stored in an artifact, wins over
 * a var of the same name, and goes away when deleted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { NatsControlStore } from '../src/control/index.ts';
import { type NatsServer, startNatsServer } from '../src/kv/nats-harness.ts';
import { waitFor } from './helpers.ts';
import { cli, type NodeProcess, startNodeProcess, stopNodeProcesses } from './support/nodes.ts';
import { describeNeeding, NATS_SERVER } from './support/programs.ts';

describeNeeding(NATS_SERVER, 'secrets on a network (outpost secret)', () => {
  let nats: NatsServer;
  let project = '';
  let node: NodeProcess | null = null;
  const answer = async () => (await (await fetch(`${node?.url}/`)).text()).trim();

  before(async () => {
    nats = await startNatsServer();
    project = mkdtempSync(join(tmpdir(), 'outpost-secrets-'));
    writeFileSync(
      join(project, 'wrangler.toml'),
      'name = "secretive"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n[vars]\nMODE = "var"\n',
    );
    writeFileSync(
      join(project, 'index.js'),
      'export default { fetch: (req, env) => new Response(`${env.API_KEY ?? "none"} ${env.MODE}`) };\n',
    );
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '0']);
    assert.equal(d.code, 0, d.err);
    node = await startNodeProcess(nats.url, 'FRA');
  });

  after(async () => {
    await stopNodeProcesses();
    node?.child.kill('SIGKILL');
    if (node) {
      await node.exited;
      rmSync(node.dir, { recursive: true, force: true });
    }
    await nats?.dispose();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('a secret put reaches the running worker without a redeploy, and a secret wins over a var', async () => {
    await waitFor(async () => ((await answer()) === 'none var' ? true : undefined), 10_000, 'v1 served');
    const file = join(project, 'key.txt');
    writeFileSync(file, 's3cr3t-value\n');
    const put = await cli(['secret', 'put', 'API_KEY', project, '--nats', nats.url, '--value-file', file]);
    assert.equal(put.code, 0, put.err);
    assert.match(put.out, /Secret API_KEY of "secretive" set/);
    await waitFor(
      async () => ((await answer()) === 's3cr3t-value var' ? true : undefined),
      15_000,
      'the secret served',
    );
    writeFileSync(file, 'secret-mode');
    assert.equal(
      (await cli(['secret', 'put', 'MODE', project, '--nats', nats.url, '--value-file', file])).code,
      0,
    );
    await waitFor(
      async () => ((await answer()) === 's3cr3t-value secret-mode' ? true : undefined),
      15_000,
      'the secret over the var',
    );
  });

  it('a new version deployed after a secret put serves with the secret too', async () => {
    writeFileSync(
      join(project, 'index.js'),
      'export default { fetch: (req, env) => new Response(`v2 ${env.API_KEY ?? "none"} ${env.MODE}`) };\n',
    );
    const d = await cli(['deploy', project, '--nats', nats.url, '--waves', 'all', '--wait', '15000']);
    assert.equal(d.code, 0, d.out + d.err);
    await waitFor(
      async () => ((await answer()) === 'v2 s3cr3t-value secret-mode' ? true : undefined),
      15_000,
      'v2 with its secrets',
    );
  });

  it('lists names only, keeps values out of artifacts, and deletes', async () => {
    const list = await cli(['secret', 'list', project, '--nats', nats.url]);
    assert.equal(list.out, 'API_KEY\nMODE\n');
    const store = await NatsControlStore.connect({ servers: nats.url });
    try {
      for (const v of await store.versions('secretive')) {
        const bytes = Buffer.from(await store.artifactBytes(v.id)).toString('latin1');
        assert.ok(!bytes.includes('s3cr3t-value'), 'no secret in a stored artifact');
      }
    } finally {
      await store.close();
    }
    const del = await cli(['secret', 'delete', 'API_KEY', project, '--nats', nats.url]);
    assert.equal(del.code, 0, del.err);
    await waitFor(
      async () => ((await answer()) === 'v2 none secret-mode' ? true : undefined),
      15_000,
      'deleted',
    );
    const again = await cli(['secret', 'delete', 'API_KEY', project, '--nats', nats.url]);
    assert.equal(again.code, 1);
    assert.match(again.err, /has no secret API_KEY/);
  });

  it('refuses bad names and oversized values by name', async () => {
    const file = join(project, 'v.txt');
    writeFileSync(file, 'x');
    const bad = await cli(['secret', 'put', '1-bad', project, '--nats', nats.url, '--value-file', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /a secret name is a letter or _/);
    writeFileSync(file, 'x'.repeat(6000));
    const big = await cli(['secret', 'put', 'BIG', project, '--nats', nats.url, '--value-file', file]);
    assert.equal(big.code, 1);
    assert.match(big.err, /secret BIG is 6000 bytes; at most 5120/);
  });
});
