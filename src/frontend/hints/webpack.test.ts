import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildManifestError } from './preload.ts';
import { preloadsFromWebpackStats } from './webpack.ts';

// A webpack 5 `--json` stats file (trimmed: modules and chunks left out) of a build with a
// runtime chunk, a split vendors chunk, two entry points, source maps and an image.
const stats = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'webpack-stats.json'), 'utf8'));

const script = (href: string) => `<${href}>; rel=preload; as=script`;
const style = (href: string) => `<${href}>; rel=preload; as=style`;

describe('preloadsFromWebpackStats', () => {
  it('webpack 5 entrypoints: every file of the entry, styles first, in webpack order', () => {
    const out = preloadsFromWebpackStats(stats);
    assert.deepEqual(Object.keys(out), ['main', 'admin']);
    assert.deepEqual(out.main, [
      style('/static/main.4d1c9a20.css'),
      script('/static/runtime.2f6c1e0b.js'),
      script('/static/vendors.9b3e77aa.js'),
      script('/static/main.71e0b5c3.js'),
    ]);
  });

  it('source maps and images (auxiliary assets) are not preloaded', () => {
    const all = Object.values(preloadsFromWebpackStats(stats)).flat().join();
    assert.doesNotMatch(all, /\.map|webp/);
  });

  it('the publicPath argument wins over the stats’ own; crossorigin on request', () => {
    const out = preloadsFromWebpackStats(stats, 'https://cdn.example/v2', { crossorigin: true });
    assert.equal(
      out.admin[0],
      '<https://cdn.example/v2/admin.0c5e2f19.css>; rel=preload; as=style; crossorigin',
    );
  });

  it('webpack 4: entrypoints with plain file names', () => {
    const out = preloadsFromWebpackStats({
      publicPath: '/',
      entrypoints: { app: { chunks: [0, 1], assets: ['vendor.js', 'app.js', 'app.css', 'app.js.map'] } },
    });
    assert.deepEqual(out.app, [style('/app.css'), script('/vendor.js'), script('/app.js')]);
  });

  it('without entrypoints, assetsByChunkName (a string or a list); hot updates skipped', () => {
    const out = preloadsFromWebpackStats(
      { assetsByChunkName: { main: ['main.js', 'main.abc.hot-update.js', 'main.css'], other: 'other.mjs' } },
      '/assets/',
    );
    assert.deepEqual(out, {
      main: [style('/assets/main.css'), script('/assets/main.js')],
      other: [script('/assets/other.mjs')],
    });
  });

  it('an empty publicPath leaves targets relative, as the page’s tags are', () => {
    assert.deepEqual(preloadsFromWebpackStats({ publicPath: '', assetsByChunkName: { m: 'm.js' } }).m, [
      script('m.js'),
    ]);
  });
});

describe('preloadsFromWebpackStats: bad stats throw errors naming the place', () => {
  const bad = (s: unknown, message: string, publicPath?: string) =>
    assert.throws(
      () => preloadsFromWebpackStats(s, publicPath),
      (e: unknown) => e instanceof BuildManifestError && e.message === message,
      message,
    );

  it('publicPath "auto" or missing needs the argument', () => {
    bad(
      { publicPath: 'auto', entrypoints: {} },
      'stats.json: publicPath is "auto" (worked out in the browser); pass the path the assets are served under',
    );
    bad(
      { entrypoints: {} },
      'stats.json: has no publicPath; pass the path the assets are served under (e.g. "/")',
    );
    assert.deepEqual(preloadsFromWebpackStats({ publicPath: 'auto', entrypoints: {} }, '/'), {});
  });

  it('entry points and their assets of the wrong shape', () => {
    bad({ entrypoints: [] }, 'stats.json: entrypoints must be an object, not an array', '/');
    bad({ entrypoints: { main: null } }, 'stats.json: entrypoints["main"] must be an object, not null', '/');
    bad(
      { entrypoints: { main: {} } },
      'stats.json: entrypoints["main"].assets must be an array, not undefined',
      '/',
    );
    bad(
      { entrypoints: { main: { assets: [{ size: 3 }] } } },
      'stats.json: entrypoints["main"].assets[0] must be a file name or an object with a string name',
      '/',
    );
    bad(
      { assetsByChunkName: { main: 5 } },
      'stats.json: assetsByChunkName["main"] must be an array, not a number',
      '/',
    );
  });

  it('not stats at all, and multi-compiler stats', () => {
    bad('x', "stats.json: must be webpack's stats JSON object, not a string");
    bad({ publicPath: '/' }, 'stats.json: has neither entrypoints nor assetsByChunkName');
    bad(
      { children: [{}, {}] },
      'stats.json: has neither entrypoints nor assetsByChunkName (multi-compiler stats: pass one of its children)',
      '/',
    );
  });
});
