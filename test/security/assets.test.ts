// Static assets name a tenant's own files only: the assets directory and every file in it,
// symbolic links resolved, lie under the project's folder; Outpost's state (.outpost/, where
// the admin token is) and secrets (.dev.vars) are never served even from a folder holding them;
// a request path names a file of the folder or nothing (no "..", encoded or not).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AssetServer } from '../../src/assets/index.ts';
import type { AssetsConfig } from '../../src/config/index.ts';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-assets-attack-'));
  made.push(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const config = (directory: string): AssetsConfig => ({
  directory,
  binding: undefined,
  htmlHandling: 'auto-trailing-slash',
  notFoundHandling: 'none',
  runWorkerFirst: false,
});

const get = async (s: AssetServer, path: string) =>
  (await s.fetch({ method: 'GET', url: `http://x${path}`, header: () => undefined })).status;

describe('static assets stay inside the project', () => {
  it('refuses a directory outside the project folder', () => {
    const root = project({ 'wrangler.toml': '' });
    assert.throws(
      () => new AssetServer(config('/etc'), false, undefined, root),
      /outside the project's folder/,
    );
    assert.throws(
      () => new AssetServer(config(join(root, '..')), false, undefined, root),
      /outside the project's folder/,
    );
  });

  it('refuses a symbolic link inside the folder that leads out of the project', () => {
    const root = project({ 'public/index.html': 'hi' });
    symlinkSync('/etc/passwd', join(root, 'public', 'passwd'));
    assert.throws(
      () => new AssetServer(config(join(root, 'public')), false, undefined, root),
      /passwd leads outside the project's folder/,
    );
  });

  it('follows links that stay inside the project, and a link loop once', () => {
    const root = project({ 'public/index.html': 'hi', 'shared/logo.svg': '<svg/>' });
    symlinkSync(join(root, 'shared'), join(root, 'public', 'shared'));
    symlinkSync(join(root, 'public'), join(root, 'public', 'loop'));
    const s = new AssetServer(config(join(root, 'public')), false, undefined, root);
    return get(s, '/shared/logo.svg').then((status) => assert.equal(status, 200));
  });

  it('never serves .outpost/ or .dev.vars, even from the project folder itself', async () => {
    const root = project({
      'index.html': 'home',
      '.dev.vars': 'SECRET=1',
      '.dev.vars.staging': 'SECRET=2',
      '.outpost/admin.json': '{"token":"t"}',
      'wrangler.toml': '',
    });
    const s = new AssetServer(config(root), false, undefined, root);
    assert.equal(await get(s, '/'), 200);
    for (const p of ['/.dev.vars', '/.dev.vars.staging', '/.outpost/admin.json'])
      assert.equal(await get(s, p), 404, p);
  });

  it('a request path cannot climb out of the folder', async () => {
    const root = project({ 'public/index.html': 'hi', 'secret.txt': 'no' });
    const s = new AssetServer(config(join(root, 'public')), false, undefined, root);
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt'])
      assert.equal(await get(s, p), 404, p);
  });
});

describe('rule files cannot be turned against the host', () => {
  const quietServer = (root: string, dir: string, warnings: string[] = []) =>
    new AssetServer(config(dir), false, (m) => warnings.push(m), root);

  it('rules that would backtrack without end are refused, naming the line', async () => {
    const root = project({
      'public/index.html': 'hi',
      'public/_redirects': ['/x*a*a*a*a*a*ab /y 302', '/a/:x-:y /z 302', '/ok/* /fine/:splat 301'].join('\n'),
    });
    const warnings: string[] = [];
    const s = quietServer(root, join(root, 'public'), warnings);
    assert.match(warnings.join('\n'), /line 1: .*more than one splat/);
    assert.match(warnings.join('\n'), /line 2: .*placeholder :x must be a whole path segment/);
    const t = performance.now();
    assert.equal(await get(s, `/x${'a'.repeat(60)}c`), 404);
    assert.ok(performance.now() - t < 1000);
    assert.equal(await get(s, '/ok/a/b'), 301);
  });

  it('a target repeating :splat does not grow without bound', async () => {
    const root = project({ 'public/_redirects': `/amp/* /${':splat'.repeat(4000)}\n` });
    const s = quietServer(root, join(root, 'public'));
    const r = await s.fetch({
      method: 'GET',
      url: `http://x/amp/${'y'.repeat(8000)}`,
      header: () => undefined,
    });
    assert.equal(r.status, 404);
  });

  it('a relative redirect target stays on the site, whatever the path captured', async () => {
    const root = project({ 'public/_redirects': '/go/* /:splat 302\n/r/:x /:x 301\n' });
    const s = quietServer(root, join(root, 'public'));
    const where = async (path: string) =>
      new Map(
        (await s.fetch({ method: 'GET', url: `http://x${path}`, header: () => undefined })).headers,
      ).get('location');
    assert.equal(await where('/go/%2F%2Fevil.example'), '/%2F%2Fevil.example');
    assert.equal(await where('/r/%5Cevil.example'), '/%5Cevil.example');
    assert.equal(await where('/go//evil.example'), '/evil.example');
  });

  it('Outpost state and secrets are refused through links and as the directory', () => {
    const root = project({ 'public/index.html': 'hi', '.dev.vars': 'SECRET=1', '.outpost/admin.json': '{}' });
    symlinkSync(join(root, '.dev.vars'), join(root, 'public', 'vars.txt'));
    symlinkSync(join(root, '.outpost'), join(root, 'public', 'state'));
    return (async () => {
      const s = quietServer(root, join(root, 'public'));
      assert.equal(await get(s, '/vars.txt'), 404);
      assert.equal(await get(s, '/state/admin.json'), 404);
      assert.throws(() => quietServer(root, join(root, '.outpost')), /Outpost's state or a secrets file/);
    })();
  });

  it('rule files are read only as small regular files inside the project', () => {
    const root = project({ 'public/index.html': 'hi', 'public/.assetsignore': '_headers\n' });
    const outside = project({ 'secret.txt': 'X-Leak: host-secret' });
    symlinkSync(join(outside, 'secret.txt'), join(root, 'public', '_headers'));
    assert.throws(
      () => quietServer(root, join(root, 'public')),
      /_headers leads outside the project's folder/,
    );
    const fifo = project({ 'public/index.html': 'hi' });
    execFileSync('mkfifo', [join(fifo, 'public', '_redirects')]);
    assert.throws(() => quietServer(fifo, join(fifo, 'public')), /_redirects is not a regular file/);
    const big = project({ 'public/_redirects': `# ${'x'.repeat(2 * 1024 * 1024)}\n` });
    assert.throws(() => quietServer(big, join(big, 'public')), /_redirects is \d+ bytes, more than 1048576/);
  });
});
