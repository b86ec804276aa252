import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
