import assert from 'node:assert/strict';
import { it } from 'node:test';
import { storeConformance } from './conformance.ts';
import { MemoryStore } from './memory.ts';

storeConformance('memory', async (maxBytes) => ({
  store: new MemoryStore({ maxBytes }),
  dispose: async () => {},
}));

it('MemoryStore refuses a bad budget, naming it', () => {
  assert.throws(
    () => new MemoryStore({ maxBytes: 0 }),
    /MemoryStore maxBytes must be a positive integer, received 0/,
  );
});
