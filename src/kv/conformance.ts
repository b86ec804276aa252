/**
 * The KvStore conformance suite: every implementation runs it (sqlite-store.test.ts; the NATS
 * store when it lands). It checks what every store must do with no propagation delay in play.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KvStore } from './store.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const T = Date.parse('2026-01-01T00:00:00Z');

export function kvStoreConformance(
  name: string,
  make: () => Promise<{ store: KvStore; dispose(): Promise<void> }>,
) {
  const withStore = (fn: (s: KvStore) => Promise<void>) => async () => {
    const { store, dispose } = await make();
    try {
      await fn(store);
    } finally {
      await dispose();
    }
  };
  const put = (
    s: KvStore,
    ns: string,
    key: string,
    value: string,
    extra: { metadata?: string; expiration?: number } = {},
  ) =>
    s.write(
      ns,
      key,
      { value: enc(value), metadata: extra.metadata ?? null, expiration: extra.expiration ?? null },
      'A',
      T,
    );

  describe(`KvStore conformance: ${name}`, () => {
    it(
      'reads back what was written, with metadata; namespaces are apart; a key’s versions increase',
      withStore(async (s) => {
        const v0 = await put(s, 'ns1', 'k', 'zero');
        const v1 = await put(s, 'ns1', 'k', 'one', { metadata: '{"a":1}' });
        assert.ok(v1 > v0, 'a key’s versions increase');
        await put(s, 'ns2', 'k', 'two');
        const r = await s.read('ns1', 'k', 'A', T);
        assert.deepEqual([r && dec(r.value), r?.metadata, r?.pop], ['one', '{"a":1}', 'A']);
        assert.equal(dec((await s.read('ns2', 'k', 'A', T))!.value), 'two');
        assert.equal(await s.read('ns1', 'missing', 'A', T), null);
      }),
    );
    it(
      'an overwrite replaces the value; a delete removes it',
      withStore(async (s) => {
        await put(s, 'ns', 'k', 'one');
        await put(s, 'ns', 'k', 'two');
        assert.equal(dec((await s.read('ns', 'k', 'A', T))!.value), 'two');
        await s.write('ns', 'k', { value: null, metadata: null, expiration: null }, 'A', T);
        assert.equal(await s.read('ns', 'k', 'A', T), null);
      }),
    );
    it(
      'an expired value is gone from reads and lists',
      withStore(async (s) => {
        await put(s, 'ns', 'short', 'x', { expiration: T / 1000 + 60 });
        await put(s, 'ns', 'long', 'y', { expiration: T / 1000 + 3600 });
        assert.ok(await s.read('ns', 'short', 'A', T + 59_000));
        assert.equal(await s.read('ns', 'short', 'A', T + 60_000), null);
        const l = await s.list('ns', { prefix: '', limit: 1000, cursor: null }, 'A', T + 61_000);
        assert.deepEqual(l.keys, [{ name: 'long', expiration: T / 1000 + 3600 }]);
      }),
    );
    it(
      'lists in UTF-8 byte order, by prefix, with limit, cursor, metadata and expiration',
      withStore(async (s) => {
        for (const k of ['b', 'a/2', 'a/1', 'a/10', 'é', 'z'])
          await put(s, 'ns', k, k, { metadata: `{"k":"${k}"}` });
        await s.write('ns', 'a/3', { value: null, metadata: null, expiration: null }, 'A', T);
        const all = await s.list('ns', { prefix: '', limit: 1000, cursor: null }, 'A', T);
        assert.deepEqual(
          all.keys.map((k) => k.name),
          ['a/1', 'a/10', 'a/2', 'b', 'z', 'é'],
        );
        assert.equal(all.complete, true);
        const page1 = await s.list('ns', { prefix: 'a/', limit: 2, cursor: null }, 'A', T);
        assert.deepEqual([page1.keys.map((k) => k.name), page1.complete], [['a/1', 'a/10'], false]);
        assert.deepEqual(page1.keys[0].metadata, { k: 'a/1' });
        const page2 = await s.list('ns', { prefix: 'a/', limit: 2, cursor: page1.cursor ?? null }, 'A', T);
        assert.deepEqual(
          [page2.keys.map((k) => k.name), page2.complete, page2.cursor],
          [['a/2'], true, undefined],
        );
      }),
    );
    it(
      'reports which version each PoP sees',
      withStore(async (s) => {
        const v = await put(s, 'ns', 'k', 'one');
        const [state] = await s.inspect('ns', '', ['A', 'B'], T);
        assert.equal(state.key, 'k');
        assert.equal(state.latest.version, v);
        assert.equal(state.seen.A, v);
      }),
    );
  });
}
