import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildManifestError } from './preload.ts';
import { routePreloads } from './routes.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const files: Record<string, unknown> = {
  'dist/.vite/manifest.json': JSON.parse(readFileSync(join(fixtures, 'vite-manifest.json'), 'utf8')),
  'dist/stats.json': JSON.parse(readFileSync(join(fixtures, 'webpack-stats.json'), 'utf8')),
};
const reads: string[] = [];
const read = (f: string) => {
  reads.push(f);
  if (!(f in files)) throw new Error(`ENOENT ${f}`);
  return files[f];
};

describe('routePreloads: [[early_hints.manifest]] routes → Link values', () => {
  const vite = 'dist/.vite/manifest.json';
  const table = routePreloads(
    [
      { path: '/admin/*', entry: 'src/admin.tsx', manifest: vite, base: '/static/' },
      { path: '/about', entry: 'src/pages/About.tsx', manifest: vite, base: '/static/' },
      { path: '/users/:id/settings', entry: 'admin', manifest: 'dist/stats.json' },
      { path: '/', entry: 'index.html', manifest: vite, base: '/static/' },
      { path: '/*', entry: 'main', manifest: 'dist/stats.json' },
    ],
    read,
  );

  it('each manifest file is read once', () => {
    assert.deepEqual(reads, [vite, 'dist/stats.json']);
  });

  it('exact paths, a splat, a placeholder; the first matching route wins', () => {
    assert.match(table.match('/')?.[0] ?? '', /^<\/static\/assets\/shared-a9zuq20O\.css>/);
    assert.equal(table.match('/')?.length, 5);
    assert.match(table.match('/about')?.join() ?? '', /About-izVWwSRQ\.js/);
    assert.match(table.match('/admin/x/y')?.join() ?? '', /admin-CcsENqmA\.js/);
    assert.match(table.match('/users/42/settings')?.join() ?? '', /\/static\/admin\.b84f6d02\.js/);
    assert.match(
      table.match('/users/42/x/settings')?.join() ?? '',
      /main\.71e0b5c3\.js/,
      'a placeholder is one segment',
    );
    assert.match(table.match('/anything/else')?.join() ?? '', /main\.71e0b5c3\.js/);
  });

  it('webpack stats and Vite manifests are told apart by shape; each keeps its defaults', () => {
    assert.match(table.match('/about')?.[0] ?? '', /; crossorigin$/);
    assert.doesNotMatch(table.match('/users/1/settings')?.[0] ?? '', /crossorigin/);
  });

  it('no match is undefined; a match is a copy', () => {
    const only = routePreloads([{ path: '/a', entry: 'src/print.css', manifest: vite }], read);
    assert.equal(only.match('/b'), undefined);
    assert.equal(only.match('/a/'), undefined);
    only.match('/a')?.push('x');
    assert.deepEqual(only.match('/a'), ['</assets/print-DtpTC159.css>; rel=preload; as=style; crossorigin']);
    assert.equal(only.routes.length, 1);
  });

  it('paths are matched as sent (percent-encoded)', () => {
    const t = routePreloads([{ path: '/caf\u00e9', entry: 'src/print.css', manifest: vite }], read);
    assert.ok(t.match('/caf%C3%A9'));
  });
});

describe('routePreloads: errors name the route', () => {
  const vite = 'dist/.vite/manifest.json';
  const bad = (routes: unknown[], message: string) =>
    assert.throws(
      () => routePreloads(routes as never, read),
      (e: unknown) => e instanceof BuildManifestError && e.message === message,
      message,
    );

  it('an entry the manifest does not have, or has but not as an entry', () => {
    bad(
      [{ path: '/', entry: 'src/nope.tsx', manifest: vite }],
      'early_hints.manifest[0].entry "src/nope.tsx" is not a key of dist/.vite/manifest.json; its entries: "index.html", "src/admin.tsx", "src/pages/About.tsx", "src/print.css"',
    );
    bad(
      [{ path: '/', entry: '_vendor-DkkoZgfW.js', manifest: vite }],
      'early_hints.manifest[0].entry "_vendor-DkkoZgfW.js" is in, but not an entry (isEntry or isDynamicEntry) of, dist/.vite/manifest.json; its entries: "index.html", "src/admin.tsx", "src/pages/About.tsx", "src/print.css"',
    );
    bad(
      [{ path: '/', entry: 'vendors', manifest: 'dist/stats.json' }],
      'early_hints.manifest[0].entry "vendors" is not an entry point of dist/stats.json; its entries: "main", "admin"',
    );
  });

  it('bad patterns and missing fields', () => {
    bad(
      [{ path: 'about', entry: 'x', manifest: vite }],
      'early_hints.manifest[0].path "about" must start with /',
    );
    bad(
      [{ path: '/*/*', entry: 'x', manifest: vite }],
      'early_hints.manifest[0].path "/*/*" is not a pattern: more than one splat (*)',
    );
    bad(
      [{ path: '/u-:id', entry: 'x', manifest: vite }],
      'early_hints.manifest[0].path "/u-:id" is not a pattern: the placeholder :id must be a whole path segment',
    );
    bad([{ path: '/', manifest: vite }], 'early_hints.manifest[0].entry must be a non-empty string');
    bad(
      [{ path: '/', entry: 'x', manifest: vite, base: 1 }],
      'early_hints.manifest[0].base must be a string',
    );
  });

  it('a manifest error names the file', () => {
    files['bad.json'] = { 'src/main.tsx': { isEntry: true } };
    bad(
      [{ path: '/', entry: 'src/main.tsx', manifest: 'bad.json' }],
      'bad.json: entry "src/main.tsx".file must be a string',
    );
  });
});
