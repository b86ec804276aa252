// Static assets name a tenant's own files only: the assets directory and every file in it,
// symbolic links resolved, lie under the project's folder; Outpost's state (.outpost/, where
// the admin token is) and secrets (.dev.vars) are never served even from a folder holding them;
// a request path names a file of the folder or nothing (no "..", encoded or not).
import assert from 'node:assert/strict';
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
