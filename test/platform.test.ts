// Bindings and build rules added through the binding registry (src/runtime/bindings/), served
// by `outpost dev` from test/fixtures/platform: D1, static assets (before the worker and through
// env.ASSETS), bindings Outpost does not provide, wrangler's [[rules]], define, alias and the
// browser field, `name = ""`, and [env.NAME].
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyMigrations } from '../src/d1/index.ts';
import { copyFixture, startFixture, type TestDev } from './helpers.ts';

let fixture: ReturnType<typeof copyFixture>;
let dev: TestDev;

const get = (path: string, init?: RequestInit) => fetch(`${dev.url}${path}`, init);
const json = async (path: string, init?: RequestInit) => (await get(path, init)).json() as Promise<any>;

before(async () => {
  fixture = copyFixture('platform');
  dev = await startFixture(fixture.dir);
  await applyMigrations(dev.runtime.d1, {
    id: 'app-db',
    dir: join(fixture.dir, 'migrations'),
    table: 'd1_migrations',
  });
});
after(async () => {
  await dev?.close();
  fixture?.cleanup();
});

describe('a project with D1, assets and build rules', () => {
  it('takes the folder name for name = "" and applies the bundling keys', async () => {
    assert.match(dev.config.name, /^outpost-platform-/);
    assert.deepEqual(await json('/api/build'), {
      pick: 'browser build',
      greeting: 'hello from the alias',
      notes: '# Notes, imported as text by a [[rules]] entry',
      build: 'outpost',
      stage: null,
    });
  });

  it('D1: prepare/bind/run/all/first/raw with Cloudflare result shapes', async () => {
    const a = await json('/api/notes', {
      method: 'POST',
      body: JSON.stringify({ body: 'first', flag: true }),
    });
    assert.deepEqual(a, { id: 1, changes: 1 });
    await json('/api/notes', { method: 'POST', body: JSON.stringify({ body: 'second', flag: false }) });
    const all = await json('/api/notes');
    assert.deepEqual(all.results, [
      { id: 1, body: 'first', flag: 1 },
      { id: 2, body: 'second', flag: 0 },
    ]);
    assert.equal(all.rows_read, 2);
    assert.deepEqual(await json('/api/first?id=2'), { row: { body: 'second' }, body: 'second' });
    assert.deepEqual(await json('/api/first?id=99'), { row: null, body: null });
    assert.deepEqual(await json('/api/raw'), [
      ['id', 'body'],
      [1, 'first'],
      [2, 'second'],
    ]);
  });

  it('D1: a failed batch leaves nothing behind, and errors read as on Cloudflare', async () => {
    const r = await json('/api/batch');
    assert.match(r.error, /^D1_ERROR: no such table: nowhere: SQLITE_ERROR/);
    assert.deepEqual(r.kept, { n: 0 });
    assert.match((await json('/api/bad-bind')).error, /D1_TYPE_ERROR: Type 'undefined' not supported/);
    assert.match((await json('/api/first-missing')).error, /D1_COLUMN_NOTFOUND: Column not found \(b\)/);
  });

  it('D1: withSession reads through a session with a bookmark', async () => {
    const r = await json('/api/session');
    assert.equal(typeof r.row.n, 'number');
    assert.match(r.bookmark, /^[0-9a-f]{8}-/);
  });

  it('assets are served before the worker, with _headers and _redirects', async () => {
    const css = await get('/style.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(css.headers.get('x-asset'), 'styled');
    assert.match(css.headers.get('server-timing') ?? '', /assets;dur=/);
    const etag = css.headers.get('etag') as string;
    assert.equal((await get('/style.css', { headers: { 'if-none-match': etag } })).status, 304);
    const moved = await get('/old-about', { redirect: 'manual' });
    assert.deepEqual([moved.status, moved.headers.get('location')], [301, '/about']);
    assert.match(await (await get('/about')).text(), /about/);
  });

  it('run_worker_first routes go to the worker; unmatched paths too, except SPA navigations', async () => {
    assert.deepEqual(await json('/api/anything'), { worker: '/api/anything' });
    assert.deepEqual(await json('/dashboard/users'), { worker: '/dashboard/users' });
    // fetch() sends its own Sec-Fetch-Mode (cors); a browser's navigation sends "navigate".
    const nav = await new Promise<string>((resolve, reject) =>
      http
        .get(`${dev.url}/dashboard/users`, { headers: { 'sec-fetch-mode': 'navigate' } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject),
    );
    assert.match(nav, /App shell/);
  });

  it('env.ASSETS.fetch answers from the assets with not-found handling', async () => {
    assert.match(await (await get('/api/asset?path=/style.css')).text(), /teal/);
    const spa = await get('/api/asset?path=/no/such/page');
    assert.equal(spa.status, 200);
    assert.match(await spa.text(), /App shell/);
  });

  it('Queues and Analytics Engine bindings work (those Outpost does not provide: test/compat/templates.test.ts)', async () => {
    // Queues are provided now (test/queues.test.ts): the send just happens.
    assert.deepEqual(await json('/api/queue'), { sent: true });
    // Analytics Engine is provided now (test/analytics.test.ts): the write just happens.
    assert.deepEqual(await json('/api/stats'), { written: true });
    assert.deepEqual(await json('/api/keys'), ['ASSETS', 'DB', 'JOBS', 'STATS']);
  });
});

describe('[env.NAME]', () => {
  it("takes the environment's vars and bindings, and names the worker <name>-<env>", async () => {
    const staging = await startFixture(fixture.dir, { env: 'staging', port: 0 });
    try {
      assert.match(staging.config.name, /^outpost-platform-.*-staging$/);
      assert.equal(((await (await fetch(`${staging.url}/api/build`)).json()) as any).stage, 'staging');
      // Its own database: the migration was applied to app-db only.
      const r = (await (await fetch(`${staging.url}/api/notes`)).json()) as any;
      assert.match(r.error, /no such table: notes/);
    } finally {
      await staging.close();
    }
  });
});

describe('an assets-only project (no main)', () => {
  it('serves its files, its 404 page, and 405 for other methods', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-assets-only-'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'index.html'), '<h1>home</h1>');
    writeFileSync(join(dir, 'dist', '404.html'), '<h1>lost</h1>');
    writeFileSync(
      join(dir, 'wrangler.toml'),
      'name = "static-site"\n[assets]\ndirectory = "dist"\nnot_found_handling = "404-page"\n',
    );
    const site = await startFixture(dir);
    try {
      assert.match(await (await fetch(`${site.url}/`)).text(), /home/);
      const lost = await fetch(`${site.url}/nowhere`);
      assert.deepEqual([lost.status, await lost.text()], [404, '<h1>lost</h1>']);
      assert.equal((await fetch(`${site.url}/`, { method: 'POST' })).status, 405);
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a framework build (the Cloudflare Vite plugin's output, through the deploy redirect)", () => {
  it('serves the built worker and its client assets beside it, keeping state in the project folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-vite-build-'));
    const write = (p: string, text: string) => {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    write(
      'wrangler.jsonc',
      '{ "name": "app", "main": "worker/index.ts", "assets": { "not_found_handling": "single-page-application" } }',
    );
    write('dist/client/index.html', '<h1>client</h1>');
    write('dist/client/assets/app.js', 'console.log(1)');
    write(
      'dist/app/wrangler.json',
      JSON.stringify({
        configPath: join(dir, 'wrangler.jsonc'),
        topLevelName: 'app',
        name: 'app',
        main: 'index.js',
        compatibility_date: '2025-09-01',
        assets: { not_found_handling: 'single-page-application', directory: '../client' },
        no_bundle: true,
        queues: { producers: [], consumers: [] },
        worker_loaders: [],
      }),
    );
    write('dist/app/index.js', 'export default { fetch: () => Response.json({ name: "Cloudflare" }) };\n');
    write(
      '.wrangler/deploy/config.json',
      '{"configPath":"../../dist/app/wrangler.json","auxiliaryWorkers":[]}',
    );
    const app = await startFixture(dir);
    try {
      assert.equal(await (await fetch(`${app.url}/`)).text(), '<h1>client</h1>');
      assert.equal((await fetch(`${app.url}/assets/app.js`)).status, 200);
      assert.deepEqual(await (await fetch(`${app.url}/api/name`)).json(), { name: 'Cloudflare' });
      assert.ok(existsSync(join(dir, '.outpost', 'admin.json')), 'state in the project folder');
      assert.ok(
        !existsSync(join(dir, 'dist', 'app', '.outpost')),
        'none under dist/, which a build replaces',
      );
      // Only keys with something in them are named.
      const warning = app.logs.find((l) => /keys Outpost does not act on/.test(l.message))?.message ?? '';
      assert.match(warning, /no_bundle: not supported/);
      assert.doesNotMatch(warning, /queues|worker_loaders/);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
