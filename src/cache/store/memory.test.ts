import assert from 'node:assert/strict';
import { it } from 'node:test';
import { meta, storeConformance } from './conformance.ts';
import { MemoryStore } from './memory.ts';
import { NS } from './types.ts';

storeConformance('memory', async (maxBytes) => ({
  store: new MemoryStore({ maxBytes }),
  dispose: async () => {},
}));

// The same suite with namespace budgets on (its entries have no namespace: maxBytes applies).
storeConformance('memory, per-namespace budgets', async (maxBytes) => ({
  store: new MemoryStore({ maxBytes, namespaceMaxBytes: 4096 }),
  dispose: async () => {},
}));

it('MemoryStore refuses a bad budget, naming it', () => {
  assert.throws(
    () => new MemoryStore({ maxBytes: 0 }),
    /MemoryStore maxBytes must be a positive integer, received 0/,
  );
  assert.throws(
    () => new MemoryStore({ namespaceMaxBytes: 1.5 }),
    /MemoryStore namespaceMaxBytes must be a positive integer, received 1.5/,
  );
});

it("MemoryStore with namespace budgets: a namespace's writes evict only its own entries", async () => {
  const s = new MemoryStore({ maxBytes: 2000, namespaceMaxBytes: 1000 });
  const body = new Uint8Array(300); // ~660 bytes counted per entry with its headers
  const put = (url: string) => s.put(meta(url), body);
  assert.equal(await put(`bank${NS}https://a.example/1`), true);
  assert.equal(await put('https://origin.example/1'), true);
  for (let i = 0; i < 20; i++) await put(`shop${NS}https://a.example/${i}`);
  assert.ok(s.bytesOf('shop') <= 1000);
  assert.equal((await s.get(meta(`bank${NS}https://a.example/1`).key)).length, 1);
  assert.equal((await s.get(meta('https://origin.example/1').key)).length, 1);
  // The newest of shop's survives; its older ones went.
  assert.equal((await s.get(meta(`shop${NS}https://a.example/19`).key)).length, 1);
  assert.equal((await s.get(meta(`shop${NS}https://a.example/0`).key)).length, 0);
  // Un-namespaced entries share maxBytes among themselves.
  for (let i = 2; i < 10; i++) await put(`https://origin.example/${i}`);
  assert.ok(s.bytesOf('') <= 2000);
  assert.equal((await s.get(meta(`bank${NS}https://a.example/1`).key)).length, 1);
  const { bytes } = await s.stats();
  assert.equal(bytes, s.bytesOf('') + s.bytesOf('bank') + s.bytesOf('shop'));
  assert.ok((await s.purgePrefix(`shop${NS}`)) > 0);
  assert.equal(s.bytesOf('shop'), 0);
});
