// One precedence for the admin token, the same in the server and in the CLI: --token (CLI),
// then OUTPOST_ADMIN_TOKEN, then [admin] token in outpost.toml, then the one the server made
// up and wrote to .outpost/admin.json. With both the variable and the file set, the server used
// the file and the CLI the variable: `outpost cache purge` was refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { type DevPlan, devPlan } from '../src/cli/dev.ts';
import { COMMANDS, parseOptions, runCli } from '../src/cli/program.ts';
import { memoryObserver } from '../src/observability/index.ts';
import { startProxy, writeAdminFile } from '../src/pop/index.ts';
import { startUpstream, type Upstream } from './helpers.ts';

const FILE_TOKEN = 'token-from-outpost-toml';
const ENV_TOKEN = 'token-from-the-environment';
const dev = COMMANDS.find((c) => c.name === 'dev')!;

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (c) => void (out += String(c)), err: (t) => void (err += t) });
  return { code, out, err };
}

function plan(dir: string): DevPlan {
  const { positionals, values } = parseOptions(dev, [dir, '--port', '0']);
  return devPlan(positionals, values);
}

describe('the admin token', () => {
  let upstream: Upstream;
  let dir: string;
  const saved = process.env.OUTPOST_ADMIN_TOKEN;
  before(async () => {
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'outpost-admin-'));
    writeFileSync(
      join(dir, 'outpost.toml'),
      `origin = "${upstream.url}"\n[admin]\ntoken = "${FILE_TOKEN}"\n`,
    );
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.OUTPOST_ADMIN_TOKEN;
    else process.env.OUTPOST_ADMIN_TOKEN = saved;
  });
  after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `outpost dev` in CDN proxy mode as the CLI starts it, then `outpost cache purge` beside it. */
  async function purgeBesideServer(): Promise<{ server: string; cli: Awaited<ReturnType<typeof cli>> }> {
    const p = plan(dir);
    assert.equal(p.mode, 'proxy');
    if (p.mode !== 'proxy') throw new Error('unreachable');
    const proxy = await startProxy({ ...p.proxy, observer: memoryObserver() });
    try {
      writeAdminFile(dir, proxy.url, proxy.adminToken);
      return { server: proxy.adminToken, cli: await cli('cache', 'purge', dir, '--everything') };
    } finally {
      await proxy.close();
    }
  }

  it('with OUTPOST_ADMIN_TOKEN and [admin] token both set, the server and the CLI both use the variable', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = ENV_TOKEN;
    const r = await purgeBesideServer();
    assert.equal(r.server, ENV_TOKEN);
    assert.equal(r.cli.code, 0, r.cli.err);
    assert.match(r.cli.out, /purged 0 entries from 1 cache/);
  });
  it('with only [admin] token, both use it', async () => {
    delete process.env.OUTPOST_ADMIN_TOKEN;
    const r = await purgeBesideServer();
    assert.equal(r.server, FILE_TOKEN);
    assert.equal(r.cli.code, 0, r.cli.err);
  });
  it('a worker project follows the same order (outpost.toml beside wrangler.toml)', () => {
    const project = mkdtempSync(join(tmpdir(), 'outpost-admin-worker-'));
    try {
      writeFileSync(join(project, 'wrangler.toml'), 'name = "w"\nmain = "w.js"\n');
      writeFileSync(join(project, 'w.js'), 'export default { fetch: () => new Response("") };\n');
      writeFileSync(join(project, 'outpost.toml'), `[admin]\ntoken = "${FILE_TOKEN}"\n`);
      delete process.env.OUTPOST_ADMIN_TOKEN;
      assert.equal((plan(project) as Extract<DevPlan, { mode: 'worker' }>).dev.adminToken, FILE_TOKEN);
      process.env.OUTPOST_ADMIN_TOKEN = ENV_TOKEN;
      assert.equal((plan(project) as Extract<DevPlan, { mode: 'worker' }>).dev.adminToken, ENV_TOKEN);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
  it('a refused token is explained: where the CLI took it from, and the order the server follows', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = ENV_TOKEN;
    const p = plan(dir);
    if (p.mode !== 'proxy') throw new Error('unreachable');
    const proxy = await startProxy({ ...p.proxy, observer: memoryObserver() });
    try {
      const r = await cli(
        'cache',
        'purge',
        dir,
        '--server',
        proxy.url,
        '--token',
        FILE_TOKEN,
        '--everything',
      );
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /purge refused \(401\).*the token sent came from --token; the server takes OUTPOST_ADMIN_TOKEN/,
      );
    } finally {
      await proxy.close();
    }
  });
  it('a too short OUTPOST_ADMIN_TOKEN is refused, naming the variable', () => {
    process.env.OUTPOST_ADMIN_TOKEN = 'short';
    assert.throws(
      () => plan(dir),
      /environment: "OUTPOST_ADMIN_TOKEN" must be a string of at least 16 characters, received "5 characters"/,
    );
  });
});
