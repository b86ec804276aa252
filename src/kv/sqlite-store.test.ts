import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { kvStoreConformance } from './conformance.ts';
import { SqliteKvStore } from './sqlite-store.ts';

kvStoreConformance('SqliteKvStore', async () => {
  const store = new SqliteKvStore({ file: ':memory:' });
  return { store, dispose: () => store.close() };
});

const enc = (s: string) => new TextEncoder().encode(s);
const T = Date.parse('2026-01-01T00:00:00Z');

describe('SqliteKvStore propagation', () => {
  it('a write is visible at once where it was made and after the delay (plus seeded jitter) elsewhere', async () => {
    const s = new SqliteKvStore({ file: ':memory:', propagationMs: 10_000, jitterMs: 2_000, seed: 7 });
    try {
      const v = await s.write('ns', 'k', { value: enc('x'), metadata: null, expiration: null }, 'FRA', T);
      assert.ok(await s.read('ns', 'k', 'FRA', T));
      assert.equal(await s.read('ns', 'k', 'SIN', T + 9_999), null);
      assert.ok(await s.read('ns', 'k', 'SIN', T + 12_000));
      const at = s.visibleAt({ version: v, written_at: T, pop: 'FRA' }, 'SIN');
      assert.ok(at >= T + 10_000 && at <= T + 12_000);
      assert.equal(
        at,
        new SqliteKvStore({ file: ':memory:', propagationMs: 10_000, jitterMs: 2_000, seed: 7 }).visibleAt(
          { version: v, written_at: T, pop: 'FRA' },
          'SIN',
        ),
        'same seed, same jitter',
      );
      // Before the overwrite reaches SIN, SIN still sees the old version.
      await s.write('ns', 'k', { value: enc('y'), metadata: null, expiration: null }, 'FRA', T + 20_000);
      assert.equal(new TextDecoder().decode((await s.read('ns', 'k', 'SIN', T + 21_000))!.value), 'x');
      const [state] = await s.inspect('ns', '', ['FRA', 'SIN'], T + 21_000);
      assert.deepEqual(state.seen, { FRA: state.latest.version, SIN: v });
    } finally {
      await s.close();
    }
  });
  it('refuses a negative delay, naming it', () => {
    assert.throws(
      () => new SqliteKvStore({ file: ':memory:', propagationMs: -1 }),
      /propagationMs must be a number ≥ 0, received -1/,
    );
  });
});

describe('SqliteKvStore namespace quota', () => {
  const w = (v: string | null, metadata: string | null = null) => ({
    value: v === null ? null : enc(v),
    metadata,
    expiration: null,
  });
  it('keeps a running total per namespace and refuses a write past the quota, writing nothing', async () => {
    const s = new SqliteKvStore({ file: ':memory:', namespaceQuotaBytes: 100 });
    try {
      await s.write('a', 'k1', w('x'.repeat(40), '{"m":1}'), 'FRA', T); // 2 + 40 + 7
      assert.equal(s.usedBytes('a'), 49);
      await s.write('a', 'k1', w('x'.repeat(30)), 'FRA', T + 1); // overwrite: 32
      assert.equal(s.usedBytes('a'), 32);
      await s.write('a', 'k2', w('y'.repeat(60)), 'FRA', T + 2); // 62: 94 in all
      await assert.rejects(
        s.write('a', 'k3', w('z'.repeat(10)), 'FRA', T + 3),
        (e: Error & { status?: number }) =>
          e.status === 413 &&
          /KV namespace "a" is over its storage quota of 100 bytes: this write adds 12 bytes to the 94 stored; the write was not made/.test(
            e.message,
          ),
      );
      assert.equal(await s.read('a', 'k3', 'FRA', T + 4), null);
      assert.equal(s.usedBytes('a'), 94);
      // Another namespace has its own quota; shrinking and deleting always work.
      await s.write('b', 'k3', w('z'.repeat(90)), 'FRA', T + 4);
      await s.write('a', 'k2', w('y'), 'FRA', T + 5);
      assert.equal(s.usedBytes('a'), 35);
      await s.write('a', 'k1', w(null), 'FRA', T + 6);
      await s.write('a', 'k1', w(null), 'FRA', T + 7);
      assert.equal(s.usedBytes('a'), 3);
    } finally {
      await s.close();
    }
  });
  it('sums a file written before the totals existed once, when it is opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-quota-'));
    try {
      const file = join(dir, 'kv.sqlite');
      const s = new SqliteKvStore({ file });
      await s.write('a', 'k1', w('x'.repeat(10)), 'FRA', T);
      await s.write('a', 'k1', w('x'.repeat(20)), 'FRA', T + 1);
      await s.write('a', 'k2', w('x'), 'FRA', T + 2);
      await s.write('a', 'k2', w(null), 'FRA', T + 3);
      await s.close();
      const db = new Database(file);
      db.exec('DROP TABLE kv_usage; PRAGMA user_version = 0;');
      db.close();
      const again = new SqliteKvStore({ file, namespaceQuotaBytes: 30 });
      assert.equal(again.usedBytes('a'), 22);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
