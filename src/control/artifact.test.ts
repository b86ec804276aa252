import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../config/index.ts';
import { bundleWorker } from '../runtime/index.ts';
import { ArtifactError, decodeArtifact, encodeArtifact, makeArtifact, materialize } from './artifact.ts';

describe('deploy artifacts', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-artifact-'));
    mkdirSync(join(dir, 'public', 'img'), { recursive: true });
    writeFileSync(
      join(dir, 'wrangler.toml'),
      'name = "art"\nmain = "index.js"\ncompatibility_date = "2025-01-01"\n[vars]\nPLAIN = "yes"\n[assets]\ndirectory = "public"\n',
    );
    writeFileSync(join(dir, 'index.js'), 'export default { fetch: () => new Response("hi") };\n');
    writeFileSync(join(dir, '.dev.vars'), 'SECRET=hunter2\n');
    writeFileSync(join(dir, 'public', 'a.txt'), 'A');
    writeFileSync(join(dir, 'public', 'img', 'b.bin'), Buffer.from([0, 1, 2, 255]));
    writeFileSync(join(dir, 'public', '_headers'), '/a.txt\n  x-test: 1\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const build = async () => {
    const config = loadConfig(dir, { warn: () => {} });
    return makeArtifact(config, await bundleWorker(config));
  };

  it('leaves out .dev.vars secrets, keeps vars, assets and rule files, relative paths only', async () => {
    const { artifact, leftOut } = await build();
    assert.deepEqual(leftOut, ['SECRET']);
    assert.equal(artifact.config.vars.SECRET, undefined);
    assert.equal(artifact.config.vars.PLAIN, 'yes');
    assert.deepEqual(Object.keys(artifact.assets).sort(), ['_headers', 'a.txt', 'img/b.bin']);
    assert.equal(artifact.config.main, 'index.js');
    assert.equal(artifact.config.assets?.directory, 'public');
    assert.ok(!JSON.stringify(artifact.config).includes(dir), 'no absolute path of the build machine');
  });

  it('is content-addressed: the same build has the same id; a changed byte another', async () => {
    const a = encodeArtifact((await build()).artifact);
    const b = encodeArtifact((await build()).artifact);
    assert.equal(a.id, b.id);
    writeFileSync(join(dir, 'public', 'a.txt'), 'B');
    const c = encodeArtifact((await build()).artifact);
    writeFileSync(join(dir, 'public', 'a.txt'), 'A');
    assert.notEqual(a.id, c.id);
    assert.match(a.id, /^[0-9a-f]{64}$/);
  });

  it('decodes only what matches its id and format', async () => {
    const { artifact } = await build();
    const { id, bytes } = encodeArtifact(artifact);
    assert.deepEqual(decodeArtifact(id, bytes).bundle.hash, artifact.bundle.hash);
    assert.throws(() => decodeArtifact('0'.repeat(64), bytes), /content hash/);
    assert.throws(() => decodeArtifact(id, new Uint8Array([1, 2, 3])), ArtifactError);
    const other = Buffer.from(JSON.stringify({ ...artifact, format: 99 }));
    const { createHash } = await import('node:crypto');
    const otherId = createHash('sha256').update(other).digest('hex');
    assert.throws(() => decodeArtifact(otherId, gzipSync(other)), /format 99, this Outpost reads 1 and 2/);
    // Format 1 (async functions lowered, no __outpostFrames) is still read; this code writes 2.
    assert.equal(artifact.format, 2);
    const old = Buffer.from(JSON.stringify({ ...artifact, format: 1 }));
    const oldId = createHash('sha256').update(old).digest('hex');
    assert.equal(decodeArtifact(oldId, gzipSync(old)).format, 1);
  });

  it('materializes assets as files and points the config at them', async () => {
    const { artifact } = await build();
    const { id } = encodeArtifact(artifact);
    const out = mkdtempSync(join(tmpdir(), 'outpost-versions-'));
    try {
      const { config, bundle } = materialize(id, decodeArtifact(id, encodeArtifact(artifact).bytes), out);
      assert.equal(config.rootDir, join(out, id));
      assert.equal(config.assets?.directory, join(out, id, 'assets'));
      assert.deepEqual([...readFileSync(join(out, id, 'assets', 'img', 'b.bin'))], [0, 1, 2, 255]);
      assert.equal(bundle.code, artifact.bundle.code);
      // A module bundle's count of runtime imports travels (src/runtime/module-script.ts).
      assert.equal(bundle.runtimeImports, 1);
      assert.deepEqual(bundle.inputs, []);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses an asset path that climbs out of its folder', async () => {
    const { artifact } = await build();
    const out = mkdtempSync(join(tmpdir(), 'outpost-versions-'));
    try {
      for (const bad of ['../escape.txt', '/etc/x', 'a//b', 'img/../../x'])
        assert.throws(
          () => materialize('f'.repeat(64), { ...artifact, assets: { [bad]: 'AA==' } }, out),
          /not a plain relative path/,
          bad,
        );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
