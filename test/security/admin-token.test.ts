// An empty OUTPOST_ADMIN_TOKEN (`OUTPOST_ADMIN_TOKEN= outpost dev`, or a variable set from a
// secret that was missing) started a Workers project with no admin endpoints at all, silently:
// /__outpost/ requests — an operator's purge with its Authorization header included — went to
// the tenant's worker, which could answer them as it liked. A short one was not checked there
// either. Now every place that reads the variable refuses it, naming it, before anything starts;
// a good token still guards the endpoints and keeps them from the worker.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { devPlan } from '../../src/cli/dev.ts';
import { COMMANDS, parseOptions, runCli } from '../../src/cli/program.ts';
import { memoryObserver } from '../../src/observability/index.ts';
import { startPopServer } from '../../src/pop/index.ts';
import { Runtime } from '../../src/runtime/index.ts';
import { FIXTURES, startFixture, startUpstream, type Upstream } from '../helpers.ts';

const GOOD = 'a-good-admin-token-for-tests';
const NAMED =
  /environment: "OUTPOST_ADMIN_TOKEN" must be a string of at least 16 characters, received "an empty string/;
const saved = process.env.OUTPOST_ADMIN_TOKEN;
const dev = COMMANDS.find((c) => c.name === 'dev')!;
const plan = (dir: string) => {
  const { positionals, values } = parseOptions(dev, [dir, '--port', '0']);
  return devPlan(positionals, values);
};

let upstream: Upstream;
let proxyDir: string;
before(async () => {
  upstream = await startUpstream();
  proxyDir = mkdtempSync(join(tmpdir(), 'outpost-admin-empty-'));
  writeFileSync(join(proxyDir, 'outpost.toml'), `origin = "${upstream.url}"\n`);
});
afterEach(() => {
  if (saved === undefined) delete process.env.OUTPOST_ADMIN_TOKEN;
  else process.env.OUTPOST_ADMIN_TOKEN = saved;
});
after(async () => {
  await upstream.close();
  rmSync(proxyDir, { recursive: true, force: true });
});

describe('an empty OUTPOST_ADMIN_TOKEN', () => {
  it('is refused when a Workers project starts (no outpost.toml), naming the variable', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = '';
    assert.throws(() => plan(join(FIXTURES, 'service-worker')), NAMED);
    await assert.rejects(startFixture('service-worker'), NAMED);
  });

  it('is refused in CDN proxy mode and by the CLI', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = '';
    assert.throws(() => plan(proxyDir), NAMED);
    let err = '';
    const code = await runCli(['cache', 'purge', proxyDir, '--server', upstream.url, '--everything'], {
      out: () => {},
      err: (t) => void (err += t),
    });
    assert.equal(code, 1);
    assert.match(err, NAMED);
  });

  it('a short one is refused in a Workers project too; an empty option is not "no admin endpoints"', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = 'short';
    assert.throws(
      () => plan(join(FIXTURES, 'service-worker')),
      /"OUTPOST_ADMIN_TOKEN" .*received "5 characters"/,
    );
    delete process.env.OUTPOST_ADMIN_TOKEN;
    await assert.rejects(
      startFixture('service-worker', { adminToken: '' }),
      /adminToken must be at least 16/,
    );
    const rt = new Runtime({ poolSize: 0 });
    try {
      await assert.rejects(
        startPopServer({
          runtime: rt,
          route: () => 'none',
          port: 0,
          cf: () => ({}),
          adminToken: '',
          observer: memoryObserver(),
        }),
        /adminToken must be at least 16 characters/,
      );
    } finally {
      await rt.close();
    }
  });

  it('a good token still guards the admin endpoints, which never reach the worker', async () => {
    process.env.OUTPOST_ADMIN_TOKEN = GOOD;
    const d = await startFixture('service-worker');
    try {
      assert.equal(d.adminToken, GOOD);
      const purge = (authorization?: string) =>
        fetch(`${d.url}/__outpost/cache/purge`, {
          method: 'POST',
          headers: authorization === undefined ? {} : { authorization },
          body: JSON.stringify({ purge_everything: true }),
        });
      const refused = await purge();
      assert.equal(refused.status, 401);
      assert.doesNotMatch(await refused.text(), /service worker/);
      assert.equal((await purge('Bearer ')).status, 401);
      const ok = await purge(`Bearer ${GOOD}`);
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { success: boolean }).success, true);
      // The worker itself is unaffected.
      assert.equal(await (await fetch(`${d.url}/page`)).text(), 'from a service worker GET /page');
    } finally {
      await d.close();
    }
  });
});
