import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { meta, storeConformance } from './conformance.ts';
import { DiskStore } from './disk.ts';
import { cacheKey } from './types.ts';

storeConformance('disk', async (maxBytes) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-disk-'));
  const store = new DiskStore({ dir, maxBytes });
  return {
    store,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('DiskStore', () => {
  it('survives a restart, and removes body files no index row names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-disk-'));
    try {
      const a = new DiskStore({ dir });
      await a.put(meta('https://a.example/kept', { tags: ['t'] }), new TextEncoder().encode('persisted'));
      await a.close();
      writeFileSync(join(dir, 'bodies', 'orphan'), 'left by a crash');
      const b = new DiskStore({ dir });
      const [e] = await b.get(cacheKey('GET', 'https://a.example/kept'));
      assert.equal(new TextDecoder().decode(e.body), 'persisted');
      assert.equal(await b.purgeTag('t'), 1);
      await b.close();
      assert.deepEqual(readdirSync(join(dir, 'bodies')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('an unwritable directory stores nothing and reports the error (no throw)', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions: simulate with a path that is a file instead.
      const dir = mkdtempSync(join(tmpdir(), 'outpost-disk-'));
      const store = new DiskStore({ dir, onError: (e) => errors.push(e) });
      const errors: Error[] = [];
      rmSync(join(dir, 'bodies'), { recursive: true });
      writeFileSync(join(dir, 'bodies'), 'not a folder');
      assert.equal(await store.put(meta('https://a.example/x'), new Uint8Array(3)), false);
      assert.equal(errors.length, 1);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'outpost-disk-'));
    const errors: Error[] = [];
    const store = new DiskStore({ dir, onError: (e) => errors.push(e) });
    chmodSync(join(dir, 'bodies'), 0o500);
    try {
      assert.equal(await store.put(meta('https://a.example/x'), new Uint8Array(3)), false);
      assert.equal(errors.length, 1);
    } finally {
      chmodSync(join(dir, 'bodies'), 0o700);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a bad budget, naming it', () => {
    assert.throws(
      () => new DiskStore({ dir: tmpdir(), maxBytes: -1 }),
      /DiskStore maxBytes must be a positive integer, received -1/,
    );
  });
});
