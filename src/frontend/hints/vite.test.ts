import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BuildManifestError } from './preload.ts';
import { preloadsFromViteManifest } from './vite.ts';

// Written by `vite build` (Vite 6.4) with base "/static/", inputs index.html (→ src/main.tsx),
// src/admin.tsx and src/print.css, and a manualChunks vendor chunk; vite-index.html is the page
// the same build wrote.
const fixtures = join(import.meta.dirname, 'fixtures');
const manifest = JSON.parse(readFileSync(join(fixtures, 'vite-manifest.json'), 'utf8'));
const html = readFileSync(join(fixtures, 'vite-index.html'), 'utf8');

const p = (href: string, as: string) => `<${href}>; rel=preload; as=${as}; crossorigin`;

describe('preloadsFromViteManifest', () => {
  const out = preloadsFromViteManifest(manifest, '/static/');

  it('lists entries and dynamic entries, not shared chunks or assets', () => {
    assert.deepEqual(Object.keys(out).sort(), [
      'index.html',
      'src/admin.tsx',
      'src/pages/About.tsx',
      'src/print.css',
    ]);
  });

  it('an HTML entry: its CSS and its imports’ CSS, then its script and its static imports (post-order)', () => {
    assert.deepEqual(out['index.html'], [
      p('/static/assets/shared-a9zuq20O.css', 'style'),
      p('/static/assets/index-DIRYncXI.css', 'style'),
      p('/static/assets/index-Ddp6DqVz.js', 'script'),
      p('/static/assets/vendor-DkkoZgfW.js', 'script'),
      p('/static/assets/shared-eqqMZb5M.js', 'script'),
    ]);
  });

  it('names the same files, in the same order per kind, as the page Vite built', () => {
    const tags = [...html.matchAll(/<(script|link)\b([^>]*)>/g)].map(([, tag, attrs]) => ({
      kind: tag === 'script' || /rel="modulepreload"/.test(attrs) ? 'script' : 'style',
      href: /(?:src|href)="([^"]+)"/.exec(attrs)?.[1],
    }));
    assert.equal(tags.length, 5);
    const fromHtml = [...tags.filter((t) => t.kind === 'style'), ...tags.filter((t) => t.kind === 'script')];
    assert.deepEqual(
      out['index.html'],
      fromHtml.map((t) => p(t.href as string, t.kind)),
    );
  });

  it('dynamic imports are not followed; assets are not preloaded', () => {
    const all = out['index.html'].join();
    assert.doesNotMatch(all, /About/);
    assert.doesNotMatch(out['src/admin.tsx'].join(), /logo/);
  });

  it('a dynamic entry importing the entry that loads it (a cycle) lists each file once', () => {
    assert.deepEqual(out['src/pages/About.tsx'], [
      p('/static/assets/shared-a9zuq20O.css', 'style'),
      p('/static/assets/index-DIRYncXI.css', 'style'),
      p('/static/assets/About-pk6pU0Cx.css', 'style'),
      p('/static/assets/About-izVWwSRQ.js', 'script'),
      p('/static/assets/vendor-DkkoZgfW.js', 'script'),
      p('/static/assets/shared-eqqMZb5M.js', 'script'),
      p('/static/assets/index-Ddp6DqVz.js', 'script'),
    ]);
  });

  it('a CSS entry is one style preload', () => {
    assert.deepEqual(out['src/print.css'], [p('/static/assets/print-DtpTC159.css', 'style')]);
  });

  it('never rel=modulepreload (Cloudflare drops it from Early Hints)', () => {
    for (const links of Object.values(out)) for (const l of links) assert.match(l, /; rel=preload; /);
  });

  it('base: default "/", a CDN URL, a relative base; crossorigin can be left off', () => {
    const small = { 'src/main.tsx': { file: 'assets/main-1.js', isEntry: true, css: ['assets/main-2.css'] } };
    assert.deepEqual(preloadsFromViteManifest(small)['src/main.tsx'], [
      p('/assets/main-2.css', 'style'),
      p('/assets/main-1.js', 'script'),
    ]);
    assert.equal(
      preloadsFromViteManifest(small, 'https://cdn.example/app')['src/main.tsx'][1],
      p('https://cdn.example/app/assets/main-1.js', 'script'),
    );
    assert.equal(preloadsFromViteManifest(small, './')['src/main.tsx'][1], p('./assets/main-1.js', 'script'));
    const slashed = { 'src/main.tsx': { file: '/assets/main-1.js', isEntry: true } };
    assert.deepEqual(
      preloadsFromViteManifest(slashed)['src/main.tsx'],
      [p('/assets/main-1.js', 'script')],
      'never //assets',
    );
    assert.equal(
      preloadsFromViteManifest(small, '/', { crossorigin: false })['src/main.tsx'][1],
      '</assets/main-1.js>; rel=preload; as=script',
    );
  });
});

describe('preloadsFromViteManifest: bad manifests throw errors naming the place', () => {
  const bad = (m: unknown, message: string, base?: string) =>
    assert.throws(
      () => preloadsFromViteManifest(m, base),
      (e: unknown) => e instanceof BuildManifestError && e.message === message,
      message,
    );

  it('names the entry and the field', () => {
    bad({ 'src/main.tsx': { isEntry: true } }, 'manifest.json: entry "src/main.tsx".file must be a string');
    bad({ 'src/main.tsx': { file: 7 } }, 'manifest.json: entry "src/main.tsx".file must be a string');
    bad({ 'src/main.tsx': { file: '' } }, 'manifest.json: entry "src/main.tsx".file must not be empty');
    bad(
      { 'src/main.tsx': { file: 'a.js', css: 'a.css' } },
      'manifest.json: entry "src/main.tsx".css must be an array of strings',
    );
    bad(
      { 'src/main.tsx': { file: 'a.js', imports: ['_x.js', 3] } },
      'manifest.json: entry "src/main.tsx".imports[1] must be a non-empty string',
    );
    bad(
      { 'src/main.tsx': { file: 'a.js', isEntry: 'yes' } },
      'manifest.json: entry "src/main.tsx".isEntry must be true or false',
    );
    bad({ 'src/main.tsx': 'a.js' }, 'manifest.json: entry "src/main.tsx" must be an object, not a string');
  });

  it('an import that names no chunk of the manifest', () => {
    bad(
      { 'src/main.tsx': { file: 'a.js', isEntry: true, imports: ['_gone.js'] } },
      'manifest.json: entry "src/main.tsx".imports[0] names "_gone.js", which is not in the manifest',
    );
  });

  it('the whole file of the wrong shape, a bad base, and the source name', () => {
    bad([], 'manifest.json: must be a JSON object mapping source paths to chunks, not an array');
    bad(null, 'manifest.json: must be a JSON object mapping source paths to chunks, not null');
    bad('{}', 'manifest.json: must be a JSON object mapping source paths to chunks, not a string');
    bad({}, 'manifest.json: base "/a b/" holds whitespace, a control character, <, > or "', '/a b/');
    assert.throws(
      () => preloadsFromViteManifest({ x: {} }, '/', { source: 'dist/.vite/manifest.json' }),
      /^BuildManifestError: dist\/\.vite\/manifest\.json: entry "x"\.file must be a string$/,
    );
  });
});
