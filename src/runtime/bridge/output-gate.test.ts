// What the host counts as held while a Durable Object's calls wait at the output gate
// (output-gate.ts): strings and bytes at any depth, with a bounded walk.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { heldBytes } from './output-gate.ts';

it('counts strings and buffers at any depth, in maps and sets too', () => {
  assert.equal(heldBytes(['abc']), 6);
  assert.equal(heldBytes([new ArrayBuffer(10), new Uint8Array(4)]), 14);
  let deep: unknown = new ArrayBuffer(1024);
  for (let i = 0; i < 50; i++) deep = { next: [deep] };
  assert.equal(heldBytes([deep]), 1024);
  assert.equal(heldBytes([new Map([['k', 'vv']]), new Set(['xyz'])]), 2 + 4 + 6);
  assert.equal(heldBytes([1, true, null, undefined]), 0);
});

it('arguments too large to walk count as too large to hold', () => {
  const wide = Array.from({ length: 1_200_000 }, () => 0);
  assert.equal(heldBytes([wide]), Number.POSITIVE_INFINITY);
});
